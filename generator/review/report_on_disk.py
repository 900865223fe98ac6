"""A JSON report already under reports/, read back: complete and whole, or a located problem.

A report decides whether a grant is reviewed again, and its findings are shown again on every
run, so anything under reports/ is read as untrusted input: a file that is not JSON, not an
object, or lacks the fields the run reads is LAPSE115 at the line it goes wrong on, and its
grant is reviewed again (which writes the report anew).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from generator.core.model import Problem, Severity
from generator.core.repo import Repo

RULE = "LAPSE115"
# Far above any report lapse writes (its rows per resource are aggregated).
MAX_BYTES = 64 * 1024 * 1024
_HINT = "delete it: the next `lapse review` reviews the grant again and writes it anew"


@dataclass(frozen=True, slots=True)
class OnDisk:
    """A report read back: `data` when it is whole, `complete` only when it also says so."""

    path: Path
    data: dict[str, Any] | None = None
    problems: tuple[Problem, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return self.data is not None and self.data["complete"] is True

    @property
    def exists(self) -> bool:
        """Whether there is a file at all: whole (`data`) or a located problem."""
        return self.data is not None or bool(self.problems)


def read_report(repo: Repo, path: Path) -> OnDisk:
    """The report at `path`; no report at all is neither data nor a problem."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return OnDisk(path)
    except OSError as exc:
        return _refused(repo, path, 1, 1, f"cannot read: {exc.strerror}")
    if len(raw) > MAX_BYTES:
        return _refused(repo, path, 1, 1, f"larger than the limit of {MAX_BYTES} bytes")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _refused(repo, path, exc.lineno, exc.colno, f"not JSON: {exc.msg}")
    wrong = _shape(data)
    if wrong is not None:
        key, why = wrong
        line, col = _located(raw, key)
        return _refused(repo, path, line, col, f"not a report as `lapse review` writes it: {why}")
    return OnDisk(path, data)


def _shape(data: Any) -> tuple[str, str] | None:
    """(key, what is wrong) for the first field the run reads that is missing or mistyped."""
    if not isinstance(data, dict):
        return "", "the top level is not an object"
    request = data.get("request")
    findings = data.get("findings", [])
    listed = _list_of(findings, dict)
    checks = (
        ("complete", isinstance(data.get("complete"), bool), "must be true or false"),
        ("request", isinstance(request, dict) and isinstance(request.get("id"), str), _ID),
        ("worst", data.get("worst") is None or data.get("worst") in _SEVERITIES, _SEVERITY),
        ("findings", listed, "must be a list of objects"),
        ("findings", not listed or all(map(_is_finding, findings)), _FINDING),
        ("gaps", _list_of(data.get("gaps", []), str), "must be a list of strings"),
    )
    for key, fine, why in checks:
        if not fine:
            return key, f"`{key}` {why}"
    return None


_ID = "must be an object with a string `id`"
# A tuple, not a set: a list or an object read from the file cannot be hashed.
_SEVERITIES = tuple(s.value for s in Severity)
_SEVERITY = "must be null or one of " + ", ".join(_SEVERITIES)
_FINDING = (
    "must each have a `severity` (" + ", ".join(_SEVERITIES) + "), a string "
    "`kind` and `message`, and `evidence`, a list of strings"
)


def _is_finding(finding: dict[str, Any]) -> bool:
    return (
        finding.get("severity") in _SEVERITIES
        and isinstance(finding.get("kind"), str)
        and isinstance(finding.get("message"), str)
        and _list_of(finding.get("evidence"), str)
    )


def _list_of(value: Any, kind: type) -> bool:
    return isinstance(value, list) and all(isinstance(item, kind) for item in value)


def _located(raw: bytes, key: str) -> tuple[int, int]:
    """Line and column (1-based) of `"key":` in the file; 1:1 when it is absent."""
    found = re.search(rb'"' + re.escape(key.encode()) + rb'"\s*:', raw) if key else None
    if found is None:
        return 1, 1
    before = raw[: found.start()]
    return before.count(b"\n") + 1, found.start() - (before.rfind(b"\n") + 1) + 1


def _refused(repo: Repo, path: Path, line: int, col: int, message: str) -> OnDisk:
    problem = Problem(repo.relative(path), line, col, RULE, "error", message, _HINT)
    return OnDisk(path, None, (problem,))
