"""Drift between the grants the repository renders and the IAM policies in force.

`compare` is pure: rendered bindings plus live policy JSON in, findings out. `run_drift`
is the one runner: it reads each policy in scope exactly once, through any reader with a
`get_policy(kind, resource)` method, and compares; the report and any incident issues are
both made from that one reading.

On each policy, every binding lapse is answerable for is judged: grants rendered from
`requests/` (present, with their condition, not extended, not overridden), grants of archived
requests (not left behind without a condition), every binding titled `lapse/...` (accounted
for, not expired), and every binding of a person in the policy's `people` (made by lapse, or
else unexpected). Other principals' bindings are not lapse's to judge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from generator.core.findings import FindingKind
from generator.core.model import Binding, Severity
from generator.gcp.iam_policies import canonical_resource
from generator.lifecycle.live_policy import (
    LiveGrant,
    LivePolicy,
    outlasts,
    parse_policy,
    window_state,
)

PolicyKey = tuple[str, str]  # (kind, canonical resource name)

TITLE_PREFIX = "lapse/"
SEVERITY_RANK: dict[str, int] = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "INFO": 3}
# Findings that open one incident issue each.
INCIDENT_SEVERITIES = frozenset({"CRITICAL", "HIGH"})


@dataclass(frozen=True, slots=True)
class DriftFinding:
    """One difference between the repository and a live policy.

    `kind` and `resource` name the policy (canonical spelling); `role`, `member` and `title`
    name the grant, empty when the finding is about the policy as a whole. `rule` says which
    check found it: the `FindingKind` id (`condition-stripped`, `orphan`, ...).
    """

    severity: Severity
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
    people: Iterable[str] = (),
) -> tuple[DriftFinding, ...]:
    """Every drift finding for the policies in `live`, in a stable order.

    `bindings` are rendered from `requests/`; `archived` are the grants of requests already
    moved to `archive/`. Archived grants should be gone from IAM: passing them lets a grant
    whose condition was stripped be recognised even after its request left `requests/`.
    `people` are the members (`user:EMAIL`) of the policy's people, whose every binding is
    judged. `live` maps `(kind, canonical resource)` to the policy JSON read as version 3.
    """
    at = _utc(now)
    current, old = _by_key(bindings), _by_key(archived)
    persons = frozenset(p.lower() for p in people)  # IAM compares emails case-insensitively
    findings: list[DriftFinding] = []
    for key in sorted(live):
        policy = parse_policy(live[key])
        ours = _Ours(current.get(key, ()), old.get(key, ()), persons)
        findings += _compare_policy(key, ours, policy, at)
    return in_order(findings)


def in_order(findings: Iterable[DriftFinding]) -> tuple[DriftFinding, ...]:
    """Most severe first, then by policy and grant; each finding once."""
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


@dataclass(frozen=True, slots=True)
class _Ours:
    """What the repository says about one policy: its grants, old and new, and the people."""

    current: Sequence[Binding]
    archived: Sequence[Binding]
    people: frozenset[str]

    def pairs(self) -> set[tuple[str, str]]:
        return {(b.role, b.member) for b in (*self.current, *self.archived)}


def _compare_policy(
    key: PolicyKey, ours: _Ours, live: LivePolicy, now: datetime
) -> list[DriftFinding]:
    current = ours.current
    findings = [f for b in current if (f := _check_rendered(key, b, live, now))]
    findings += [f for b in ours.archived if (f := _check_archived(key, b, live, current))]
    findings += _check_lapse_grants(key, live, current, ours.archived, now)
    findings += _check_people(key, live, ours, now)
    version_finding = _check_version(key, live, current, findings)
    return findings + ([version_finding] if version_finding else [])


def _finding(
    kind: FindingKind, key: PolicyKey, grant: LiveGrant | Binding, message: str
) -> DriftFinding:
    return DriftFinding(
        kind.severity, key[0], key[1], grant.role, grant.member, grant.title, message, kind.id
    )


def _check_rendered(
    key: PolicyKey, binding: Binding, live: LivePolicy, now: datetime
) -> DriftFinding | None:
    """A grant in `requests/`: present with its condition, and nothing stronger beside it."""
    present = live.conditional(binding.role, binding.member, binding.title)
    if (binding.role, binding.member) in live.unconditional:
        return _unconditional(key, binding, live, present is not None)
    if present is not None:
        return _changed(key, binding, present)
    if window_state(binding.expression, now) == "active":
        return _finding(
            FindingKind.MISSING,
            key,
            binding,
            f"{binding.source} grants this now, but the live policy does not hold it: "
            "the apply may have failed; re-run the apply workflow",
        )
    return None


def _unconditional(
    key: PolicyKey, binding: Binding, live: LivePolicy, conditional_present: bool
) -> DriftFinding:
    version_note = f" (live policy version {live.version})" if live.version < 3 else ""
    if conditional_present:
        return _finding(
            FindingKind.OVERRIDDEN_BY_UNCONDITIONAL,
            key,
            binding,
            f"an unconditional binding of the same role to the same member sits beside the "
            f"conditional grant from {binding.source}: access no longer ends at expiry",
        )
    return _finding(
        FindingKind.CONDITION_STRIPPED,
        key,
        binding,
        f"the grant from {binding.source} is live without its condition{version_note}: "
        "the temporary grant has become permanent, as a version-1 policy write does",
    )


def _changed(key: PolicyKey, binding: Binding, present: LiveGrant) -> DriftFinding | None:
    if present.expression == binding.expression:
        return None
    if outlasts(present.expression, binding.expression):
        return _finding(
            FindingKind.CONDITION_EXTENDED,
            key,
            binding,
            f"the live condition grants access after the window approved in {binding.source} "
            f"ends (live: {present.expression!r}): access outlives its approval",
        )
    return _finding(
        FindingKind.CONDITION_CHANGED,
        key,
        binding,
        f"the live condition differs from the one rendered from {binding.source} "
        f"(live: {present.expression!r}), within the approved window",
    )


def _check_archived(
    key: PolicyKey, binding: Binding, live: LivePolicy, current: Sequence[Binding]
) -> DriftFinding | None:
    """A grant whose request is archived must not survive as a permanent binding."""
    pair = (binding.role, binding.member)
    if pair not in live.unconditional or any((b.role, b.member) == pair for b in current):
        return None  # a current request's check already covers this pair
    present = live.conditional(binding.role, binding.member, binding.title) is not None
    return _unconditional(key, binding, live, present)


def _check_lapse_grants(
    key: PolicyKey,
    live: LivePolicy,
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
    key: PolicyKey, grant: LiveGrant, rendered: bool, archived: bool, now: datetime
) -> DriftFinding | None:
    if window_state(grant.expression, now) == "expired":
        why = (
            "its request is still in requests/: run `lapse expire`"
            if rendered
            else "its request is no longer rendered, yet Terraform did not remove it: re-apply"
        )
        return _finding(
            FindingKind.EXPIRED_STILL_PRESENT,
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
        FindingKind.ORPHAN,
        key,
        grant,
        f"a lapse-titled binding the repository does not account for: {origin}",
    )


def _check_people(
    key: PolicyKey, live: LivePolicy, ours: _Ours, now: datetime
) -> list[DriftFinding]:
    """A person's bindings that lapse did not make: standing or side-channel access."""
    made = ours.pairs()
    findings: list[DriftFinding] = []
    for grant in live.grants:
        if grant.member.lower() not in ours.people or grant.title.startswith(TITLE_PREFIX):
            continue
        if not grant.conditional:
            if (grant.role, grant.member) not in made:  # else: stripped / overridden above
                findings.append(_standing(key, grant))
            continue
        findings.append(_side_channel(key, grant, window_state(grant.expression, now)))
    return findings


