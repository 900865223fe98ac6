"""Proving that every request a merge brings in was approved by someone allowed to approve it.

CODEOWNERS and branch protection are the first line; this is the second, run before apply,
because both can be misconfigured or bypassed by an administrator merge. An approval counts
only when it is the reviewer's latest word, was given on the pull request's final head commit,
and comes from an approver of the request's target who is neither its author nor its requester.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import yaml

from generator.core.model import Policy
from generator.github.emergency_approvers import approver_handles, repeat_reason
from generator.github.records import ChangedFile, FileUnreadable, PullInfo, ReviewInfo

NO_PULL = "no pull request merged this commit"
REQUEST_PATH = re.compile(r"^requests/(?P<target>[^/]+)/(?:emergency/)?[^/]+\.yaml$")
# Files whose change alters who may approve what.
RULE_PATHS = ("policy/", "schemas/", ".github/CODEOWNERS")
# Review states that replace a reviewer's earlier verdict; COMMENTED and PENDING do not.
DECIDING_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})
EARLIEST = datetime.min.replace(tzinfo=UTC)


class ReviewSource(Protocol):
    """What approval checking reads from GitHub; `GitHubClient` is the real one."""

    def pulls_for_commit(self, sha: str) -> list[PullInfo]: ...
    def pull_files(self, number: int) -> list[ChangedFile]: ...
    def reviews(self, number: int) -> list[ReviewInfo]: ...
    def team_members(self, org: str, team_slug: str) -> frozenset[str]: ...
    def file_text(self, path: str, ref: str) -> str:
        """The file's text at `ref`; raises FileUnreadable when there is no such text file."""
        ...


@dataclass(frozen=True, slots=True)
class RequestApproval:
    """The verdict on one request file of the merge."""

    path: str
    requester: str | None
    author: str
    ok: bool
    approvers: tuple[str, ...]
    review_ids: tuple[int, ...]
    reasons: tuple[str, ...]
    submitted_at: tuple[str | None, ...] = ()  # per review in review_ids, RFC 3339 UTC


@dataclass(frozen=True, slots=True)
class ApprovalResult:
    """Every request of one merge, judged; `problems` are failures not tied to one request."""

    commit_sha: str
    pull: PullInfo | None
    requests: tuple[RequestApproval, ...]
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and all(request.ok for request in self.requests)

    @property
    def failures(self) -> tuple[str, ...]:
        """One line per failure, naming the request and why it lacks a valid approval."""
        per_request = tuple(
            f"{request.path}: {'; '.join(request.reasons)}"
            for request in self.requests
            if not request.ok
        )
        return self.problems + per_request

    @property
    def evidence(self) -> dict[str, Any]:
        return {
            "commit": self.commit_sha,
            "ok": self.ok,
            "problems": list(self.problems),
            "pull_request": None if self.pull is None else pull_evidence(self.pull),
            "requests": [_request_evidence(request) for request in self.requests],
        }

    def to_json(self) -> str:
        return json.dumps(self.evidence, indent=2, sort_keys=True, ensure_ascii=False)


def request_target(path: str) -> str | None:
    """The target a request path belongs to, or None when the path is not a request."""
    match = REQUEST_PATH.match(path)
    return match["target"] if match else None


def verify_approvals(
    client: ReviewSource,
    policy: Policy,
    commit_sha: str,
    request_paths_for_target: Callable[[str], str | None] | None = None,
    *,
    repeat_emergencies: Mapping[str, str] | None = None,
) -> ApprovalResult:
    """Judge every request file added or changed by the pull request that merged `commit_sha`.

    `request_paths_for_target` maps a path to its target (None: not a request); it defaults to
    `requests/<target>/[emergency/]<id>.yaml`. `repeat_emergencies` maps an emergency request's
    path to the same person's previous emergency, when that ended too recently for the
    emergency approvers alone.
    """
    target_of = request_paths_for_target or request_target
    pull = merged_pull(client.pulls_for_commit(commit_sha), commit_sha)
    if pull is None:
        return ApprovalResult(commit_sha, None, (), (NO_PULL,))
    files = client.pull_files(pull.number)
    changed = needing_approval(files, target_of)
    reviews = client.reviews(pull.number) if changed else []
    checker = ApprovalChecker(client, policy, pull, commit_sha, reviews, repeat_emergencies)
    verdicts = tuple(checker.judge(path, target) for path, target in changed)
    return ApprovalResult(commit_sha, pull, verdicts, rules_changed_alongside(files, changed))


