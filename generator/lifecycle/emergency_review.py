"""After an emergency: one issue per emergency grant for the target's normal approvers, and
the sign-off they owe once it has expired.

`notify` runs after apply and opens one issue per emergency request the merge brought in,
assigned to the target's approvers who are people (teams are mentioned, since GitHub assigns
issues to people only): who, what, until when, which incident, and when the sign-off is due.
A normal approver of the target signs it off by commenting a line `/lapse sign-off` on that
issue; the requester's own comment never counts. `check` reports every emergency whose
sign-off is due (`review_within` after it expired) and missing, and says so once on its issue.
The issue is found by a hidden marker, so re-runs reuse it instead of opening another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from generator.checks.validate import validate_repo
from generator.core.findings import FindingKind
from generator.core.git import git
from generator.core.model import Finding, Policy, Request, Target
from generator.core.repo import Repo
from generator.core.request_paths import parse_request_path
from generator.core.times import format_duration, format_utc
from generator.lifecycle.emergency import emergency_requests

SIGN_OFF = "/lapse sign-off"
LABELS = ("lapse-emergency",)  # created by the apply workflow; `lapse doctor` checks it


class Tracker(Protocol):
    """What the emergency follow-up needs of GitHub; `GitHubClient` is the real one."""

    def ensure_issue(
        self,
        key: str,
        title: str,
        body: str,
        labels: Sequence[str],
        assignees: Sequence[str] = (),
    ) -> int: ...
    def issue_comments(self, number: int) -> list[tuple[str, str]]: ...
    def comment_once(self, number: int, marker: str, body: str) -> bool: ...
    def team_members(self, org: str, team_slug: str) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class Notice:
    request: Request
    issue: int


@dataclass(frozen=True, slots=True)
class SignOff:
    """Where one emergency grant's sign-off stands at `now`."""

    request: Request
    issue: int
    due: datetime
    signed_by: str | None
    overdue: bool


def brought_in(repo: Repo, commit: str, since: str | None = None) -> list[Request]:
    """The emergency requests added or changed after `since` up to `commit` (by default, by
    `commit` against its first parent), as the checkout holds them."""
    base = since or f"{commit}^1"
    listed = git(
        repo.root,
        "diff",
        "--name-only",
        "--no-renames",
        "--diff-filter=AM",
        base,
        commit,
        "--",
        "requests/",
    )
    paths = {line for line in listed.splitlines() if _is_emergency(line)}
    return [r for r in emergency_requests(repo) if r.path in paths]


def notify(tracker: Tracker, policy: Policy, requests: Iterable[Request]) -> list[Notice]:
    """The one issue of each emergency request, opened unless it exists."""
    notices = []
    for request in requests:
        target = policy.targets.get(request.target)
        if target is None or target.emergency is None:
            continue
        notices.append(Notice(request, _issue(tracker, policy, target, request)))
    return notices


def sign_offs(
    tracker: Tracker, policy: Policy, requests: Iterable[Request], now: datetime
) -> list[SignOff]:
    """Every emergency grant that has expired, with its sign-off, or why it is overdue."""
    found = []
    for request in sorted(requests, key=lambda r: (r.window.expires, r.path)):
        target = policy.targets.get(request.target)
        if target is None or target.emergency is None or request.window.expires > now:
            continue
        number = _issue(tracker, policy, target, request)
        signer = _signer(tracker, policy, target, request, tracker.issue_comments(number))
        due = request.window.expires + target.emergency.review_within
        overdue = signer is None and now >= due
        if overdue:
            tracker.comment_once(
                number,
                f"emergency-overdue/{request.target}/{request.id}",
                f"The sign-off of this emergency grant was due at {format_utc(due)} and is "
                f"missing: an approver of {request.target} ({', '.join(target.approvers)}) "
                f"reviews what was done and comments `{SIGN_OFF}`.",
            )
        found.append(SignOff(request, number, due, signer, overdue))
    return found


def findings(states: Iterable[SignOff]) -> list[Finding]:
    return [
        FindingKind.EMERGENCY_NOT_SIGNED_OFF.finding(
            f"{state.request.path}: emergency access of {state.request.requester} for "
            f"{state.request.ticket} was not signed off by an approver of "
            f"{state.request.target} by {format_utc(state.due)} (issue #{state.issue})",
            (state.request.path,),
        )
        for state in states
        if state.overdue
    ]


