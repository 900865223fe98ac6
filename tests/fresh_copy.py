"""A fresh copy of this repository, as a newcomer gets it: its files, one commit, on `main`.

The copy holds what git would hand out (tracked files and new ones not ignored, as they are on
disk now), so a test sees the working tree under test, not the last commit. One template per
session; each test clones it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Admin",
    "GIT_AUTHOR_EMAIL": "admin@example.com",
    "GIT_COMMITTER_NAME": "Admin",
    "GIT_COMMITTER_EMAIL": "admin@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=root,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def template(dest: Path) -> Path:
    """The repository's files as a one-commit repository at `dest`."""
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in sorted({n for n in listed.split("\0") if n}):
        source = REPO / name
        if not source.is_file():  # deleted in the working tree
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / name, follow_symlinks=False)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "copy of lapse")
    return dest


def clone(source: Path, dest: Path) -> Path:
    git(source.parent, "clone", "-q", str(source), str(dest))
    return dest


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture(scope="session")
def fresh_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Import into a test module; `clone(fresh_template, tmp_path / "copy")` in each test."""
    return template(tmp_path_factory.mktemp("fresh") / "lapse")
