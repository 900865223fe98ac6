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
