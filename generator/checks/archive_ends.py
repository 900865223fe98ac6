"""When each archived request's window ended, as the loader reads it.

An archived file is filed under the month its window ended (`archive/<target>/<YYYY-MM>/`), and
readers that go by month trust that (LAPSE134). The month is judged from the loaded value, the
one every other decision about the request uses, and the file is held to LAPSE112 so that no
other reading of it can place it in another month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from generator.checks.loading import load
from generator.checks.plain_reading import plain_reading
from generator.core.model import Problem
from generator.core.times import parse_instant


@dataclass(frozen=True, slots=True)
class ArchivedEnd:
    """Where an archived file says its window ended; `expires` None when it cannot be read."""

    path: str
    expires: datetime | None
    line: int = 1
    col: int = 1
    # LAPSE112: the file's text reads otherwise than it loads.
    problems: tuple[Problem, ...] = ()


def archived_end(path: str, file: Path) -> ArchivedEnd:
    try:
        raw = file.read_bytes()
    except OSError:
        return ArchivedEnd(path, None)
    document = load(path, raw).document
    if document is None or not isinstance(document.data, dict):
        return ArchivedEnd(path, None)
    value = document.data.get("expires")
    line, col = document.at("expires")
    try:
        moment = parse_instant(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    return ArchivedEnd(path, moment, line, col, tuple(plain_reading(document, raw)))
