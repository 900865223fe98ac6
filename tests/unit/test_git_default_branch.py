"""The default branch a pull request is compared with, found in one git call."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from generator.core import git as lapse_git
from generator.core.git import against_default, default_branch, merge_base_with_default


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "trunk")
    git(tmp_path, "config", "user.email", "a@example.com")
    git(tmp_path, "config", "user.name", "a")
    (tmp_path / "README").write_text("x")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "first")
    return tmp_path


def remote_ref(root: Path, name: str) -> None:
    git(root, "update-ref", f"refs/remotes/origin/{name}", "HEAD")


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        ([], None),
        (["heads/master"], "master"),
        (["heads/master", "heads/main"], "main"),
        (["heads/main", "remotes/origin/master"], "origin/master"),
        (["remotes/origin/master", "remotes/origin/main"], "origin/main"),
    ],
)
def test_the_first_candidate_present_is_the_default(
    repo: Path, refs: list[str], expected: str | None
) -> None:
    for ref in refs:
        git(repo, "update-ref", f"refs/{ref}", "HEAD")
    assert default_branch(repo) == expected


def test_origins_head_names_the_default_over_every_other_candidate(repo: Path) -> None:
    remote_ref(repo, "main")
    remote_ref(repo, "develop")
    git(repo, "update-ref", "refs/heads/main", "HEAD")
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/develop")
    assert default_branch(repo) == "origin/develop"


def test_a_tag_named_like_the_branch_is_not_the_branch(repo: Path) -> None:
    git(repo, "tag", "main")
    assert default_branch(repo) is None
    git(repo, "update-ref", "refs/heads/master", "HEAD")
    assert default_branch(repo) == "master"


def test_a_ref_to_something_other_than_a_commit_is_passed_over(repo: Path) -> None:
    tree = git(repo, "rev-parse", "HEAD^{tree}")
    git(repo, "update-ref", "refs/remotes/origin/main", tree)
    git(repo, "update-ref", "refs/heads/main", "HEAD")
    assert default_branch(repo) == "main"


def test_the_merge_base_comes_with_the_branch_and_git_is_asked_twice(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(repo, "update-ref", "refs/heads/main", "HEAD")
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-qb", "topic")
    (repo / "new").write_text("y")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "second")
    asked: list[tuple[str, ...]] = []
    real = lapse_git.git

    def counted(root: Path, *args: str) -> str:
        asked.append(args)
        return real(root, *args)

    monkeypatch.setattr(lapse_git, "git", counted)
    assert against_default(repo) == ("main", base)
    assert [args[0] for args in asked] == ["for-each-ref", "merge-base"]
    assert merge_base_with_default(repo) == base


def test_outside_git_there_is_no_default(tmp_path: Path) -> None:
    assert default_branch(tmp_path) is None
    assert against_default(tmp_path) is None