def counts_text(policy: Policy, requests: list[Request], now: datetime) -> list[str]:
    """Per target and person, the emergencies in the rolling window ending `now`, against the
    limits validation enforces (LAPSE296, LAPSE297)."""
    lines = []
    for name, target in sorted(policy.targets.items()):
        if target.emergency is None:
            continue
        start = now - target.emergency.window
        recent = [r for r in requests if r.target == name and r.window.expires > start]
        people = sorted({r.requester for r in recent})
        lines.append(
            f"{name}: {len(recent)} of {target.emergency.max_per_target} emergencies in the last "
            f"{format_duration(target.emergency.window)}"
        )
        lines += [
            f"  {person}: {sum(r.requester == person for r in recent)} of "
            f"{target.emergency.max_per_person}"
            for person in people
        ]
    return lines


def standing_counts(repo: Repo, now: datetime) -> list[str]:
    """`counts_text` for a repository that holds emergencies; nothing (and no policy read)
    for one that does not."""
    requests = emergency_requests(repo)
    if not requests:
        return []
    policy = validate_repo(repo, now=None, only=()).policy
    return [] if policy is None else counts_text(policy, requests, now)


def _issue(tracker: Tracker, policy: Policy, target: Target, request: Request) -> int:
    assert target.emergency is not None
    people = [h.removeprefix("@") for h in target.approvers if "/" not in h]
    return tracker.ensure_issue(
        f"emergency/{request.target}/{request.id}",
        f"Emergency access to {request.target}: {request.requester} for {request.ticket}",
        notice_body(policy, target, request),
        list(LABELS),
        people,
    )


def notice_body(policy: Policy, target: Target, request: Request) -> str:
    assert target.emergency is not None
    login = policy.login_of(request.requester)
    who = f"{request.requester} (@{login})" if login else request.requester
    grants = "\n".join(f"- `{g.role}` on {g.kind} `{g.resource}`" for g in request.grants)
    due = request.window.expires + target.emergency.review_within
    starts = format_utc(request.window.starts) if request.window.starts else "the merge"
    return "\n".join(
        [
            f"{' '.join(target.approvers)}: emergency access was granted on {request.target} "
            "without your approval. Please review it.",
            "",
            f"- **Who:** {who}",
            f"- **Incident:** {request.ticket}",
            f"- **Why:** {request.reason}",
            f"- **From:** {starts}",
            f"- **Until:** {format_utc(request.window.expires)}",
            f"- **Request:** `{request.path}`",
            "",
            "**What:**",
            grants,
            "",
            f"**Sign-off due by {format_utc(due)}.** Read the post-access review of this grant "
            f"(every action it allowed), then one of {', '.join(target.approvers)} comments a "
            f"line `{SIGN_OFF}` here. The requester cannot sign off their own access; until "
            "then `lapse emergency check` reports it as a finding.",
        ]
    )


def _signer(
    tracker: Tracker,
    policy: Policy,
    target: Target,
    request: Request,
    comments: list[tuple[str, str]],
) -> str | None:
    """The first approver of the target, other than the requester, who commented the sign-off."""
    requester = (policy.login_of(request.requester) or "").lower()
    for login, body in comments:
        if not login or login.lower() == requester:
            continue
        if not any(line.strip() == SIGN_OFF for line in body.splitlines()):
            continue
        if _is_approver(tracker, login, target.approvers):
            return login
    return None


def _is_approver(tracker: Tracker, login: str, handles: tuple[str, ...]) -> bool:
    wanted = login.lower()
    if wanted in {h.removeprefix("@").lower() for h in handles if "/" not in h}:
        return True
    teams = [h.removeprefix("@").partition("/") for h in handles if "/" in h]
    return any(
        wanted in {m.lower() for m in tracker.team_members(org, slug)} for org, _, slug in teams
    )


def _is_emergency(path: str) -> bool:
    where = parse_request_path(path)
    return where is not None and where.emergency and where.folder == "requests"
