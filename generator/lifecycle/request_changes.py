"""What a pull request adds, changes and removes under requests/, against its base commit.

Each file under requests/ that differs from the base is one change: a request added, a request
changed (before and after), or a request removed (withdrawn, expired or moved to archive/). A
file on either side that does not read as a request is named, never passed over.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from generator.checks.validate import read_requests, request_of_bytes
from generator.core.model import Problem, Request
from generator.core.repo import Repo
from generator.core.tree_changes import FileChange, read_side, worktree_changes

REGULAR = ("100644", "100755")


class Change(StrEnum):
    ADDS = "adds"
    CHANGES = "changes"
    REMOVES = "removes"


@dataclass(frozen=True, slots=True)
class RequestChange:
    """One file under requests/: the request on the base (`before`) and now (`after`)."""

    change: Change
    path: str
    before: Request | None
    after: Request | None

    @property
    def same_access(self) -> bool:
        """Same requester, window and grants on both sides: the ticket or reason changed."""
        before, after = self.before, self.after
        return (
            before is not None
            and after is not None
            and (before.requester, before.window, before.grants)
            == (after.requester, after.window, after.grants)
        )


@dataclass(frozen=True, slots=True)
class RequestChanges:
    base: str
    changes: tuple[RequestChange, ...]
    unreadable: tuple[Problem, ...]  # files of either side that are not requests


def request_changes(repo: Repo, base: str) -> RequestChanges:
    """Every file under requests/ that differs between commit `base` and the checkout."""
    folder = repo.relative(repo.requests)
    found: list[RequestChange] = []
    unreadable: list[Problem] = []
    for change in worktree_changes(repo.root, base, [folder]):
        before, before_problems = _before(repo, change)
        after, after_problems = _after(repo, change)
        unreadable += [*before_problems, *after_problems]
        kind = _kind(change)
        found.append(RequestChange(kind, change.path, before, after))
    return RequestChanges(base, tuple(sorted(found, key=_order)), tuple(unreadable))


def _kind(change: FileChange) -> Change:
    if change.before is None:
        return Change.ADDS
    return Change.REMOVES if change.after is None else Change.CHANGES


def _before(repo: Repo, change: FileChange) -> tuple[Request | None, list[Problem]]:
    if change.before is None:
        return None, []
    if change.before.mode not in REGULAR:
        return None, [_on_base(_not_a_file(change.path))]
    request, problems = request_of_bytes(
        repo, change.path, read_side(repo.root, change.path, change.before)
    )
    return request, [_on_base(p) for p in problems]


def _after(repo: Repo, change: FileChange) -> tuple[Request | None, list[Problem]]:
    if change.after is None:
        return None, []
    if change.after.mode not in REGULAR:
        return None, [_not_a_file(change.path)]
    requests, problems = read_requests(repo, [repo.root / change.path])
    return (requests[0] if requests else None), problems


def _not_a_file(path: str) -> Problem:
    return Problem(path, 1, 1, "LAPSE140", "error", f"{path} is a symlink or submodule, not a file")


def _on_base(problem: Problem) -> Problem:
    return dataclasses.replace(problem, message=f"on the base commit: {problem.message}")


def _order(change: RequestChange) -> tuple[int, str]:
    return list(Change).index(change.change), change.path
