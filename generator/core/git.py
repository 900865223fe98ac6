"""The few git questions lapse asks of the local checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

from generator.core.errors import ConfigError


def git(root: Path, *args: str) -> str:
    """Run git in `root`; its output, or a ConfigError naming the command and git's words."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ConfigError(f"cannot run git: {exc}") from None
    if done.returncode != 0:
        raise ConfigError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def changed_since(root: Path, ref: str) -> list[str]:
    """Files changed between `ref` and the working tree, plus new untracked files."""
    diff = git(root, "diff", "--name-only", "--no-renames", "--diff-filter=AMR", ref, "--")
    untracked = git(root, "ls-files", "--others", "--exclude-standard")
    return sorted({line for line in (diff + untracked).splitlines() if line})


def user_email(root: Path) -> str | None:
    try:
        return git(root, "config", "user.email").strip() or None
    except ConfigError:
        return None


def require_full_history(root: Path, why: str) -> None:
    """ConfigError unless the checkout has its whole history: a shallow one rewrites the past."""
    if git(root, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise ConfigError(
            f"the checkout is shallow, so {why}: check out the full history "
            "(actions/checkout with fetch-depth: 0)"
        )


def head_commit(root: Path) -> str:
    return git(root, "rev-parse", "--verify", "HEAD^{commit}").strip()


def last_change(root: Path, path: str) -> str | None:
    """The newest commit on HEAD's first-parent line that changed `path`: on main, the merge
    (or squash) that brought its current content."""
    found = git(root, "log", "--first-parent", "-n", "1", "--format=%H", "HEAD", "--", path)
    return found.strip() or None


def first_parent_changes(root: Path, since: str, folder: str) -> list[tuple[str, tuple[str, ...]]]:
    """(commit, files it changed under `folder`) for each first-parent commit in since..HEAD,
    newest first. A merge counts with what it changed against main before it."""
    try:
        git(root, "merge-base", "--is-ancestor", since, "HEAD")
    except ConfigError:
        raise ConfigError(
            f"{since} is not a commit HEAD descends from: give the last commit applied from main"
        ) from None
    text = git(
        root,
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--no-renames",
        "--name-only",
        "--format=%x00%H",
        f"{since}..HEAD",
        "--",
        folder,
    )
    found: list[tuple[str, tuple[str, ...]]] = []
    for chunk in text.split("\x00")[1:]:
        sha, *files = [line for line in chunk.splitlines() if line]
        found.append((sha, tuple(files)))
    return found
