"""Review reports are committed: they name export files relative to the repository, or by the
export's own name when it lies outside it, never by the auditor's local path."""

from __future__ import annotations

import json
from pathlib import Path

from tests.acceptance.cli import lapse
from tests.acceptance.test_review_cli import UNTIL, entry
from tests.support import export_manifest, make_repo

BROKEN = "this line is not JSON\n"


def _lines(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entry("in-window", "2026-12-01T10:00:00Z")) + "\n" + BROKEN)
    return path


def _written(root: Path) -> str:
    return "\n".join(p.read_text() for p in sorted((root / "reports").rglob("*")) if p.is_file())


def test_an_export_outside_the_repository_is_named_by_its_name(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    log = _lines(tmp_path / "auditor" / "exports" / "audit.jsonl")  # no manifest: a gap too

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert run.code == 1, run.err
    written = _written(root)
    assert str(tmp_path) not in written
    assert str(tmp_path.resolve()) not in written
    assert "audit.jsonl: line 2:" in written
    assert "audit.jsonl.manifest.json: no manifest beside the export" in written


def test_a_folder_export_inside_the_repository_is_named_relative_to_it(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    folder = root / "exports" / "2026-12"
    _lines(folder / "part-1.jsonl")
    export_manifest(folder, start="2027-01-01T00:00:00Z", end="2027-02-01T00:00:00Z")

    run = lapse(f"review --source file:{folder} {UNTIL}", cwd=root)

    assert run.code == 1, run.err
    written = _written(root)
    assert str(tmp_path) not in written
    assert "exports/2026-12/part-1.jsonl: line 2:" in written
    assert "exports/2026-12/manifest.json: the export holds" in written


def test_an_export_named_by_a_relative_path_from_elsewhere_holds_no_local_path(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    log = _lines(tmp_path / "audit.jsonl")
    export_manifest(log)

    run = lapse(f"-C {root} review --source file:../audit.jsonl {UNTIL}", cwd=tmp_path)

    assert run.code == 1, run.err
    written = _written(root)
    assert str(tmp_path) not in written
    assert "../audit.jsonl" not in written  # a path from where the auditor stood
    assert '"audit.jsonl: line 2:' in written
