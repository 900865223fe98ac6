"""What an exported audit log says it covers: its manifest, and the review's gaps it leaves.

An export cannot show by its entries that nothing is missing: an hour's file not copied, a project
left out of the filter, a `gcloud logging read` cut at its `--limit` all look like quiet time. So
whoever exports states, beside the export, the period and the scope it holds; a review whose
window or scope that statement does not cover is INCOMPLETE, with the reason named.

- a file `PATH`: `PATH.manifest.json`; a folder: `manifest.json` at its top;
- `{"start": RFC 3339, "end": RFC 3339, "projects": [...], "folders": [...],
  "organizations": [...]}`: entries held are those with `start <= timestamp < end`, from the
  logs of the named projects, folders and organizations (`folders`, `organizations` optional).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import orjson

from generator.core.audit_event import Event
from generator.core.writing import cause
from generator.review.file_parts import FileRead, FilesRead, split_files
from generator.review.file_source import FileSource
from generator.review.sources import Accounting, CombinedSource, EventSource, utc, window_text

MANIFEST_NAME = "manifest.json"
MANIFEST_SUFFIX = ".manifest.json"
_SCOPES = {"projects": "projects/", "folders": "folders/", "organizations": "organizations/"}
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)\Z", re.ASCII)


@dataclass(frozen=True)
class Manifest:
    path: Path  # as reports name it: relative to the repository, or from the export's name
    start: datetime
    end: datetime
    scope: frozenset[str]  # resource names: projects/P, folders/F, organizations/O

    def period_gap(self, start: datetime, end: datetime) -> str:
        """Why [start, end) is not all in the export ("" when it is)."""
        if self.start <= start and end <= self.end:
            return ""
        held, read = window_text(self.start, self.end), window_text(start, end)
        return f"{self.path}: the export holds {held}, not all of the period read {read}"

    def scope_gaps(self, names: Iterable[str]) -> list[str]:
        return [
            f"{self.path}: the export does not hold the logs of {name}"
            for name in sorted(set(names) - self.scope)
        ]


def is_manifest(path: Path) -> bool:
    return path.name == MANIFEST_NAME or path.name.endswith(MANIFEST_SUFFIX)


def manifest_path(export: Path) -> Path:
    if export.is_dir():
        return export / MANIFEST_NAME
    return export.with_name(export.name + MANIFEST_SUFFIX)


def read_manifest(path: Path, shown: str = "") -> Manifest | str:
    """The manifest at `path`, or the problem with it located at path:line:column, the path
    named as `shown` (reports are committed: a local path is not theirs to hold)."""
    named = shown or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return f"{named}: no manifest beside the export, so what it covers is unknown"
    except OSError as exc:
        return f"{named}: manifest unreadable: {cause(exc)}"
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return f"{named}:{exc.lineno}:{exc.colno}: manifest is not JSON: {exc.msg}"
    text = raw.decode("utf-8", "replace")
    if not isinstance(data, dict):
        return f"{named}:1:1: manifest must be a JSON object"
    problems = list(_problems(data))
    if problems:
        key, why = problems[0]
        line, column = _located(text, key)
        return f"{named}:{line}:{column}: manifest `{key}` {why}"
    start, end = _moment(data["start"]), _moment(data["end"])
    if start is None or end is None or not start < end:
        line, column = _located(text, "end")
        return f"{named}:{line}:{column}: manifest `end` is not after `start`"
    scope = frozenset(
        name if name.startswith(prefix) else prefix + name
        for key, prefix in _SCOPES.items()
        for name in data.get(key, [])
    )
    return Manifest(Path(named), start, end, scope)


def _problems(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key in ("start", "end"):
        value = data.get(key)
        if not isinstance(value, str) or _moment(value) is None:
            yield key, "must be an RFC 3339 time with a UTC offset (2026-12-01T00:00:00Z)"
    if "projects" not in data:
        yield "projects", "is missing: list the projects whose logs the export holds"
    for key in _SCOPES:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            yield key, "must be a list of names"
    for key in data:
        if key not in ("start", "end", *_SCOPES):
            yield key, f"is not a manifest field (start, end, {', '.join(_SCOPES)})"


def _moment(text: str) -> datetime | None:
    found = _RFC3339.match(text)
    if found is None:
        return None
    # Logging writes nanoseconds; a datetime holds microseconds (the rest cannot matter here).
    fraction = found.group(1) or ""
    text = text.replace(fraction, fraction[:7], 1).upper()
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def _located(text: str, key: str) -> tuple[int, int]:
    """Line and column (1-based) of `"key"` in the manifest; 1:1 when it is absent."""
    found = re.search(rf'"{re.escape(key)}"\s*:', text)
    if found is None:
        return 1, 1
    before = text[: found.start()]
    return before.count("\n") + 1, found.start() - (before.rfind("\n") + 1) + 1


class ManifestedExport:
    """An export read through its manifest: the entries, plus the gaps the manifest leaves.

    A missing or malformed manifest, or one whose period does not hold the window read, is a gap
    of every review; a scope it does not hold is a gap of the reviews reaching there only
    (`scope_gaps`). An export with no entries at all is never complete.
    """

    def __init__(
        self, export: Path, inner: EventSource, shown: Callable[[Path], str] = str
    ) -> None:
        self.export = export
        self.shown = shown(export)
        self.inner = inner
        manifest = manifest_path(export)
        self.manifest = read_manifest(manifest, shown(manifest))
        self._own: list[str] = []

    @property
    def gaps(self) -> list[str]:
        return [*self._own, *self.inner.gaps]

    @property
    def principal_gaps(self) -> dict[str, list[str]]:
        return self.inner.principal_gaps

    @property
    def accounting(self) -> Accounting:
        return self.inner.accounting

    @property
    def complete(self) -> bool:
        return not self.gaps

    def events(
        self, principals: Collection[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        start, end = utc(start), utc(end)
        self._opened(start, end)
        yield from self.inner.events(principals, start, end)
        self._closed()

    def split(
        self, principals: Collection[str], start: datetime, end: datetime, count: int
    ) -> FileRead | FilesRead | None:
        """The export's read in parts (`shards`), with what the manifest adds: one file cut
        at line starts, or a folder's files taken a few consecutive ones a part."""
        read: FileRead | FilesRead | None = None
        if isinstance(self.inner, FileSource):
            read = self.inner.split(principals, start, end, count)
        elif isinstance(self.inner, CombinedSource) and all(
            isinstance(source, FileSource) for source in self.inner.sources
        ):
            files = cast("list[FileSource]", list(self.inner.sources))
            read = split_files(files, principals, start, end, count)
        if read is not None:
            self._opened(utc(start), utc(end))
            read.after.append(self._closed)
        return read

    def _opened(self, start: datetime, end: datetime) -> None:
        self._own = []
        if isinstance(self.manifest, str):
            self._own.append(self.manifest)
        elif gap := self.manifest.period_gap(start, end):
            self._own.append(gap)

    def _closed(self) -> None:
        if self.accounting.read == 0 and not self.inner.gaps:
            self._own.append(f"{self.shown}: the export holds no entries at all")

    def scope_gaps(self, names: Iterable[str]) -> list[str]:
        """Of `names` (projects/P, folders/F, organizations/O), those the export does not hold."""
        return self.manifest.scope_gaps(names) if isinstance(self.manifest, Manifest) else []
