"""The setup checklist `lapse doctor` prints: one value per thing it looked at.

Each item says what was checked, whether it is right, and, when it is not, the exact fix: a
command to run, a settings page to open, or a JSON body to send.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    OK = "ok"
    MISSING = "missing"
    WRONG = "wrong"
    UNKNOWN = "cannot tell"  # not readable with this token, or not wholly: never taken as ok


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One line of the checklist: `area` groups lines, `subject` names the thing checked."""

    area: str
    subject: str
    state: State
    detail: str = ""
    fix: str = ""


def ok(area: str, subject: str, detail: str = "") -> CheckItem:
    return CheckItem(area, subject, State.OK, detail)


def missing(area: str, subject: str, detail: str, fix: str) -> CheckItem:
    return CheckItem(area, subject, State.MISSING, detail, fix)


def wrong(area: str, subject: str, detail: str, fix: str) -> CheckItem:
    return CheckItem(area, subject, State.WRONG, detail, fix)


def cannot_tell(area: str, subject: str, detail: str, fix: str) -> CheckItem:
    return CheckItem(area, subject, State.UNKNOWN, detail, fix)


def anything_wrong(items: Iterable[CheckItem]) -> bool:
    return any(item.state is not State.OK for item in items)
