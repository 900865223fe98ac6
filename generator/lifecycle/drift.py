"""Drift between the grants the repository renders and the IAM policies in force.

`compare` is pure: rendered bindings plus live policy JSON in, findings out. `run_drift`
is the one runner: it reads each policy the repository touches, through any reader with
a `get_policy(kind, resource)` method, and compares.

Whether a condition still grants access is decided by evaluating its CEL expression, never
by reading dates out of the text: the expression in the live policy is what IAM enforces,
whatever shape someone gave it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from generator.core.model import Binding
from generator.gcp.iam_policies import canonical_resource
from generator.terraform.conditions import ConditionError, evaluate, instants

DriftSeverity = Literal["CRITICAL", "HIGH", "MEDIUM"]
PolicyKey = tuple[str, str]  # (kind, canonical resource name)
WindowState = Literal["active", "pending", "expired", "unknown"]

TITLE_PREFIX = "lapse/"
SEVERITY_RANK: dict[str, int] = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2}


@dataclass(frozen=True, slots=True)
class DriftFinding:
    """One difference between the repository and a live policy.

    `kind` and `resource` name the policy (canonical spelling); `role`, `member` and `title`
    name the grant, empty when the finding is about the policy as a whole. `rule` says which
    check found it (`condition-stripped`, `orphan`, ...).
    """

    severity: DriftSeverity
    kind: str
    resource: str
    role: str
    member: str
    title: str
    message: str
    rule: str


@dataclass(frozen=True, slots=True)
class DriftReport:
    findings: tuple[DriftFinding, ...]
    resources_checked: tuple[PolicyKey, ...]


class PolicyReader(Protocol):
    def get_policy(self, kind: str, resource: str) -> Mapping[str, Any]: ...


# ---------------------------------------------------------------------------
# CEL: is a condition active, pending, or done for good?


def window_state(expression: str, now: datetime) -> WindowState:
    """`active` at `now`; `pending` if it will hold later; `expired` if it never will again.

    `unknown` when the condition needs more than `request.time`, or cannot be read at all.
    """
    try:
        if evaluate(expression, now):
            return "active"
        later = [evaluate(expression, at) for at in _probes_after(instants(expression), now)]
    except ConditionError:
        return "unknown"
    return "pending" if any(later) else "expired"


def _probes_after(instants: Sequence[datetime], now: datetime) -> Iterable[datetime]:
    # Each instant itself and just after it: covers `<`, `<=`, `>` and `>=` alike.
    for instant in instants:
        if instant > now:
            yield instant
        if instant + _TICK > now:
            yield instant + _TICK


_TICK = timedelta(microseconds=1)


# ---------------------------------------------------------------------------
# Live policies, flattened to one entry per (role, member, condition).


@dataclass(frozen=True, slots=True)
class _LiveGrant:
    role: str
    member: str
    title: str  # "" when unconditional
    expression: str


@dataclass(frozen=True, slots=True)
class _Live:
    version: int
    grants: tuple[_LiveGrant, ...]
    unconditional: frozenset[tuple[str, str]]  # (role, member) granted with no condition

    def conditional(self, role: str, member: str, title: str) -> _LiveGrant | None:
        for grant in self.grants:
            if (grant.role, grant.member, grant.title) == (role, member, title):
                return grant
        return None


def _parse_policy(policy: Mapping[str, Any]) -> _Live:
    """Read the policy JSON defensively: a missing version means 1, as the APIs define it."""
    version = policy.get("version")
    grants = tuple(_grants_of(policy.get("bindings")))
    unconditional = frozenset((g.role, g.member) for g in grants if not g.title)
    return _Live(version if isinstance(version, int) and version > 0 else 1, grants, unconditional)


def _grants_of(bindings: Any) -> Iterable[_LiveGrant]:
    for binding in bindings if isinstance(bindings, list) else ():
        if not isinstance(binding, dict):
            continue
        role = str(binding.get("role", ""))
        condition = binding.get("condition")
        condition = condition if isinstance(condition, dict) else {}
        title = str(condition.get("title", ""))
        expression = str(condition.get("expression", ""))
        members = binding.get("members")
        for member in members if isinstance(members, list) else ():
            yield _LiveGrant(role, str(member), title, expression)


# ---------------------------------------------------------------------------
# The comparison.


def policy_key(binding: Binding) -> PolicyKey:
    """The live policy a rendered binding lives in."""
    return binding.kind, canonical_resource(binding.kind, binding.resource)


def compare(
    bindings: Sequence[Binding],
    live: Mapping[PolicyKey, Mapping[str, Any]],
    now: datetime,
    *,
    archived: Sequence[Binding] = (),
) -> tuple[DriftFinding, ...]:
    """Every drift finding for the policies in `live`, in a stable order.

    `bindings` are rendered from `requests/`; `archived` are the grants of requests already
    moved to `archive/`. Archived grants should be gone from IAM: passing them lets a grant
    whose condition was stripped be recognised even after its request left `requests/`.
    `live` maps `(kind, canonical resource)` to the policy JSON read as version 3.
    """
    at = _utc(now)
    current, old = _by_key(bindings), _by_key(archived)
    findings: list[DriftFinding] = []
    for key in sorted(live):
        policy = _parse_policy(live[key])
        findings += _compare_policy(key, current.get(key, ()), old.get(key, ()), policy, at)
    # A grant rendered twice (two spellings of one dataset) must not be reported twice.
    return tuple(sorted(set(findings), key=_order))


def _utc(now: datetime) -> datetime:
    # A naive time is taken as UTC, the zone every lapse condition is written in.
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _by_key(bindings: Iterable[Binding]) -> dict[PolicyKey, list[Binding]]:
    grouped: dict[PolicyKey, list[Binding]] = {}
    for binding in bindings:
        grouped.setdefault(policy_key(binding), []).append(binding)
    return grouped


def _compare_policy(
    key: PolicyKey,
    current: Sequence[Binding],
    archived: Sequence[Binding],
    live: _Live,
    now: datetime,
) -> list[DriftFinding]:
    findings = [f for b in current if (f := _check_rendered(key, b, live, now))]
    findings += [f for b in archived if (f := _check_archived(key, b, live, current))]
    findings += _check_lapse_grants(key, live, current, archived, now)
    version_finding = _check_version(key, live, current, findings)
    return findings + ([version_finding] if version_finding else [])


def _finding(
    severity: DriftSeverity, rule: str, key: PolicyKey, grant: _LiveGrant | Binding, message: str
) -> DriftFinding:
    return DriftFinding(
        severity, key[0], key[1], grant.role, grant.member, grant.title, message, rule
    )


def _check_rendered(
    key: PolicyKey, binding: Binding, live: _Live, now: datetime
) -> DriftFinding | None:
    """A grant in `requests/`: present with its condition, and nothing stronger beside it."""
    present = live.conditional(binding.role, binding.member, binding.title)
    if (binding.role, binding.member) in live.unconditional:
        return _unconditional(key, binding, live, present is not None)
    if present is not None:
        return _changed(key, binding, present)
    if window_state(binding.expression, now) == "active":
        return _finding(
            "MEDIUM",
            "missing",
            key,
            binding,
            f"{binding.source} grants this now, but the live policy does not hold it: "
            "the apply may have failed; re-run the apply workflow",
        )
    return None


def _unconditional(
    key: PolicyKey, binding: Binding, live: _Live, conditional_present: bool
) -> DriftFinding:
    version_note = f" (live policy version {live.version})" if live.version < 3 else ""
    if conditional_present:
        return _finding(
            "CRITICAL",
            "overridden-by-unconditional",
            key,
            binding,
            f"an unconditional binding of the same role to the same member sits beside the "
            f"conditional grant from {binding.source}: access no longer ends at expiry",
        )
    return _finding(
        "CRITICAL",
        "condition-stripped",
        key,
        binding,
        f"the grant from {binding.source} is live without its condition{version_note}: "
        "the temporary grant has become permanent, as a version-1 policy write does",
    )


def _changed(key: PolicyKey, binding: Binding, present: _LiveGrant) -> DriftFinding | None:
    if present.expression == binding.expression:
        return None
    return _finding(
        "HIGH",
        "condition-changed",
        key,
        binding,
        f"the live condition differs from the one rendered from {binding.source} "
        f"(live: {present.expression!r}): the approved window is not the one enforced",
    )


def _check_archived(
    key: PolicyKey, binding: Binding, live: _Live, current: Sequence[Binding]
) -> DriftFinding | None:
    """A grant whose request is archived must not survive as a permanent binding."""
    pair = (binding.role, binding.member)
    if pair not in live.unconditional or any((b.role, b.member) == pair for b in current):
        return None  # a current request's check already covers this pair
    present = live.conditional(binding.role, binding.member, binding.title) is not None
    return _unconditional(key, binding, live, present)


def _check_lapse_grants(
    key: PolicyKey,
    live: _Live,
    current: Sequence[Binding],
    archived: Sequence[Binding],
    now: datetime,
) -> list[DriftFinding]:
    """Live grants titled `lapse/...`: expired leftovers and ones the repository never made."""
    rendered = {(b.role, b.member, b.title) for b in current}
    was_archived = {(b.role, b.member, b.title) for b in archived}
    findings: list[DriftFinding] = []
    for grant in live.grants:
        if not grant.title.startswith(TITLE_PREFIX):
            continue
        triple = (grant.role, grant.member, grant.title)
        finding = _check_lapse_grant(key, grant, triple in rendered, triple in was_archived, now)
        findings += [finding] if finding else []
    return findings


def _check_lapse_grant(
    key: PolicyKey, grant: _LiveGrant, rendered: bool, archived: bool, now: datetime
) -> DriftFinding | None:
    if window_state(grant.expression, now) == "expired":
        why = (
            "its request is still in requests/: run `lapse expire`"
            if rendered
            else "its request is no longer rendered, yet Terraform did not remove it: re-apply"
        )
        return _finding(
            "HIGH",
            "expired-still-present",
            key,
            grant,
            f"the condition has expired but the binding is still in the policy, counting "
            f"against its limits; {why}",
        )
    if rendered:
        return None
    origin = (
        "its request was archived but the binding was not removed"
        if archived
        else "no rendered grant in the repository has this title, role and member here"
    )
    return _finding(
        "HIGH",
        "orphan",
        key,
        grant,
        f"a lapse-titled binding the repository does not account for: {origin}",
    )


def _check_version(
    key: PolicyKey, live: _Live, current: Sequence[Binding], found: Sequence[DriftFinding]
) -> DriftFinding | None:
    """A version-1 policy where the repository expects conditions: they were dropped."""
    if live.version >= 3 or not current or any(f.severity == "CRITICAL" for f in found):
        return None
    expected = len({(b.role, b.member, b.title) for b in current})
    return DriftFinding(
        "CRITICAL",
        key[0],
        key[1],
        "",
        "",
        "",
        f"the live policy is version {live.version}, holding no conditions, while "
        f"{expected} conditional grant(s) are rendered for it: a version-1 write may "
        "have dropped them",
        "condition-stripped",
    )


def _order(finding: DriftFinding) -> tuple[int, str, str, str, str, str, str]:
    return (
        SEVERITY_RANK[finding.severity],
        finding.kind,
        finding.resource,
        finding.role,
        finding.member,
        finding.title,
        finding.rule,
    )


# ---------------------------------------------------------------------------
# The runner and the report.


def run_drift(
    bindings: Sequence[Binding],
    reader: PolicyReader,
    now: datetime,
    *,
    archived: Sequence[Binding] = (),
    also_check: Iterable[tuple[str, str]] = (),
) -> DriftReport:
    """Read every policy the grants touch (plus `also_check`, as (kind, resource)), compare.

    `also_check` lets the caller sweep resources no current grant names, where orphans and
    leftovers would otherwise go unseen. A reader failure propagates (ServiceError).
    """
    keys = {policy_key(b) for b in (*bindings, *archived)}
    keys |= {(kind, canonical_resource(kind, name)) for kind, name in also_check}
    ordered = tuple(sorted(keys))
    live = {key: reader.get_policy(*key) for key in ordered}
    return DriftReport(compare(bindings, live, now, archived=archived), ordered)