def rules_changed_alongside(
    files: Iterable[ChangedFile], changed: list[tuple[str, str]]
) -> tuple[str, ...]:
    """Approvals are judged with the merged policy, so it may not change in the same merge:
    otherwise one pull request could name a new approver and have them approve it."""
    if not changed:
        return ()
    rules = sorted(f.filename for f in files if is_rule_path(f.filename))
    if not rules:
        return ()
    return (
        f"the pull request changes {', '.join(rules)} together with requests; the rules "
        "that judge approvals must be merged on their own first",
    )


def is_rule_path(path: str) -> bool:
    """A file of the rules, or a folder above one (a symlink that replaces `policy/`)."""
    return path.startswith(RULE_PATHS) or any(rule.startswith(f"{path}/") for rule in RULE_PATHS)


def merged_pull(pulls: Iterable[PullInfo], commit_sha: str) -> PullInfo | None:
    """The pull request whose merge produced `commit_sha`.

    A commit is also associated with pull requests that merely contain it; only the one whose
    merge commit it is speaks for what was merged.
    """
    wanted = commit_sha.lower()
    return next(
        (p for p in pulls if p.merged and (p.merge_commit_sha or "").lower() == wanted), None
    )


def needing_approval(
    files: Iterable[ChangedFile], target_of: Callable[[str], str | None]
) -> list[tuple[str, str]]:
    """(path, target) of each request the pull request adds, changes or moves into requests/.

    Removals and moves out (into archive/) take access away, so they need no approval.
    """
    found = []
    for item in files:
        target = target_of(item.filename)
        if target is not None and item.status not in ("removed", "unchanged"):
            found.append((item.filename, target))
    return sorted(found)


def deciding_reviews(reviews: Iterable[ReviewInfo]) -> dict[str, ReviewInfo]:
    """Each reviewer's latest approval, change request or dismissal, by lowercased login."""
    deciding = [r for r in reviews if r.state in DECIDING_STATES and r.user_login]
    deciding.sort(key=lambda r: (r.submitted_at or EARLIEST, r.id))
    return {(r.user_login or "").lower(): r for r in deciding}


def read_requester(client: ReviewSource, path: str, ref: str) -> tuple[str | None, str | None]:
    """(requester, None) from the request file at `ref`, or (None, why it could not be read)."""
    try:
        data = yaml.safe_load(client.file_text(path, ref))
    except FileUnreadable as error:
        return None, f"could not read the request at {ref}: {error}"
    except yaml.YAMLError as error:
        return None, f"the request at {ref} is not valid YAML: {_first_line(error)}"
    requester = data.get("requester") if isinstance(data, dict) else None
    if not isinstance(requester, str) or not requester.strip():
        return None, f"the request at {ref} names no requester"
    return requester.strip(), None