def _standing(key: PolicyKey, grant: LiveGrant) -> DriftFinding:
    return _finding(
        FindingKind.UNEXPECTED_STANDING,
        key,
        grant,
        "a person in the policy's people holds this role with no condition: standing access "
        "that no request approved and nothing will end",
    )


def _side_channel(key: PolicyKey, grant: LiveGrant, state: str) -> DriftFinding:
    if state == "expired":
        return _finding(
            FindingKind.UNEXPECTED_EXPIRED,
            key,
            grant,
            "an expired conditional binding for a person, not made by lapse: remove it",
        )
    return _finding(
        FindingKind.UNEXPECTED_ACTIVE,
        key,
        grant,
        f"a conditional binding for a person ({state}) that lapse did not make: access "
        "granted outside the approval flow",
    )


def _check_version(
    key: PolicyKey, live: LivePolicy, current: Sequence[Binding], found: Sequence[DriftFinding]
) -> DriftFinding | None:
    """A version-1 policy where the repository expects conditions: they were dropped."""
    if live.version >= 3 or not current or any(f.severity == "CRITICAL" for f in found):
        return None
    expected = len({(b.role, b.member, b.title) for b in current})
    kind = FindingKind.CONDITION_STRIPPED
    return DriftFinding(
        kind.severity,
        key[0],
        key[1],
        "",
        "",
        "",
        f"the live policy is version {live.version}, holding no conditions, while "
        f"{expected} conditional grant(s) are rendered for it: a version-1 write may "
        "have dropped them",
        kind.id,
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
    people: Iterable[str] = (),
) -> DriftReport:
    """Read every policy the grants touch (plus `also_check`, as (kind, resource)), compare.

    Each policy is read once. `also_check` lets the caller sweep resources no current grant
    names, where orphans and leftovers would otherwise go unseen. A reader failure
    propagates (ServiceError).
    """
    keys = {policy_key(b) for b in (*bindings, *archived)}
    keys |= {(kind, canonical_resource(kind, name)) for kind, name in also_check}
    ordered = tuple(sorted(keys))
    live = {key: reader.get_policy(*key) for key in ordered}
    findings = compare(bindings, live, now, archived=archived, people=people)
    return DriftReport(findings, ordered)
