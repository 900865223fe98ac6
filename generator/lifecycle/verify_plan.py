"""Every change of a Terraform plan traced to an approval, or refused, before it is applied.

In: the plan's changes, the validated requests and policy of the checkout the plan was made
from, its git history, and GitHub (asked only when nothing is refused without it). Out: one
verdict per change and the evidence for each.

- Removing a binding lapse rendered only takes access away: allowed.
- Creating, updating or replacing one is allowed when it is exactly what `lapse render` makes
  from a request on main whose current bytes an approver of its target approved.
- Anything else is configuration: allowed when every commit since the last applied one that
  changed terraform/ (outside the rendered grants) came through a pull request the security
  owners approved. Inside the grants module, nothing but rendered bindings is allowed.

A change no request explains is refused before GitHub is asked, so a plan holding one fails
even without a token. Because every change of the plan is judged, whatever merge brought it, a
merge whose own apply failed or was cancelled cannot slip through the next apply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from generator.core.errors import ConfigError
from generator.core.git import (
    first_commit,
    first_parent_changes,
    head_commit,
    last_change,
    on_first_parent_line,
    require_full_history,
)
from generator.core.model import Policy, Request
from generator.core.repo import Repo
from generator.github.approvals import ReviewSource
from generator.github.last_apply import FIX, JsonReader, last_applied
from generator.github.plan_approvals import PullApproval, request_approval, security_approval
from generator.terraform.plan import Change, differences, intended
from generator.terraform.render import Block

Outcome = Literal["verified", "refused", "unchecked"]
CONFIGURATION = "terraform/"
GRANT_CHANGES = ("create", "update", "replace")
NOT_ASKED = "not checked: GitHub is not asked while the plan holds a change no request explains"


@dataclass(frozen=True, slots=True)
class Verdict:
    change: Change
    outcome: Outcome
    reason: str
    request: Request | None = None
    request_sha256: str | None = None
    approvals: tuple[PullApproval, ...] = ()

    def line(self) -> str:
        return f"{self.outcome}: {self.change.address} ({self.change.action}): {self.reason}"

    @property
    def evidence(self) -> dict[str, Any]:
        request = None
        if self.request is not None:
            request = {"path": self.request.path, "sha256": self.request_sha256}
        return {
            "address": self.change.address,
            "action": self.change.action,
            "verdict": self.outcome,
            "reason": self.reason,
            "request": request,
            "approvals": [approval.evidence for approval in self.approvals],
        }


@dataclass(frozen=True, slots=True)
class PlanVerification:
    commit: str
    since_commit: str | None
    verdicts: tuple[Verdict, ...]

    @property
    def ok(self) -> bool:
        return all(v.outcome == "verified" for v in self.verdicts)

    @property
    def evidence(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "since_commit": self.since_commit,
            "ok": self.ok,
            "changes": [v.evidence for v in self.verdicts],
        }


@dataclass(frozen=True, slots=True)
class _Pending:
    """A change that is allowed if GitHub shows the approval it needs."""

    change: Change
    request: Request | None = None
    commits: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the local judgement needs: the rendered bindings and the configuration's history."""

    rendered: dict[str, tuple[Request, Block]]
    since: str | None
    configuration_commits: tuple[str, ...]


def verify_plan(
    repo: Repo,
    policy: Policy,
    requests: Iterable[Request],
    changes: Iterable[Change],
    *,
    since: str | None,
    github: Callable[[], ReviewSource],
    repeat_emergencies: Mapping[str, str] | None = None,
) -> PlanVerification:
    """Judge every change; `github` builds the client only when it is needed.

    `repeat_emergencies`: emergency request path -> the same person's previous emergency, when
    the target's own approvers must approve it (`checks.emergency_history.repeat_emergencies`).
    """
    require_full_history(repo.root, "the commit that brought each request cannot be found")
    changes = list(changes)
    facts = _Facts(intended(requests), since, _configuration_commits(repo, since, changes))
    local = [_judge_locally(change, facts) for change in changes]
    pending = [item for item in local if isinstance(item, _Pending)]
    refused_here = any(isinstance(i, Verdict) and i.outcome == "refused" for i in local)
    if pending and refused_here:
        local = [
            Verdict(i.change, "unchecked", NOT_ASKED) if isinstance(i, _Pending) else i
            for i in local
        ]
    elif pending:
        asker = _Asker(repo, policy, github(), repeat_emergencies or {})
        local = [asker.judge(i) if isinstance(i, _Pending) else i for i in local]
    verdicts = tuple(v for v in local if isinstance(v, Verdict))
    return PlanVerification(head_commit(repo.root), since, verdicts)


def applied_baseline(repo: Repo, reader: JsonReader, repository: str) -> str:
    """The commit the last successful apply applied (`github.last_apply`), on main's
    first-parent line; that line's first commit while no apply has recorded one."""
    require_full_history(repo.root, "main's first-parent history cannot be followed")
    record = last_applied(reader, repository)
    if record is None:
        return first_commit(repo.root)
    if not on_first_parent_line(repo.root, record.sha):
        raise ConfigError(
            f"deployment {record.deployment} records {record.sha[:12]} as applied, but that "
            "commit is not on main's first-parent history (main was rewritten, or the record "
            "was not written by an apply of main): "
            + FIX.format(repository=repository, id=record.deployment)
        )
    return record.sha


