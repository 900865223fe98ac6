"""Whether this checkout is a safe place for lapse to commit an archive change.

A local run commits what it planned from the working tree: an untracked request or an edit
nobody approved would be archived, or rendered into terraform/grants/, as if it had been
merged. So the folders lapse reads must match the last commit, and the commit belongs on the
default branch (where scheduled runs make it) unless the person says otherwise.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from generator.core import git
from generator.core.errors import ConfigError

# What an archive change is planned from: never dirty, whatever the flags say.
PLANNED_FROM = ("requests", "archive", "terraform")
# Read file by file whatever .gitignore says, so an ignored file there counts as dirt too.
READ_WHOLE = ("requests", "archive", "terraform/grants")


def refuse_unsafe(root: Path, *, allow_dirty: bool, allow_other_branch: bool) -> str:
    """The branch to commit on, or ConfigError saying what is unsafe and which flag allows it."""
    dirty = git.dirty_paths(root)
    hidden = [
        p
        for p in git.untracked_even_ignored(root, *READ_WHOLE)
        if not PurePosixPath(p).name.startswith(".")
    ]
    planned = sorted({p for p in dirty if PurePosixPath(p).parts[0] in PLANNED_FROM} | set(hidden))
    if planned:
        raise ConfigError(
            f"uncommitted changes where the archive change is planned from: {_few(planned)}. "
            "Commit, stash or remove them first (git stash -u); lapse archives only what is "
            "committed. Nothing was archived."
        )
    if dirty and not allow_dirty:
        raise ConfigError(
            f"the working tree has uncommitted changes: {_few(dirty)}. Commit or stash them, "
            "or pass --allow-dirty (they stay out of the commit). Nothing was archived."
        )
    branch = git.current_branch(root)
    default = git.default_branch(root)
    on_default = (
        branch is not None and default is not None and default.removeprefix("origin/") == branch
    )
    if not on_default and not allow_other_branch:
        where = f"on branch {branch}" if branch else "on a detached HEAD"
        wanted = (
            f"the default branch {default.removeprefix('origin/')}"
            if default
            else ("the default branch (none found: no origin/HEAD, main or master)")
        )
        raise ConfigError(
            f"this checkout is {where}, not {wanted}; switch to it, or pass "
            "--allow-other-branch to commit here. Nothing was archived."
        )
    return branch or "HEAD"


def _few(paths: list[str]) -> str:
    shown = ", ".join(paths[:5])
    return shown + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
