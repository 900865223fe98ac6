"""`lapse expire`: archive expired requests, which removes their dead bindings.

Access already ended at `expires`: the IAM condition stops it whatever happens here. What is
left is a binding that no longer grants anything but still counts against the policy limits, and
a request file that belongs in the record. Expiring moves each request to `archive/` byte for
byte and deletes its rendered grants, in one change that Terraform then applies.

`plan_expiry` only reads. Two executors carry a plan out: `apply_local` as one git commit in the
checkout, `apply_pr` as one commit on a branch and one pull request on GitHub. Both put the
archive copy in the same commit that removes the request, so a request never leaves `requests/`
unless its copy in `archive/` travels with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from generator.checks import values as build
from generator.checks.loading import load
from generator.checks.validate import validate_repo
from generator.core.errors import ConfigError
from generator.core.git import git
from generator.core.model import Problem, Request
from generator.core.repo import Repo
from generator.core.request_paths import archive_path, parse_request_path
from generator.core.wording import count
from generator.core.writing import remove_file, write_file
from generator.github.records import PullInfo
from generator.github.request_pulls import SourcePR
from generator.lifecycle.expiry_plan import ExpiredRequest, ExpiryPlan
from generator.lifecycle.expiry_text import (
    commit_message,
    pr_body,
    pr_title,
    reminder_body,
    reminder_marker,
)
from generator.terraform.grants_folder import compare
from generator.terraform.render import grant_file_name, render_all

BRANCH = "lapse/expire"
LABEL = "lapse-expire"
# The rule that refuses an id present in both requests/ and archive/: what a run that stopped
# between writing the archive copy and removing the request leaves behind.
DUPLICATE_ID_RULE = "LAPSE133"
GRANTS_DIR = "terraform/grants"
# GitHub refuses pull request bodies over 65,536 characters; rows beyond this are summarised.

"""Request path (`requests/<target>/<id>.yaml`) -> the pull request that added it, if known."""


class PullRequests(Protocol):
    """What `apply_pr` needs from GitHub; `GitHubClient` is the real one."""

    def commit_changes(
        self, branch: str, base_branch: str, files: Mapping[str, bytes | None], message: str
    ) -> str: ...

    def ensure_pull_request(
        self, branch: str, base: str, title: str, body: str, labels: Sequence[str]
    ) -> PullInfo: ...


class Commenter(Protocol):
    """What `remind` needs from GitHub."""

    def comment_once(self, number: int, marker: str, body: str) -> bool: ...


# --- planning ------------------------------------------------------------------------------


def plan_expiry(
    repo: Repo,
    now: datetime,
    grace: timedelta = timedelta(0),
    source_pr: SourcePR | None = None,
) -> ExpiryPlan:
    """What archiving the requests that expired at or before `now - grace` changes.

    Refuses (ConfigError) when the repository does not validate, or when archive/ already holds
    a different file under a request's name: archived requests are never overwritten.
    """
    cutoff = _cutoff(now, grace)
    return plan_archive(repo, cutoff, lambda r: r.window.expires <= cutoff, source_pr)


def plan_archive(
    repo: Repo,
    cutoff: datetime,
    chosen: Callable[[Request], bool],
    source_pr: SourcePR | None = None,
) -> ExpiryPlan:
    """Archiving the requests `chosen` picks: expiry picks the expired, withdrawal picks one."""
    twins = _archive_twins(repo)
    validation = validate_repo(repo, now=None)
    leftovers = _expired_leftovers(twins, validation.errors, chosen)
    _refuse_problems(validation.errors, leftovers)
    expired = [r for r in validation.requests if chosen(r)]
    if not expired and not leftovers:
        return ExpiryPlan(cutoff)
    archived = [*expired, *leftovers.values()]
    gone = {r.path for r in archived}
    remaining = [r for r in validation.requests if r.path not in gone]
    grants = _grant_changes(repo, remaining)
    items = tuple(
        _item(repo, request, twins, grants, source_pr)
        for request in sorted(archived, key=lambda r: r.path)
    )
    changes: dict[str, bytes | None] = dict(grants)
    for item in items:
        changes[item.archive_path] = item.content
        changes[item.path] = None
    own = {item.grants_path for item in items}
    rerendered = tuple(sorted(path for path in grants if path not in own))
    return ExpiryPlan(cutoff, items, dict(sorted(changes.items())), rerendered)


def _cutoff(now: datetime, grace: timedelta) -> datetime:
    if now.tzinfo is None:
        raise ConfigError("the time to expire at needs a UTC offset, e.g. 2026-12-03T00:00:00Z")
    if grace < timedelta(0):
        raise ConfigError("the grace period cannot be negative")
    return now.astimezone(UTC) - grace


def archive_path_of(request: Request) -> str | None:
    """`requests/<target>/[emergency/]<id>.yaml` -> its place under archive/ (the month of its
    `expires`); None for a file outside requests/."""
    where = parse_request_path(request.path)
    if where is None or where.folder != "requests":
        return None
    return archive_path(where.target, where.id, request.window.expires, emergency=where.emergency)


def _archive_twins(repo: Repo) -> dict[str, bytes]:
    """Request files already copied to archive/ unchanged: path -> bytes.

    Found by id, in whichever month: a different file under the same id is refused outright,
    since overwriting it would rewrite the record of an earlier grant, and a copy in another
    target's or kind's folder is not this request's.
    """
    archived: dict[str, str] = {}
    for name in repo.archive_names():
        where = parse_request_path(name)
        if where is not None:
            archived.setdefault(where.id, name)
    twins: dict[str, bytes] = {}
    conflicts: list[str] = []
    for file in repo.request_files():
        path = repo.relative(file)
        where = parse_request_path(path)
        copy = archived.get(where.id) if where is not None else None
        if where is None or copy is None:
            continue
        content = file.read_bytes()
        twin = parse_request_path(copy)
        same_place = twin is not None and (twin.target, twin.emergency) == (
            where.target,
            where.emergency,
        )
        if same_place and (repo.root / copy).read_bytes() == content:
            twins[path] = content
        else:
            conflicts.append(f"{path} (archive: {copy})")
    if conflicts:
        raise ConfigError(
            f"{count(len(conflicts), 'request')} {'shares' if len(conflicts) == 1 else 'share'} "
            "a name with a different archived file: "
            f"{', '.join(conflicts)}. An archived request is never overwritten and ids are never "
            "reused: give the request a new id. Nothing was archived."
        )
    return twins


def _expired_leftovers(
    twins: Mapping[str, bytes], errors: Sequence[Problem], chosen: Callable[[Request], bool]
) -> dict[str, Request]:
    """Expired requests whose only error is their identical archive copy: path -> request.

    Validation refuses them for the duplicate id, so they are rebuilt here from their bytes;
    the duplicate being their only error means the schema and every rule passed.
    """
    found: dict[str, Request] = {}
    for path, content in twins.items():
        if any(p.path == path and p.rule != DUPLICATE_ID_RULE for p in errors):
            continue
        document = load(path, content).document
        request = None if document is None else build.request_from(document).value
        if request is not None and chosen(request):
            found[path] = request
    return found


def _refuse_problems(errors: Sequence[Problem], leftovers: Mapping[str, Request]) -> None:
    blocking = [p for p in errors if not (p.rule == DUPLICATE_ID_RULE and p.path in leftovers)]
    if blocking:
        # Each one named where it is: one file that stops the archive is found without a rerun.
        listed = "".join(f"\n  {p.path}:{p.line}:{p.col}: {p.rule} {p.message}" for p in blocking)
        raise ConfigError(
            f"the repository has {count(len(blocking), 'validation error')}:{listed}\nrun "
            "`lapse validate`, fix them, and expire again. Nothing was archived."
        )


def _grant_changes(repo: Repo, remaining: Sequence[Request]) -> dict[str, bytes | None]:
    """Re-render what stays: the grants files to delete (None) or rewrite (bytes)."""
    changes = compare(repo.grants, render_all(remaining))
    found: dict[str, bytes | None] = {f"{GRANTS_DIR}/{name}": None for name in changes.remove}
    for name, text in changes.write.items():
        found[f"{GRANTS_DIR}/{name}"] = text.encode("utf-8")
    return found


def _item(
    repo: Repo,
    request: Request,
    twins: Mapping[str, bytes],
    grants: Mapping[str, bytes | None],
    source_pr: SourcePR | None,
) -> ExpiredRequest:
    archived = archive_path_of(request)
    if archived is None:  # validation refuses files outside requests/<target>/<id>.yaml
        raise ConfigError(f"{request.path} is not at requests/<target>/<id>.yaml")
    grants_path = f"{GRANTS_DIR}/{grant_file_name(request)}"
    content = twins.get(request.path)
    return ExpiredRequest(
        request=request,
        archive_path=archived,
        content=content if content is not None else (repo.root / request.path).read_bytes(),
        grants_path=grants_path if grants_path in grants and grants[grants_path] is None else None,
        already_archived=content is not None,
        source_pr=None if source_pr is None else source_pr(request.path),
    )


# --- executing: locally --------------------------------------------------------------------


def _staged(root: Path) -> list[str]:
    return git(root, "diff", "--cached", "--name-only", "--no-renames").splitlines()


def refuse_to_apply(root: Path, plan: ExpiryPlan) -> None:
    """ConfigError when `apply_local` would refuse `plan` here: a dry run refuses the same way."""
    _refuse_foreign_staged(root, list(plan.changes))
    _refuse_changed_requests(root, plan.items)


def _refuse_foreign_staged(root: Path, paths: Sequence[str]) -> None:
    # The commit takes the whole index: anything else already staged would ride along unseen.
    # Our own paths may be staged already, by a run that failed at the commit.
    foreign = sorted(set(_staged(root)) - set(paths))
    if foreign:
        raise ConfigError(
            f"git has other changes staged ({', '.join(foreign[:5])}): commit or unstage them "
            "before expiring, so the archive commit holds only the archive. Nothing was archived."
        )


def _refuse_changed_requests(root: Path, items: Sequence[ExpiredRequest]) -> None:
    # The working-tree file is deleted after the commit: an edit made since planning would be
    # lost, since the archive holds the bytes read when planning.
    changed = [
        i.path
        for i in items
        if (root / i.path).is_file() and (root / i.path).read_bytes() != i.content
    ]
    if changed:
        raise ConfigError(f"changed since planning: {', '.join(changed)}; nothing was archived")


def _write_archive(root: Path, item: ExpiredRequest) -> None:
    target = root / item.archive_path
    if target.is_file():
        if target.read_bytes() != item.content:  # changed since planning: never overwrite
            raise ConfigError(f"{item.archive_path} exists with other content; nothing archived")
        return
    write_file(target, item.content)


def apply_local(repo: Repo, plan: ExpiryPlan, message: str) -> str | None:
    """Carry out `plan` in the checkout as exactly one git commit; its sha, or None if none.

    The archive copies are written and committed before any request leaves the working tree,
    so a failure at any step leaves every request in requests/ or committed in archive/, and a
    re-run picks up where this one stopped.
    """
    if plan.empty:
        return None
    root = repo.root
    refuse_to_apply(root, plan)
    for item in plan.items:
        _write_archive(root, item)
    written = {path: data for path, data in plan.changes.items() if data is not None}
    for path, data in written.items():
        if not path.startswith("archive/"):
            write_file(root / path, data)
    removed = [path for path, data in plan.changes.items() if data is None]
    git(root, "add", "--", *written)
    git(root, "rm", "-q", "--cached", "--ignore-unmatch", "--", *removed)
    committed = bool(_staged(root))
    if committed:
        git(root, "commit", "-q", "-m", message)
    for path in removed:  # only now: the commit holds the archive copies
        remove_file(root / path)
    return git(root, "rev-parse", "HEAD").strip() if committed else None


# --- executing: on GitHub ------------------------------------------------------------------


def apply_pr(
    client: PullRequests,
    plan: ExpiryPlan,
    base: str = "main",
    branch: str = BRANCH,
    label: str = LABEL,
) -> PullInfo | None:
    """Carry out `plan` as one commit on `branch` and one pull request into `base`.

    Makes no call at all for an empty plan. Re-running after a failure at any step converges
    on the same branch and the same single pull request: `commit_changes` makes no commit when
    the branch already holds this change, and `ensure_pull_request` finds the open one.
    """
    if plan.empty:
        return None
    client.commit_changes(branch, base, plan.changes, commit_message(plan))
    return client.ensure_pull_request(branch, base, pr_title(plan), pr_body(plan), [label])


# --- reminders and source pull requests ----------------------------------------------------


def ending_within(repo: Repo, now: datetime, within: timedelta) -> list[Request]:
    """The readable requests whose window ends in (now, now + within], soonest first."""
    start = _cutoff(now, timedelta(0))
    if within < timedelta(0):
        raise ConfigError("the reminder window cannot be negative")
    horizon = start + within
    ending = [
        r for r in validate_repo(repo, now=None).requests if start < r.window.expires <= horizon
    ]
    return sorted(ending, key=lambda r: (r.window.expires, r.path))


def remind(
    client: Commenter, repo: Repo, now: datetime, within: timedelta, source_pr: SourcePR
) -> list[int]:
    """Comment once on the pull request of each request ending in (now, now + within].

    Returns the numbers of the pull requests commented on by this run.
    """
    start = _cutoff(now, timedelta(0))
    commented: list[int] = []
    for request in ending_within(repo, now, within):
        number = source_pr(request.path)
        body = reminder_body(request, start)
        if number is not None and client.comment_once(number, reminder_marker(request.id), body):
            commented.append(number)
    return commented
