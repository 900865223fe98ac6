"""The LAPSE15x rules applied to git: a pull request's changes, or each commit of main's.

A pull request is judged as its check sees it: what the checkout on disk changes against the
base commit, and, so that a rebase merge cannot put an edit and its undoing on main as two
commits, each of the branch's own commits that touches a record already on the base. A commit
on main is judged against its first parent: what that merge (or direct push) brought.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from generator.checks.rules import checks, load_all
from generator.checks.rules.append_only import FOLDERS, HistoryContext, Reader
from generator.core.errors import ConfigError
from generator.core.model import Problem
from generator.core.tree_changes import (
    FileChange,
    Side,
    commit_changes,
    commits_between,
    git,
    read_side,
    tree_paths,
    worktree_changes,
)

RECORDS = ("archive", "reports")


def judge(context: HistoryContext) -> list[Problem]:
    load_all()
    return [problem for check in checks("history") for problem in check(context)]


def _reader(root: Path) -> Reader:
    def read(change: FileChange, side: Side) -> bytes:
        return read_side(root, change.path, side)

    return read


def pull_request_problems(root: Path, base: str) -> list[Problem]:
    """What the checkout and the branch change under archive/ and reports/ against `base`,
    judged."""
    on_disk = judge(HistoryContext(tuple(worktree_changes(root, base, FOLDERS)), _reader(root)))
    # What the branch commits, which is what merges, even where the checkout shows otherwise.
    committed = tuple(commit_changes(root, "HEAD", FOLDERS, parent=base))
    seen = {p.path for p in on_disk}
    problems = on_disk + [
        p for p in judge(HistoryContext(committed, _reader(root))) if p.path not in seen
    ]
    seen |= {p.path for p in problems}
    on_base = tree_paths(root, base, RECORDS)
    for commit in commits_between(root, base, first_parent=False):
        touched = tuple(
            c
            for c in commit_changes(root, commit, RECORDS)
            if c.before is not None and c.path in on_base and c.path not in seen
        )
        if not touched:
            continue
        found = judge(HistoryContext(touched, _reader(root), f"commit {commit[:12]} "))
        problems += found
        seen |= {p.path for p in found}
    return problems


def commit_problems(root: Path, commit: str) -> list[Problem]:
    """What `commit` changes under archive/ and reports/ against its first parent, judged."""
    changes = tuple(commit_changes(root, commit, FOLDERS))
    return judge(HistoryContext(changes, _reader(root), f"commit {commit[:12]} "))


def merge_problems(root: Path, commit: str) -> list[Problem] | None:
    """`commit_problems`, or None when `root` is no git checkout to read the commit from."""
    try:
        git(root, "rev-parse", "--is-inside-work-tree")
    except ConfigError:
        return None
    return commit_problems(root, commit)


def mainline_problems(root: Path, since: str) -> dict[str, list[Problem]]:
    """Each commit on HEAD's first-parent line after `since` whose record changes are refused."""
    found = {commit: commit_problems(root, commit) for commit in _line(root, since)}
    return {commit: problems for commit, problems in found.items() if problems}


def _line(root: Path, since: str) -> Iterable[str]:
    return commits_between(root, since, first_parent=True)
