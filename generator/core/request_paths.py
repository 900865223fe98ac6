"""Where a request file lives says its target, its id and whether it is an emergency.

`requests/<target>/<id>.yaml` is a normal request; `requests/<target>/emergency/<id>.yaml` is
an emergency one, approved by the target's emergency approvers under tighter limits. The same
two shapes hold under archive/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

EMERGENCY_FOLDER = "emergency"
REQUEST_FOLDERS = ("requests", "archive")


@dataclass(frozen=True, slots=True)
class RequestPath:
    folder: str  # requests or archive
    target: str
    id: str
    emergency: bool


def parse_request_path(path: str) -> RequestPath | None:
    """The parts of a request path, or None when `path` has neither shape."""
    parts = PurePosixPath(path).parts
    if not parts or parts[0] not in REQUEST_FOLDERS or not parts[-1].endswith(".yaml"):
        return None
    stem = parts[-1].removesuffix(".yaml")
    if len(parts) == 3:
        return RequestPath(parts[0], parts[1], stem, emergency=False)
    if len(parts) == 4 and parts[2] == EMERGENCY_FOLDER:
        return RequestPath(parts[0], parts[1], stem, emergency=True)
    return None


def request_path(folder: str, target: str, request_id: str, *, emergency: bool) -> str:
    middle = (EMERGENCY_FOLDER,) if emergency else ()
    return PurePosixPath(folder, target, *middle, f"{request_id}.yaml").as_posix()
