"""Dating a request from main's history: the first-parent commit that brought it in."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path

from generator.core.git import is_shallow, mainline_additions


def git(root: Path, *args: str, when: str = "2026-11-20T00:00:00Z") -> None:
    env = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


def commit(root: Path, path: str, when: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(path)
    git(root, "add", "-A")
    git(root, "commit", "-qm", path, when=when)


def test_the_merge_commit_dates_the_request_and_an_early_forged_date_is_raised(
    tmp_path: Path,
) -> None:
    root = tmp_path
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "a@example.com")
    git(root, "config", "user.name", "a")
    commit(root, "README", "2026-11-20T00:00:00Z")
    git(root, "checkout", "-qb", "topic")
    commit(root, "requests/t/a.yaml", "2026-01-01T00:00:00Z")  # the branch's claim
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "merge a", "topic", when="2026-11-21T09:00:00Z")
    # A direct push claiming a date long before the commit it follows.
    commit(root, "requests/t/b.yaml", "2025-01-01T00:00:00Z")
    commit(root, "other", "2026-11-23T00:00:00Z")

    found = mainline_additions(root, "requests")

    assert found["requests/t/a.yaml"].at == datetime.fromisoformat("2026-11-21T09:00:00+00:00")
    assert found["requests/t/b.yaml"].at == datetime.fromisoformat("2026-11-21T09:00:00+00:00")
    assert not is_shallow(root)


def test_outside_git_nothing_is_dated(tmp_path: Path) -> None:
    assert mainline_additions(tmp_path, "requests") == {}
