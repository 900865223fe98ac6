"""`lapse doctor` for the cloud administrator: the Google Cloud half without a GitHub token, and
the repository read from the git remote `origin` when GITHUB_REPOSITORY is not set."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import responses

from generator.commands import adapters
from tests import setup_world as w
from tests.acceptance.test_doctor import REAL_GITHUB, doctor, line_of, root, world  # noqa: F401

GITHUB_API = "https://api.github.com"


@pytest.fixture
def google_only(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setattr(adapters, "github", REAL_GITHUB)
    for name, value in w.VARIABLES.items():
        monkeypatch.setenv(name, value)
    return root


def test_without_a_github_token_the_google_half_is_checked(
    world: w.World,  # noqa: F811
    google_only: Path,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    http.assert_all_requests_are_fired = False  # the GitHub half of the world is not asked
    code, out, err = doctor(google_only, capsys)
    assert code == 1, out + err  # not all green: GitHub was not checked
    github = line_of(out, "GitHub: repository settings")
    assert "cannot tell" in github and "GITHUB_TOKEN is not set" in github
    assert "Google Cloud (names from the environment: WIF_PROVIDER" in out
    for checked in (
        f"Workload Identity provider: {w.PROVIDER}",
        "lapse-review has roles/logging.privateLogViewer on project pci-prod-payments",
        "cloudsql.googleapis.com on project pci-prod-payments: ADMIN_READ, DATA_READ, DATA_WRITE",
    ):
        assert " ok " in line_of(out, checked)
    assert any("googleapis.com" in where for _, where in world.calls)
    assert not any(where.startswith(GITHUB_API) for _, where in world.calls)
    assert "all green" not in out


def test_without_a_github_token_unset_names_are_missing_not_guessed(
    world: w.World,  # noqa: F811
    google_only: Path,
    http: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    http.assert_all_requests_are_fired = False
    monkeypatch.delenv("WIF_PROVIDER")
    code, out, _ = doctor(google_only, capsys)
    assert code == 1
    assert "variable WIF_PROVIDER is not set" in line_of(out, "Workload Identity provider")


def _clone_with_origin(clone: Path, url: str) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=clone, check=True)
    subprocess.run(["git", "remote", "add", "origin", url], cwd=clone, check=True)


@pytest.mark.parametrize(
    "url",
    [
        f"https://github.com/{w.OWNER}/{w.NAME}.git",
        f"https://github.com/{w.OWNER}/{w.NAME}",
        f"git@github.com:{w.OWNER}/{w.NAME}.git",
        f"ssh://git@github.com/{w.OWNER}/{w.NAME}.git",
    ],
)
def test_the_repository_comes_from_origin_when_github_repository_is_unset(
    world: w.World,  # noqa: F811
    root: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
) -> None:
    monkeypatch.delenv("GITHUB_REPOSITORY")
    monkeypatch.setattr(adapters, "github", REAL_GITHUB)
    _clone_with_origin(root, url)
    code, out, err = doctor(root, capsys)
    assert code == 0, out + err
    assert f"GitHub: {w.OWNER}/{w.NAME} (from git remote origin)" in out
    assert "all green" in out


def test_github_repository_wins_over_origin(
    world: w.World,  # noqa: F811
    root: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(adapters, "github", REAL_GITHUB)
    _clone_with_origin(root, "git@github.com:someone-else/their-fork.git")
    code, out, err = doctor(root, capsys)
    assert code == 0, out + err
    assert f"GitHub: {w.OWNER}/{w.NAME}\n" in out


@pytest.mark.parametrize("url", [None, "/var/git/access.git", "https://github.com/a/b/c.git"])
def test_a_token_without_a_repository_to_read_says_what_to_set(
    root: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str | None,
) -> None:
    monkeypatch.delenv("GITHUB_REPOSITORY")
    monkeypatch.setattr(adapters, "github", REAL_GITHUB)
    if url is None:
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    else:
        _clone_with_origin(root, url)
    code, out, err = doctor(root, capsys)
    assert code == 2
    assert "GITHUB_REPOSITORY" in err and "origin" in err
    assert out == ""