class ApprovalChecker:
    """The facts shared by every request of one pull request, and the rules applied to each.

    `stale` says which approvals are too old to count: here, any not given on the final head.
    """

    def __init__(
        self,
        client: ReviewSource,
        policy: Policy,
        pull: PullInfo,
        commit_sha: str,
        reviews: list[ReviewInfo],
        repeat_emergencies: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.policy = policy
        self.repeats = dict(repeat_emergencies or {})
        self.pull = pull
        self.commit_sha = commit_sha
        self.deciding = deciding_reviews(reviews)
        # GitHub logins are case-insensitive; the policy may spell them either way.
        self.emails = {login.lower(): email for login, email in policy.people.items()}

    def judge(self, path: str, target: str) -> RequestApproval:
        requester, unreadable = read_requester(self.client, path, self.commit_sha)
        reasons = [unreadable] if unreadable else []
        reasons += self.author_problems(requester)
        found = self.policy.targets.get(target)
        if found is None:
            reasons.append(f"target {target} is not in the policy, so no one may approve it")
        handles = approver_handles(found, path, self.repeats.get(path))
        accepted, rejected = self.split_reviews(handles, requester)
        if not accepted:
            reasons.append(self.missing_approval(target, handles, rejected))
            reasons += filter(None, [repeat_reason(path, self.repeats.get(path))])
        return RequestApproval(
            path=path,
            requester=requester,
            author=self.pull.author,
            ok=not reasons,
            approvers=tuple(r.user_login or "" for r in accepted),
            review_ids=tuple(r.id for r in accepted),
            reasons=tuple(reasons),
            submitted_at=tuple(rfc3339(r.submitted_at) for r in accepted),
        )

    def author_problems(self, requester: str | None) -> list[str]:
        # People open their own requests: whoever opened the pull request gets the access.
        author = self.pull.author
        email = self.emails.get(author.lower())
        if email is None:
            return [f"pull request author @{author} is not in policy.people"]
        if requester is not None and email != requester:
            return [
                f"pull request author @{author} is {email} in policy.people, "
                f"not the requester {requester}: requesters open their own requests"
            ]
        return []

    def split_reviews(
        self, handles: tuple[str, ...], requester: str | None
    ) -> tuple[list[ReviewInfo], list[str]]:
        """Reviews that approve this request, and why each other reviewer's does not."""
        accepted: list[ReviewInfo] = []
        rejected: list[str] = []
        for login, review in sorted(self.deciding.items()):
            why_not = self.why_not_counted(login, review, handles, requester)
            if why_not is None:
                accepted.append(review)
            else:
                rejected.append(f"@{review.user_login} {why_not}")
        return accepted, rejected

    def why_not_counted(
        self, login: str, review: ReviewInfo, handles: tuple[str, ...], requester: str | None
    ) -> str | None:
        # Cheap checks first: membership of a team costs an API call.
        if review.state == "DISMISSED":
            return "had their review dismissed"
        if review.state != "APPROVED":
            return f"requested changes (review {review.id})"
        stale = self.stale(review)
        if stale is not None:
            return stale
        if login == self.pull.author.lower():
            return "is the pull request author"
        if requester is not None and self.emails.get(login) == requester:
            return "is the requester"
        if not self.is_approver(login, handles):
            return "is not an approver of this target"
        return None

    def stale(self, review: ReviewInfo) -> str | None:
        head = self.pull.head_sha
        if (review.commit_id or "").lower() != head.lower():
            return f"approved {short_sha(review.commit_id)}, not the final head {short_sha(head)}"
        return None

    def is_approver(self, login: str, handles: tuple[str, ...]) -> bool:
        users = [h.removeprefix("@").lower() for h in handles if "/" not in h]
        if login in users:
            return True
        teams = [h.removeprefix("@").partition("/") for h in handles if "/" in h]
        return any(
            login in {member.lower() for member in self.client.team_members(org, slug)}
            for org, _, slug in teams
        )

    def missing_approval(self, target: str, handles: tuple[str, ...], rejected: list[str]) -> str:
        who = ", ".join(handles) or "no one"
        text = (
            f"no approval of {self.approved_what()} by an approver of "
            f"{target} ({who}) other than the author and the requester"
        )
        return f"{text} ({'; '.join(rejected)})" if rejected else text

    def approved_what(self) -> str:
        return f"the final head {short_sha(self.pull.head_sha)}"


def short_sha(sha: str | None) -> str:
    return sha[:12] if sha else "an unknown commit"


def rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def pull_evidence(pull: PullInfo) -> dict[str, Any]:
    return {
        "number": pull.number,
        "url": pull.html_url,
        "author": pull.author,
        "base": pull.base_ref,
        "head_sha": pull.head_sha,
        "merge_commit_sha": pull.merge_commit_sha,
        "merged_at": rfc3339(pull.merged_at),
    }


def _request_evidence(request: RequestApproval) -> dict[str, Any]:
    approvals = zip(request.approvers, request.review_ids, request.submitted_at, strict=True)
    return {
        "path": request.path,
        "requester": request.requester,
        "ok": request.ok,
        "approvals": [
            {"approver": login, "review_id": review_id, "submitted_at": submitted}
            for login, review_id, submitted in approvals
        ],
        "reasons": list(request.reasons),
    }
