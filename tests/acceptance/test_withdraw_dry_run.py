"""`lapse withdraw --dry-run` shows what the real run does, or refuses as it does."""

from __future__ import annotations

from pathlib import Path

from tests.acceptance.cli import Run, lapse
from tests.acceptance.test_safe_local_runs import UNAPPROVED, checkout, git
from tests.support import place

CAROL_ID = "inc-4533-chargeback-query"
BEFORE_CAROL = "--at 2026-12-03T15:00:00Z"
REASON = "--reason 'Chargeback totals reconciled'"
PENDING = "requests/pci-prod/inc-4599-unapproved.yaml"


def _both(root: Path, request_id: str = CAROL_ID) -> tuple[Run, Run]:
    line = f"withdraw {request_id} {BEFORE_CAROL} {REASON}"
    return lapse(f"{line} --dry-run", cwd=root), lapse(line, cwd=root)


def _planned(run: Run) -> list[str]:
    return [line for line in run.out.splitlines() if line.startswith(("  delete", "  write"))]


def test_an_unapproved_request_is_refused_by_the_dry_run_too(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    pending = UNAPPROVED.replace("2026-11-30T10", "2026-12-03T14").replace(
        "2026-11-30T12", "2026-12-03T16"
    )
    place(root, PENDING, pending)
    head = git(root, "rev-parse", "HEAD")

    dry, real = _both(root, "inc-4599-unapproved")

    assert real.code == 2, real.out
    assert (dry.code, dry.err) == (real.code, real.err)
    assert PENDING in dry.err
    assert "uncommitted changes" in dry.err
    assert git(root, "rev-parse", "HEAD") == head


def test_the_dry_run_refuses_a_checkout_the_real_run_refuses(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    place(root, PENDING, UNAPPROVED)

    dry, real = _both(root)

    assert real.code == 2
    assert (dry.code, dry.err) == (real.code, real.err)


def test_other_requests_grant_files_are_not_swept_in(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    stale = root / "requests/staging/chg-1207-folder-review.yaml"
    stale.write_text(stale.read_text().replace("dave@example.com", "erin@example.com"))
    git(root, "commit", "-q", "-am", "A request changed without its grant file")

    dry, real = _both(root)

    assert (dry.code, real.code) == (0, 0), real.err
    assert _planned(dry) == _planned(real)
    changed = git(root, "show", "--no-renames", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == [
        f"archive/pci-prod/2026-12/{CAROL_ID}.yaml",
        f"requests/pci-prod/{CAROL_ID}.yaml",
        f"terraform/grants/pci-prod.{CAROL_ID}.tf",
    ]
    assert len(_planned(dry)) == len(changed)


def test_the_dry_run_names_the_branch_the_commit_goes_on(tmp_path: Path) -> None:
    root = checkout(tmp_path)

    dry = lapse(f"withdraw {CAROL_ID} {BEFORE_CAROL} {REASON} --dry-run", cwd=root)

    assert dry.code == 0, dry.err
    assert f"would switch to a new branch withdraw/{CAROL_ID}" in dry.out
    assert f"committing 3 paths on withdraw/{CAROL_ID} (dry run: nothing committed)" in dry.out
    assert git(root, "branch", "--list", f"withdraw/{CAROL_ID}") == ""


def test_an_existing_branch_is_refused_by_both_runs_alike(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    git(root, "branch", f"withdraw/{CAROL_ID}")

    dry, real = _both(root)

    assert real.code == 2
    assert (dry.code, dry.err) == (real.code, real.err)
    assert f"branch withdraw/{CAROL_ID} exists already" in real.err


def test_other_staged_changes_are_refused_by_both_runs_alike(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    place(root, "notes.md", "# not part of any withdrawal\n")
    git(root, "add", "notes.md")
    line = f"withdraw {CAROL_ID} {BEFORE_CAROL} {REASON} --allow-dirty"

    dry, real = lapse(f"{line} --dry-run", cwd=root), lapse(line, cwd=root)

    assert real.code == 2
    assert (dry.code, dry.err) == (real.code, real.err)
    assert "git has other changes staged (notes.md)" in dry.err
