"""`lapse expire --mode local` commits only what it shows, only where it belongs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from generator.checks.validate import validate_repo
from generator.core.repo import Repo
from generator.terraform.grants_folder import apply, compare
from generator.terraform.render import render_all
from tests.acceptance.cli import lapse
from tests.support import make_repo, place

AFTER_ALICE = "--at 2026-12-02T00:00:00Z"  # alice's sample request ended 2026-12-01T13:00Z
ALICE = "requests/pci-prod/inc-4512-settlement-batch.yaml"
UNAPPROVED = (
    "requester: bob@example.com\n"
    "reason: Read the settlement export that nobody approved yet\n"
    "ticket: INC-4599\n"
    "starts: 2026-11-30T10:00:00Z\n"
    "expires: 2026-11-30T12:00:00Z\n"
    "grants:\n"
    "  - role: roles/storage.objectViewer\n"
    "    bucket: settlement-exports\n"
)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def checkout(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "access", with_requests=True)
    repo = Repo.at(root)
    apply(repo.grants, compare(repo.grants, render_all(validate_repo(repo, now=None).requests)))
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "lapse")
    git(root, "config", "user.email", "lapse@example.com")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Access requests")
    return root


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def test_an_untracked_request_is_never_archived_even_when_dirt_is_allowed(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    place(root, "requests/pci-prod/inc-4599-unapproved.yaml", UNAPPROVED)
    before = head(root)

    refused = lapse(f"expire {AFTER_ALICE}", cwd=root)
    forced = lapse(f"expire {AFTER_ALICE} --allow-dirty --allow-other-branch", cwd=root)

    for run in (refused, forced):
        assert run.code == 2, run.out + run.err
        assert "uncommitted changes where the archive change is planned from" in run.err
        assert "requests/pci-prod/inc-4599-unapproved.yaml" in run.err
    assert head(root) == before
    assert (root / ALICE).is_file() and not (root / "archive").exists()


def test_an_uncommitted_edit_of_an_approved_request_is_refused(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    path = root / ALICE
    path.write_text(path.read_text().replace("roles/cloudsql.client", "roles/cloudsql.viewer"))

    run = lapse(f"expire {AFTER_ALICE}", cwd=root)

    assert run.code == 2
    assert ALICE in run.err and "Nothing was archived" in run.err
    assert git(root, "rev-list", "--count", "HEAD").strip() == "1"


def test_other_dirt_is_refused_unless_allowed_and_then_stays_out(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    place(root, "notes.txt", "my notes\n")

    refused = lapse(f"expire {AFTER_ALICE}", cwd=root)
    allowed = lapse(f"expire {AFTER_ALICE} --allow-dirty", cwd=root)

    assert refused.code == 2
    assert "uncommitted changes: notes.txt" in refused.err and "--allow-dirty" in refused.err
    assert allowed.code == 0, allowed.err
    assert "committing 3 paths on main, nothing else:" in allowed.out
    assert f"  delete {ALICE}" in allowed.out
    assert "  write  archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml" in allowed.out
    committed = git(root, "show", "--no-renames", "--name-only", "--format=", "HEAD").split()
    assert committed == sorted(
        [
            "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml",
            ALICE,
            "terraform/grants/pci-prod.inc-4512-settlement-batch.tf",
        ]
    )
    assert git(root, "status", "--porcelain").strip() == "?? notes.txt"


def test_a_feature_branch_is_refused_unless_allowed(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    git(root, "switch", "-q", "-c", "my-work")

    refused = lapse(f"expire {AFTER_ALICE}", cwd=root)
    allowed = lapse(f"expire {AFTER_ALICE} --allow-other-branch", cwd=root)

    assert refused.code == 2
    assert "on branch my-work, not the default branch main" in refused.err
    assert "--allow-other-branch" in refused.err
    assert allowed.code == 0, allowed.err
    assert "committing 3 paths on my-work" in allowed.out
    assert git(root, "rev-list", "--count", "main").strip() == "1"


def test_a_dry_run_needs_no_clean_tree(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    place(root, "notes.txt", "my notes\n")

    run = lapse(f"expire {AFTER_ALICE} --dry-run", cwd=root)

    assert run.code == 0
    assert f"move   {ALICE}" in run.out
    assert head(root) == git(root, "rev-parse", "main").strip()


def test_a_request_hidden_by_gitignore_is_refused_too(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    place(root, ".gitignore", "requests/pci-prod/*-draft.yaml\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-q", "-m", "Ignore drafts")
    place(root, "requests/pci-prod/inc-4599-draft.yaml", UNAPPROVED)
    before = head(root)

    run = lapse(f"expire {AFTER_ALICE} --allow-dirty", cwd=root)

    assert run.code == 2, run.out
    assert "requests/pci-prod/inc-4599-draft.yaml" in run.err
    assert head(root) == before
