"""Who approved what a Terraform plan would apply: a request's exact bytes, or a commit.

`verify-approvals` judges one merge. Verifying a plan judges every change in it, whatever merge
brought it: a request counts when the pull request that brought its current bytes to main was
approved, by an approver of its target, on a commit where the file held exactly those bytes
(so "Update branch" after an approval keeps it, and any edit to the request voids it). Every
other change to the configuration counts when the pull request that merged it was approved by
the security owners on its final head.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator.core.model import Policy
from generator.github.approvals import (
    NO_PULL,
    ApprovalChecker,
    ReviewSource,
    merged_pull,
    pull_evidence,
    rules_changed_alongside,
    short_sha,
)
from generator.github.records import FileUnreadable, PullInfo, ReviewInfo


@dataclass(frozen=True, slots=True)
class PullApproval:
    """The verdict on the pull request that merged one commit."""

    commit: str
    pull: PullInfo | None
    approvers: tuple[str, ...]
    review_ids: tuple[int, ...]
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def evidence(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "pull_request": None if self.pull is None else pull_evidence(self.pull),
            "approvers": list(self.approvers),
            "review_ids": list(self.review_ids),
            "reasons": list(self.reasons),
        }


class BytesChecker(ApprovalChecker):
    """Counts an approval given on any commit where the request file held `text` exactly."""

    def __init__(
        self,
        client: ReviewSource,
        policy: Policy,
        pull: PullInfo,
        commit_sha: str,
        reviews: list[ReviewInfo],
        *,
        path: str,
        text: str,
        repeat_emergencies: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(client, policy, pull, commit_sha, reviews, repeat_emergencies)
        self.path = path
        self.text = text
        self.same_bytes: dict[str, bool] = {}  # reviewed commit -> the file was `text` there

    def stale(self, review: ReviewInfo) -> str | None:
        sha = (review.commit_id or "").lower()
        if not sha:
            return "approved no known commit"
        if sha not in self.same_bytes:
            self.same_bytes[sha] = self._holds_text(sha)
        if self.same_bytes[sha]:
            return None
        return f"approved {short_sha(sha)}, where {self.path} held other bytes than it does now"

    def _holds_text(self, sha: str) -> bool:
        try:
            return self.client.file_text(self.path, sha) == self.text
        except FileUnreadable:
            return False

    def approved_what(self) -> str:
        return f"a commit of #{self.pull.number} where {self.path} held its current bytes"


def request_approval(
    client: ReviewSource,
    policy: Policy,
    *,
    path: str,
    target: str,
    text: str,
    commit_sha: str,
    repeat_emergencies: Mapping[str, str] | None = None,
) -> PullApproval:
    """Whether the request at `path`, now `text`, was approved in the merge `commit_sha`.

    `commit_sha` is the commit on main that last changed the file: its pull request brought
    these bytes, so its reviews are the ones that speak for them.
    """
    pull = merged_pull(client.pulls_for_commit(commit_sha), commit_sha)
    if pull is None:
        return PullApproval(commit_sha, None, (), (), (f"{short_sha(commit_sha)}: {NO_PULL}",))
    problems = rules_changed_alongside(client.pull_files(pull.number), [(path, target)])
    checker = BytesChecker(
        client,
        policy,
        pull,
        commit_sha,
        client.reviews(pull.number),
        path=path,
        text=text,
        repeat_emergencies=repeat_emergencies,
    )
    verdict = checker.judge(path, target)
    reasons = (*problems, *verdict.reasons)
    return PullApproval(commit_sha, pull, verdict.approvers, verdict.review_ids, reasons)


def security_approval(client: ReviewSource, policy: Policy, commit_sha: str) -> PullApproval:
    """Whether the pull request that merged `commit_sha` was approved by a security owner."""
    pull = merged_pull(client.pulls_for_commit(commit_sha), commit_sha)
    if pull is None:
        return PullApproval(commit_sha, None, (), (), (f"{short_sha(commit_sha)}: {NO_PULL}",))
    checker = ApprovalChecker(client, policy, pull, commit_sha, client.reviews(pull.number))
    accepted, rejected = checker.split_reviews(policy.security_owners, None)
    if accepted:
        return PullApproval(
            commit_sha,
            pull,
            tuple(r.user_login or "" for r in accepted),
            tuple(r.id for r in accepted),
            (),
        )
    owners = ", ".join(policy.security_owners) or "no one"
    why = f"#{pull.number} has no approval of its final head by a security owner ({owners})"
    return PullApproval(
        commit_sha, pull, (), (), (f"{why} ({'; '.join(rejected)})" if rejected else why,)
    )
