"""The half-yearly access recertification (PCI DSS 7.2.4, 7.2.5.1): one Markdown file per half.

`reports/recertification/<YYYY>-H<1|2>.md` lists, for each target, who approves (teams resolved
to their members), who may request, the roles and resources it allows with their persistence
exceptions, the service accounts any grant reaches, and every grant of the six months before
`at` with its review verdict and sign-off. The security owners merging it is the
recertification. The text is a pure function of the repository, `at` and the team members, so a
second run the same day changes nothing; the half is the one of `at`, or the next one once that
half's file is on the main line (a run after the merge starts the next half-year).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from generator.core import git
from generator.core.errors import ConfigError
from generator.core.model import Policy, Problem, Request, Target
from generator.core.repo import Repo
from generator.core.times import format_utc
from generator.lifecycle.grant_ledger import Entry, ledger
from generator.review.escaping import md

FOLDER = "reports/recertification"
BRANCH_PREFIX = "lapse-recertify/"
LABEL = "lapse-recertification"
NAME = re.compile(r"^(?P<year>[0-9]{4})-H(?P<half>[12])$")
LOOK_BACK = timedelta(days=183)  # six months, at their longest
# Team handle -> its members' logins; None when GitHub was not read.
Members = Callable[[str, str], frozenset[str]]


@dataclass(frozen=True, slots=True)
class Recertification:
    half: str  # 2026-H2
    at: datetime
    text: str
    problems: tuple[Problem, ...]

    @property
    def path(self) -> str:
        return f"{FOLDER}/{self.half}.md"

    @property
    def branch(self) -> str:
        return BRANCH_PREFIX + self.half

    @property
    def title(self) -> str:
        return f"Access recertification {self.half}"


def half_of(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment.year}-H{1 if moment.month <= 6 else 2}"


def next_half(half: str) -> str:
    found = NAME.match(half)
    if found is None:
        raise ValueError(f"{half!r} is not a half-year such as 2026-H2")
    year = int(found["year"])
    return f"{year}-H2" if found["half"] == "1" else f"{year + 1}-H1"


def due_half(repo: Repo, at: datetime) -> str:
    """The half of `at`, or the first after it whose file is not committed yet (outside git:
    not on disk). A file merely written in the checkout does not start the next half."""
    try:
        git.head_commit(repo.root)
    except ConfigError:
        held = {repo.relative(p) for p in (repo.root / FOLDER).glob("*.md") if p.is_file()}
    else:
        held = set(git.committed_files(repo.root, FOLDER))
    half = half_of(at)
    while f"{FOLDER}/{half}.md" in held:
        half = next_half(half)
    return half


def recertify(repo: Repo, policy: Policy, at: datetime, members: Members | None) -> Recertification:
    half = due_half(repo, at)
    since = at - LOOK_BACK
    found = ledger(repo, since, at)
    lines = [
        f"# Access recertification {half}",
        "",
        f"Every target's access as the repository holds it at {format_utc(at)}, and every grant "
        f"of the six months from {format_utc(since)}. Reviewing this list and merging it, by the "
        "security owners, is the review of user and system accounts and their privileges "
        "(PCI DSS v4.0.1 7.2.4, 7.2.5.1). Remove what is no longer needed from "
        "policy/policy.yaml in a pull request of its own.",
        "",
        f"Security owners: {_handles(policy.security_owners, members)}",
    ]
    for name in sorted(policy.targets):
        target = policy.targets[name]
        entries = [e for e in found.entries if e.request.target == name]
        lines += ["", *_target(policy, target, entries, members)]
    if found.problems:
        lines += ["", "## Files that could not be read", ""]
        lines += [
            f"- {md(p.path)}:{p.line}:{p.col} {p.rule} {md(p.message)}" for p in found.problems
        ]
    return Recertification(half, at, "\n".join(lines) + "\n", found.problems)


def _target(
    policy: Policy, target: Target, entries: list[Entry], members: Members | None
) -> list[str]:
    emergency = target.emergency
    requesters = sorted(
        (login, email)
        for login, email in policy.people.items()
        if email.rpartition("@")[2].lower() in {d.lower() for d in target.domains}
    )
    lines = [
        f"## Target {md(target.name)}",
        "",
        f"- Approvers: {_handles(target.approvers, members)}",
        "- Emergency approvers: "
        + (_handles(emergency.approvers, members) if emergency else "none (no emergency path)"),
        "- May request (people of its domains): "
        + (", ".join(f"{md(login)} ({md(email)})" for login, email in requesters) or "nobody"),
        "",
        "| role | persistence exception |",
        "|---|---|",
        *(f"| {md(role)} | {_exception(target, role)} |" for role in target.roles),
        "",
        "| resource kind | resources |",
        "|---|---|",
        *(
            f"| {md(kind)} | {', '.join(md(n) for n in names)} |"
            for kind, names in sorted(target.resources.items())
            if names
        ),
        "",
        "- Service accounts a grant reaches: " + _service_accounts(target, entries),
        "",
        f"### Grants of the six months ({len(entries)})",
        "",
    ]
    if not entries:
        return [*lines, "None."]
    lines += [
        "| grant | requester | window | roles | review | sign-off |",
        "|---|---|---|---|---|---|",
    ]
    lines += [_row(e) for e in entries]
    return lines


def _exception(target: Target, role: str) -> str:
    why = target.persistence_exceptions.get(role)
    return "-" if why is None else md(why)


def _row(entry: Entry) -> str:
    request = entry.request
    kind = "emergency " if request.emergency else ""
    window = f"{_start(request)} to {format_utc(request.window.expires)}"
    roles = ", ".join(sorted({md(g.role) for g in request.grants}))
    return (
        f"| {kind}{md(request.id)} ({md(request.ticket)}) | {md(request.requester)} | {window} "
        f"| {roles} | {md(entry.verdict)} | {md(entry.sign_off)} |"
    )


def _start(request: Request) -> str:
    return format_utc(request.window.starts) if request.window.starts else "merge"


def _service_accounts(target: Target, entries: list[Entry]) -> str:
    allowed = set(target.resources.get("service_account", ()))
    granted = {g.resource for e in entries for g in e.request.grants if g.kind == "service_account"}
    return ", ".join(md(a) for a in sorted(allowed | granted)) or "none"


def _handles(handles: Sequence[str], members: Members | None) -> str:
    return "; ".join(_handle(h, members) for h in handles) or "none"


def _handle(handle: str, members: Members | None) -> str:
    org, slash, team = handle.lstrip("@").partition("/")
    if not slash:
        return md(handle)
    if members is None:
        return f"{md(handle)} (members not resolved: GitHub was not read)"
    people = sorted(members(org, team), key=str.lower)
    return f"{md(handle)}: " + (", ".join(md(p) for p in people) or "no members")
