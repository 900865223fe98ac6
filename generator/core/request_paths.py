"""Where a request file lives says its target, its id and whether it is an emergency.

`requests/<target>/<id>.yaml` is a normal request; `requests/<target>/emergency/<id>.yaml` is
an emergency one, approved by the target's emergency approvers under tighter limits.

An archived request also lives in the folder of the month (UTC) its window ended:
`archive/<target>/<YYYY-MM>/<id>.yaml` and `archive/<target>/emergency/<YYYY-MM>/<id>.yaml`.
A review reads only the months of its period, so its cost does not grow with the archive;
LAPSE134 keeps every archived file in the month its `expires` names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import PurePosixPath

EMERGENCY_FOLDER = "emergency"
REQUEST_FOLDERS = ("requests", "archive")
_MONTH = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")


@dataclass(frozen=True, slots=True)
class RequestPath:
    folder: str  # requests or archive
    target: str
    id: str
    emergency: bool
    month: str = ""  # archive/ only: YYYY-MM, the month its window ended


@cache
def parse_request_path(path: str) -> RequestPath | None:
    """The parts of a request path, or None when `path` has none of the shapes.

    Every rule about a request asks, so answers are kept: thousands of paths, a few each.
    """
    parts: Sequence[str] = path.split("/")
    if "" in parts or "." in parts or ".." in parts:
        parts = PurePosixPath(path).parts  # not a plain relative path: as pathlib reads it
    if len(parts) < 3 or parts[0] not in REQUEST_FOLDERS or not parts[-1].endswith(".yaml"):
        return None
    folder, stem = parts[0], parts[-1].removesuffix(".yaml")
    middle = parts[2:-1]
    emergency = bool(middle) and middle[0] == EMERGENCY_FOLDER
    if emergency:
        middle = middle[1:]
    if folder == "requests" and not middle:
        return RequestPath(folder, parts[1], stem, emergency)
    if folder == "archive" and len(middle) == 1 and is_month(middle[0]):
        return RequestPath(folder, parts[1], stem, emergency, middle[0])
    return None


def request_path(target: str, request_id: str, *, emergency: bool) -> str:
    """Where a request lives while it may grant access."""
    middle = (EMERGENCY_FOLDER,) if emergency else ()
    return PurePosixPath("requests", target, *middle, f"{request_id}.yaml").as_posix()


def archive_path(target: str, request_id: str, expires: datetime, *, emergency: bool) -> str:
    """Where a request lives once archived: in the folder of the month its window ended."""
    middle = (EMERGENCY_FOLDER,) if emergency else ()
    month = archive_month(expires)
    return PurePosixPath("archive", target, *middle, month, f"{request_id}.yaml").as_posix()


def archive_month(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def is_month(name: str) -> bool:
    return _MONTH.fullmatch(name) is not None
