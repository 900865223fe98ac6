"""Reading an export's manifest: every problem located, every form of a name understood."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from generator.review.export_manifest import (
    Manifest,
    ManifestedExport,
    is_manifest,
    manifest_path,
    read_manifest,
)
from generator.review.file_source import FileSource

START = datetime(2026, 12, 1, tzinfo=UTC)
END = datetime(2026, 12, 2, tzinfo=UTC)


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "audit.json.manifest.json"
    path.write_text(text)
    return path


def test_names_are_read_bare_or_as_resource_names(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        '{"start": "2026-12-01T00:00:00.123456789Z", "end": "2026-12-02T01:00:00+01:00",'
        ' "projects": ["a", "projects/b"], "folders": ["1"], "organizations": ["organizations/2"]}',
    )

    manifest = read_manifest(path)

    assert isinstance(manifest, Manifest)
    assert manifest.scope == {"projects/a", "projects/b", "folders/1", "organizations/2"}
    assert manifest.end == END
    assert manifest.period_gap(START.replace(microsecond=123456), END) == ""
    assert manifest.period_gap(START, END) != ""  # the export starts a fraction later
    assert manifest.scope_gaps(["projects/a", "projects/c"]) == [
        f"{path}: the export does not hold the logs of projects/c"
    ]


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        (
            '{"start": "2026-12-01T00:00:00Z",\n "end": }',
            "2:9",
            "manifest is not JSON: unexpected character",
        ),
        ("[]", "1:1", "must be a JSON object"),
        (
            '{\n  "start": "2026-12-01",\n  "end": "2026-12-02T00:00:00Z", "projects": []}',
            "2:3",
            "`start` must be an RFC 3339",
        ),
        (
            '{"start": "2026-12-01T00:00:00",\n "end": "2026-12-02T00:00:00Z", "projects": []}',
            "1:2",
            "`start` must be an RFC 3339",
        ),
        (
            '{"start": "2026-13-01T00:00:00Z",\n "end": "2026-12-02T00:00:00Z", "projects": []}',
            "1:2",
            "`start` must be an RFC 3339",
        ),
        (
            '{"start": "2026-12-01T00:00:00Z",\n "end": "2026-12-02T00:00:00Z"}',
            "1:1",
            "`projects` is missing",
        ),
        (
            '{"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z",\n "projects": "p"}',
            "2:2",
            "`projects` must be a list of names",
        ),
        (
            '{"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z", "projects": [],\n'
            ' "project": ["p"]}',
            "2:2",
            "`project` is not a manifest field",
        ),
        (
            '{"start": "2026-12-02T00:00:00Z",\n "end": "2026-12-01T00:00:00Z", "projects": []}',
            "2:2",
            "`end` is not after `start`",
        ),
    ],
)
def test_a_malformed_manifest_is_located(tmp_path: Path, text: str, where: str, why: str) -> None:
    path = written(tmp_path, text)

    problem = read_manifest(path)

    assert isinstance(problem, str)
    assert problem.startswith(f"{path}:{where}: ")
    assert why in problem


def test_manifests_sit_beside_a_file_or_at_the_top_of_a_folder(tmp_path: Path) -> None:
    export = tmp_path / "audit.jsonl.gz"
    export.write_bytes(b"")
    assert manifest_path(export) == tmp_path / "audit.jsonl.gz.manifest.json"
    assert manifest_path(tmp_path) == tmp_path / "manifest.json"
    assert is_manifest(tmp_path / "manifest.json")
    assert is_manifest(tmp_path / "x.jsonl.manifest.json")
    assert not is_manifest(tmp_path / "manifest.jsonl")


def test_gaps_are_those_of_the_last_read_only(tmp_path: Path) -> None:
    export = tmp_path / "audit.jsonl"
    export.write_text('{"insertId": "a", "timestamp": "2026-12-01T10:00:00Z"}\n')
    written(tmp_path, "").with_name("audit.jsonl.manifest.json").write_text(
        '{"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z", "projects": ["p"]}'
    )
    source = ManifestedExport(export, FileSource(export))

    list(source.events(["alice@example.com"], START, END.replace(hour=1)))
    assert not source.complete
    list(source.events(["alice@example.com"], START, END))
    assert source.gaps == []
    assert source.complete