def _configuration_commits(repo: Repo, since: str | None, changes: list[Change]) -> tuple[str, ...]:
    if since is None or all(c.is_rendered_binding for c in changes):
        return ()
    return tuple(
        sha
        for sha, files in first_parent_changes(repo.root, since, CONFIGURATION)
        if any(is_configuration(path) for path in files)
    )


def is_configuration(path: str) -> bool:
    """Whether `path` is hand-written Terraform rather than a file `lapse render` writes.

    Rendered grant files hold only bindings, and each binding in a plan is judged against its
    request; everything else under terraform/ is the security owners'.
    """
    if not path.startswith(CONFIGURATION):
        return False
    folder, _, name = path.removeprefix("terraform/").rpartition("/")
    return not (folder == "grants" and name.endswith(".tf") and name != "_module.tf")


def _judge_locally(change: Change, facts: _Facts) -> Verdict | _Pending:
    if change.is_rendered_binding:
        return _judge_binding(change, facts)
    if change.in_grants_module:
        return Verdict(
            change,
            "refused",
            "terraform/grants/ may hold only the bindings `lapse render` makes from requests",
        )
    if facts.since is None:
        return Verdict(
            change,
            "refused",
            "not a binding lapse renders, and no --since-commit names the last applied commit, "
            "so the security owners' approval of the configuration cannot be checked",
        )
    if not facts.configuration_commits:
        return Verdict(
            change,
            "verified",
            f"no commit since {facts.since[:12]} changed the configuration: the plan restores "
            "what was applied",
        )
    return _Pending(change, commits=facts.configuration_commits)


def _judge_binding(change: Change, facts: _Facts) -> Verdict | _Pending:
    if change.action == "delete":
        return Verdict(
            change, "verified", "removes a binding lapse rendered: it only takes access away"
        )
    if change.action not in GRANT_CHANGES:
        return Verdict(change, "refused", f"lapse never plans to {change.action} a binding")
    found = facts.rendered.get(change.address)
    if found is None:
        return Verdict(change, "refused", "no request on main renders this binding")
    request, block = found
    wrong = differences(change.after, block)
    if wrong:
        return Verdict(
            change, "refused", f"not what {request.path} renders: {'; '.join(wrong)}", request
        )
    return _Pending(change, request=request)


class _Asker:
    """Asks GitHub once per request and once per commit, however many changes share them."""

    def __init__(
        self, repo: Repo, policy: Policy, client: ReviewSource, repeats: Mapping[str, str]
    ) -> None:
        self.repo = repo
        self.repeats = repeats
        self.policy = policy
        self.client = client
        self.by_request: dict[str, tuple[str, PullApproval | None]] = {}
        self.by_commit: dict[str, PullApproval] = {}

    def judge(self, pending: _Pending) -> Verdict:
        if pending.request is not None:
            return self.judge_request(pending.change, pending.request)
        approvals = tuple(self.security(sha) for sha in pending.commits)
        refused = [reason for approval in approvals for reason in approval.reasons]
        if refused:
            return Verdict(pending.change, "refused", "; ".join(refused), approvals=approvals)
        pulls = sorted({f"#{a.pull.number}" for a in approvals if a.pull is not None})
        return Verdict(
            pending.change,
            "verified",
            f"every commit since the last apply that changed the configuration was approved by "
            f"the security owners ({', '.join(pulls)})",
            approvals=approvals,
        )

    def security(self, sha: str) -> PullApproval:
        if sha not in self.by_commit:
            self.by_commit[sha] = security_approval(self.client, self.policy, sha)
        return self.by_commit[sha]

    def judge_request(self, change: Change, request: Request) -> Verdict:
        if request.path not in self.by_request:
            self.by_request[request.path] = self.request_approval(request)
        digest, approval = self.by_request[request.path]
        if approval is None:
            return Verdict(change, "refused", f"{request.path} is not committed", request, digest)
        if not approval.ok:
            reason = f"{request.path}: {'; '.join(approval.reasons)}"
            return Verdict(change, "refused", reason, request, digest, (approval,))
        pull = f"#{approval.pull.number}" if approval.pull else "its pull request"
        reason = f"{request.path} as approved in {pull} by {', '.join(approval.approvers)}"
        return Verdict(change, "verified", reason, request, digest, (approval,))

    def request_approval(self, request: Request) -> tuple[str, PullApproval | None]:
        raw = (self.repo.root / request.path).read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        commit = last_change(self.repo.root, request.path)
        if commit is None:
            return digest, None
        approval = request_approval(
            self.client,
            self.policy,
            path=request.path,
            target=request.target,
            text=raw.decode("utf-8"),
            commit_sha=commit,
            repeat_emergencies=self.repeats,
        )
        return digest, approval
