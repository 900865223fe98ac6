"""A file export is complete only as far as its manifest says: period and scope are proven."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.cli import lapse
from tests.acceptance.test_review_cli import UNTIL, entry
from tests.support import SAMPLE_SCOPE, export_manifest, make_repo

ENTRIES = [entry("ok", "2026-12-01T10:00:00Z")]
PROD = "inc-4512-settlement-batch"  # reaches projects/pci-prod-payments
STAGING = "chg-1210-batch-runner"  # reaches projects/stg-payments


def write(path: Path, layout: str) -> Path:
    if layout == "lines":
        path.write_text("".join(json.dumps(e) + "\n" for e in ENTRIES))
    else:
        path.write_text(json.dumps(ENTRIES, indent=2) + "\n")
    return path


def report(root: Path, rid: str) -> dict[str, object]:
    found = next(root.glob(f"reports/*/2026-12/{rid}.json"))
    data: dict[str, object] = json.loads(found.read_text())
    return data


LAYOUTS = pytest.mark.parametrize("layout", ["lines", "array"])


@LAYOUTS
def test_a_correct_manifest_makes_the_review_complete(tmp_path: Path, layout: str) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    log = write(tmp_path / "audit.json", layout)
    export_manifest(log)

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert "INCOMPLETE" not in run.out
    assert report(root, PROD)["complete"] is True
    assert report(root, STAGING)["complete"] is True


@LAYOUTS
def test_an_export_without_a_manifest_is_incomplete_and_says_why(
    tmp_path: Path, layout: str
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    log = write(tmp_path / "audit.json", layout)

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert run.code == 1
    for rid in (PROD, STAGING):
        data = report(root, rid)
        assert data["complete"] is False
        assert f"{log.name}.manifest.json: no manifest beside the export" in str(data["gaps"])


@LAYOUTS
def test_a_manifest_ending_before_the_review_window_is_incomplete(
    tmp_path: Path, layout: str
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    log = write(tmp_path / "audit.json", layout)
    export_manifest(log, end="2026-12-05T00:00:00Z")

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert run.code == 1
    data = report(root, PROD)
    assert data["complete"] is False
    assert "the export holds [2026-01-01T00:00:00Z, 2026-12-05T00:00:00Z), not all of" in str(
        data["gaps"]
    )


@LAYOUTS
def test_a_project_missing_from_the_manifest_leaves_only_its_grant_incomplete(
    tmp_path: Path, layout: str
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    log = write(tmp_path / "audit.json", layout)
    scope = {**SAMPLE_SCOPE, "projects": ["pci-prod-payments", "pci-prod-analytics"]}
    export_manifest(log, scope=scope)

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert run.code == 1
    assert f"{STAGING}: INFO, INCOMPLETE" in run.out
    staging = report(root, STAGING)
    assert staging["gaps"] == [
        f"{log.name}.manifest.json: the export does not hold the logs of projects/stg-payments"
    ]
    assert report(root, PROD)["complete"] is True


def test_a_folder_uses_its_manifest_json_and_never_reads_it_as_entries(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    folder = tmp_path / "export"
    (folder / "2026/12/01").mkdir(parents=True)
    write(folder / "2026/12/01/10:00:00_10:59:59_S0.json", "lines")
    export_manifest(folder)

    run = lapse(f"review --source file:{folder} {UNTIL}", cwd=root)

    assert "INCOMPLETE" not in run.out
    assert "1 entry read" in run.out
    assert report(root, PROD)["complete"] is True


def test_an_empty_export_stays_incomplete_whatever_its_manifest_says(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    folder = tmp_path / "export"
    folder.mkdir()
    export_manifest(folder)

    run = lapse(f"review --source file:{folder} {UNTIL}", cwd=root)

    assert run.code == 1
    assert f"{folder.name}: the export holds no entries at all" in str(report(root, PROD)["gaps"])


def test_a_malformed_manifest_is_a_located_problem(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    log = write(tmp_path / "audit.json", "lines")
    manifest = export_manifest(log)
    manifest.write_text(manifest.read_text().replace("2027-01-01T00:00:00Z", "next year"))

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert run.code == 1
    assert "Traceback" not in run.out + run.err
    gaps = str(report(root, PROD)["gaps"])
    assert f"{manifest.name}:3:3: manifest `end` must be an RFC 3339 time" in gaps
