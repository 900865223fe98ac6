"""When each archived request's window ended, read as cheaply as the file allows.

An archived file is filed under the month its window ended (`archive/<target>/<YYYY-MM>/`), and
readers that go by month trust that. Most files have one plain `expires:` line, read with a
regular expression; any other file is loaded as YAML, so a quoted, commented or repeated key
is read as the loader reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from generator.checks.loading import load
from generator.core.times import parse_instant

# One top-level `expires:` line with a plain or quoted RFC 3339 value, and nothing after it.
_EXPIRES_LINE = re.compile(
    rb"^(expires):[ \t]*([\"']?)([0-9][0-9T:.+\-Z]+)\2[ \t]*\r?$", re.MULTILINE
)


@dataclass(frozen=True, slots=True)
class ArchivedEnd:
    """Where an archived file says its window ended; `expires` None when it cannot be read."""

    path: str
    expires: datetime | None
    line: int = 1
    col: int = 1


def quick_expiry(raw: bytes) -> tuple[datetime, int, int] | None:
    """(expires, line, column) from the file's only `expires` line; None when not that plain."""
    found = list(_EXPIRES_LINE.finditer(raw))
    if len(found) != 1 or raw.count(b"expires") != 1:
        return None
    match = found[0]
    try:
        moment = parse_instant(match[3].decode())
    except ValueError:
        return None
    line = raw.count(b"\n", 0, match.start()) + 1
    return moment, line, match.start(2) - match.start() + 1


def archived_end(path: str, file: Path) -> ArchivedEnd:
    try:
        raw = file.read_bytes()
    except OSError:
        return ArchivedEnd(path, None)
    quick = quick_expiry(raw)
    if quick is not None:
        return ArchivedEnd(path, *quick)
    document = load(path, raw).document
    if document is None or not isinstance(document.data, dict):
        return ArchivedEnd(path, None)
    value = document.data.get("expires")
    line, col = document.at("expires")
    try:
        moment = parse_instant(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    return ArchivedEnd(path, moment, line, col)
