"""Which pull request brought a request file to the repository: git history, then GitHub.

In: the checkout's history and GitHub's commit-to-pull-request index. Out: a lookup from a
request's path to its pull request number, for archive PR bodies, reminders and review evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from generator.core.errors import ConfigError
from generator.core.git import git
from generator.github.records import PullInfo

SourcePR = Callable[[str], int | None]


class CommitPulls(Protocol):
    """What `source_pr_from_history` needs from GitHub."""

    def pulls_for_commit(self, sha: str) -> list[PullInfo]: ...


def source_pr_from_history(root: Path, github: CommitPulls) -> SourcePR:
    """Find a request's pull request from the commit that added it, then GitHub's commit index.

    Needs the full history: in a shallow clone the oldest commit seems to add every file, which
    would name the wrong pull request, so a shallow checkout is refused (ConfigError).
    """
    if git(root, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise ConfigError(
            "the checkout is shallow, so the pull request that added each request cannot be "
            "found: check out the full history (actions/checkout with fetch-depth: 0)"
        )
    by_commit: dict[str, int | None] = {}  # one GitHub call per commit, however many files

    def lookup(path: str) -> int | None:
        added = git(root, "log", "--diff-filter=A", "--format=%H", "--", path).split()
        if not added:
            return None
        sha = added[0]  # the newest addition: ids are never reused
        if sha not in by_commit:
            by_commit[sha] = _pull_of(github.pulls_for_commit(sha))
        return by_commit[sha]

    return lookup


def _pull_of(pulls: Sequence[PullInfo]) -> int | None:
    # A commit can sit in several pull requests (a branch reused, a revert); the merged one
    # brought the request in. An open or closed-unmerged one did not: naming it would send
    # reminders and evidence to a pull request nobody approved the request in.
    merged = [pull.number for pull in pulls if pull.merged]
    return min(merged) if merged else None


def change_prs_from_history(root: Path, github: CommitPulls) -> Callable[[str], list[int]]:
    """A request's pull requests after the one that added it, oldest first: each changed the
    file on main's first-parent line (an extension), so each needed its own approval."""
    by_commit: dict[str, int | None] = {}

    def lookup(path: str) -> list[int]:
        listed = git(
            root,
            "log",
            "--first-parent",
            "--diff-merges=first-parent",
            "--diff-filter=M",
            "--name-only",
            "--format=%x00%H",
            "--",
            path,
        )
        changed = [block.split("\n", 1)[0].strip() for block in listed.split("\x00")[1:]]
        numbers: list[int] = []
        for sha in reversed(changed):
            if sha not in by_commit:
                by_commit[sha] = _pull_of(github.pulls_for_commit(sha))
            number = by_commit[sha]
            if number is not None and number not in numbers:
                numbers.append(number)
        return numbers

    return lookup
