"""`lapse expire --mode local` in a real git repository: one commit, bytes unchanged, idempotent."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from generator.checks.validate import validate_repo
from generator.core.errors import ConfigError
from generator.core.repo import Repo
from generator.github import request_pulls
from generator.github.records import PullInfo
from generator.lifecycle import expire, expiry_text
from generator.terraform.grants_folder import apply, compare
from generator.terraform.render import render_all
from tests.support import archive_of, make_repo, place

NOW = datetime(2026, 12, 3, tzinfo=UTC)
ALICE = "requests/pci-prod/inc-4512-settlement-batch.yaml"
BOB = "requests/pci-prod/inc-4530-secret-metadata.yaml"
EXPIRED = (ALICE, BOB)
ACTIVE = (
    "requests/pci-prod/inc-4533-chargeback-query.yaml",
    "requests/staging/chg-1207-folder-review.yaml",
    "requests/staging/chg-1210-batch-runner.yaml",
)
# Windows line endings, a comment after the last key, no final newline: any re-serialisation
# would change at least one of these.
CRLF_PATH = "requests/pci-prod/inc-4540-export-checksum.yaml"
CRLF_REQUEST = (
    b"# yaml-language-server: $schema=../../schemas/access-request.schema.json\r\n"
    b"requester: frank@example.com\r\n"
    b"reason:   Read the settlement export that failed checksum verification\r\n"
    b"ticket: INC-4540\r\n"
    b"starts: 2026-12-01T10:00:00Z\r\n"
    b"expires: 2026-12-01T12:00:00Z\r\n"
    b"grants:\r\n"
    b"  - role: roles/storage.objectViewer\r\n"
    b"    bucket: settlement-exports   # the export bucket only\r\n"
    b"# closed after the INC-4540 review"
)


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, check=True)
    return done.stdout.decode()


def git_bytes(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, check=True).stdout


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def render(repo: Repo) -> None:
    requests = validate_repo(repo, now=None).requests
    apply(repo.grants, compare(repo.grants, render_all(requests)))


def checkout(tmp_path: Path, extra: dict[str, bytes] | None = None) -> Repo:
    """The sample repository, rendered and committed, as `main` would hold it."""
    root = make_repo(tmp_path / "access", with_requests=True)
    for path, content in (extra or {}).items():
        place(root, path, content)
    repo = Repo.at(root)
    render(repo)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "lapse")
    git(root, "config", "user.email", "lapse@example.com")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Access requests")
    return repo


def expire_now(repo: Repo, now: datetime = NOW) -> str | None:
    plan = expire.plan_expiry(repo, now, timedelta(0))
    return expire.apply_local(repo, plan, expiry_text.commit_message(plan))


def grants_file(path: str) -> str:
    return f"terraform/grants/{Path(path).parent.name}.{Path(path).stem}.tf"


def test_expire_archives_byte_for_byte_in_one_commit(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    root = repo.root
    before = commits(root)
    untouched = {p: (root / grants_file(p)).read_bytes() for p in ACTIVE}

    sha = expire_now(repo)

    assert sha == git(root, "rev-parse", "HEAD").strip()
    assert commits(root) == before + 1
    for path in EXPIRED:
        archived = archive_of(path, "2026-12")
        assert git_bytes(root, "show", f"HEAD:{archived}") == git_bytes(
            root, "show", f"HEAD~1:{path}"
        )
        assert not (root / path).exists()
        assert not (root / grants_file(path)).exists()
    assert {p: (root / grants_file(p)).read_bytes() for p in ACTIVE} == untouched
    assert all((root / p).is_file() for p in ACTIVE)
    changed = git(root, "show", "--no-renames", "--name-status", "--format=", "HEAD").splitlines()
    assert sorted(changed) == sorted(
        [
            "A\tarchive/pci-prod/2026-12/inc-4512-settlement-batch.yaml",
            "A\tarchive/pci-prod/2026-12/inc-4530-secret-metadata.yaml",
            f"D\t{ALICE}",
            f"D\t{BOB}",
            "D\tterraform/grants/pci-prod.inc-4512-settlement-batch.tf",
            "D\tterraform/grants/pci-prod.inc-4530-secret-metadata.tf",
        ]
    )
    assert git(root, "log", "-1", "--format=%s", "HEAD").strip() == (
        "Archive 2 expired access requests"
    )
    assert git(root, "status", "--porcelain") == ""


def test_a_second_run_makes_no_commit(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    expire_now(repo)
    after_first = commits(repo.root)

    assert expire_now(repo) is None
    assert expire_now(repo, NOW + timedelta(hours=1)) is None
    assert commits(repo.root) == after_first


def test_the_repository_still_renders_the_same_after_expiry(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    expire_now(repo)

    remaining = validate_repo(repo, now=None)
    assert remaining.errors == ()
    assert compare(repo.grants, render_all(remaining.requests)).clean


def test_crlf_and_a_trailing_comment_survive_unchanged(tmp_path: Path) -> None:
    repo = checkout(tmp_path, {CRLF_PATH: CRLF_REQUEST})

    expire_now(repo)

    archived = archive_of(CRLF_PATH, "2026-12")
    assert (repo.root / archived).read_bytes() == CRLF_REQUEST
    assert git_bytes(repo.root, "show", f"HEAD:{archived}") == CRLF_REQUEST
    assert not (repo.root / grants_file(CRLF_PATH)).exists()


def test_a_failed_commit_keeps_the_request_and_a_rerun_finishes(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    root = repo.root
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    before = commits(root)

    with pytest.raises(ConfigError, match="git commit"):
        expire_now(repo)

    assert commits(root) == before
    assert all((root / path).is_file() for path in EXPIRED), "no request left requests/"
    hook.unlink()

    expire_now(repo)

    assert commits(root) == before + 1
    assert git_bytes(
        root, "show", "HEAD:archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml"
    ) == (git_bytes(root, "show", f"HEAD~1:{ALICE}"))
    assert not (root / ALICE).exists()
    assert git(root, "status", "--porcelain") == ""


def test_other_staged_changes_are_never_swept_into_the_archive_commit(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    place(repo.root, "notes.txt", "unrelated\n")
    git(repo.root, "add", "notes.txt")

    with pytest.raises(ConfigError, match="other changes staged"):
        expire_now(repo)

    assert all((repo.root / path).is_file() for path in EXPIRED)
    assert not (repo.root / "archive").exists()


class Pulls:
    """GitHub's commit -> pull requests index, for the commits of this test repository."""

    def __init__(self, by_commit: dict[str, list[int]]) -> None:
        self.by_commit = by_commit
        self.asked: list[str] = []

    def pulls_for_commit(self, sha: str) -> list[PullInfo]:
        self.asked.append(sha)
        return [
            PullInfo(n, "alice-ng", True, sha, sha, "main", f"https://x/pull/{n}", NOW)
            for n in self.by_commit.get(sha, [])
        ]


def test_the_source_pull_is_found_from_the_commit_that_added_the_request(
    tmp_path: Path,
) -> None:
    repo = checkout(tmp_path)
    first = git(repo.root, "rev-parse", "HEAD").strip()
    github = Pulls({first: [41]})
    lookup = request_pulls.source_pr_from_history(repo.root, github)

    plan = expire.plan_expiry(repo, NOW, timedelta(0), lookup)

    assert [item.source_pr for item in plan.items] == [41, 41]
    assert lookup("requests/pci-prod/never-there.yaml") is None
    assert github.asked == [first], "one GitHub call per commit"


def test_a_shallow_checkout_cannot_name_source_pulls(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    place(repo.root, "README.md", "two commits, so a depth-1 clone is shallow\n")
    git(repo.root, "add", "README.md")
    git(repo.root, "commit", "-q", "-m", "Readme")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.root}", str(shallow))

    with pytest.raises(ConfigError, match="fetch-depth: 0"):
        request_pulls.source_pr_from_history(shallow, Pulls({}))


def test_a_request_edited_after_planning_is_not_archived(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    plan = expire.plan_expiry(repo, NOW, timedelta(0))
    (repo.root / ALICE).write_bytes((repo.root / ALICE).read_bytes() + b"# edited\n")

    with pytest.raises(ConfigError, match="changed since planning"):
        expire.apply_local(repo, plan, expiry_text.commit_message(plan))

    assert not (repo.root / "archive").exists()
