"""LAPSE15x: archive/ and reports/ are records, so they only grow, and only as lapse grows them.

The break-glass limits, the id rule and every review are computed from archive/, and a merged
report is the approvers' sign-off: whoever could edit or remove one could erase an emergency
before it is counted or a finding after it was signed. So ownership is not enough. A change
under archive/ is accepted only when it is the move `lapse expire` or `lapse withdraw` makes:
a request removed from `requests/<target>/[emergency/]<id>.yaml` and added, with the same bytes
and mode, at `archive/<target>/[emergency/]<YYYY-MM>/<id>.yaml`, the month (UTC) of its
`expires` as the loader reads it. reports/ takes new files; a report already there is final.
Both are judged on what git records (a mode change or a symlink is a change), and folders
are matched whatever their case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from generator.checks.loading import load
from generator.checks.rules import rule
from generator.core.model import Problem
from generator.core.request_paths import archive_path, parse_request_path
from generator.core.times import parse_instant
from generator.core.tree_changes import REGULAR, FileChange, Side

ARCHIVE_RULE = "LAPSE150"
REPORTS_RULE = "LAPSE151"
ARCHIVE = "archive"
REPORTS = "reports"
REQUESTS = "requests"
FOLDERS = (ARCHIVE, REPORTS, REQUESTS)
_MOVE_HINT = (
    "archived requests change only by `lapse expire` or `lapse withdraw`; restore the file "
    "as it is on the base branch"
)
_REPORT_HINT = "a merged report is final: restore it, and add a new report instead"


Reader = Callable[[FileChange, Side], bytes]


@dataclass(frozen=True, slots=True)
class HistoryContext:
    """One set of changes to judge: a pull request's, or one commit's on the main line.

    `read` gives a side's bytes; `when` prefixes each message (e.g. the commit that made it).
    """

    changes: tuple[FileChange, ...]
    read: Reader
    when: str = ""


@rule(
    ARCHIVE_RULE,
    "archive/ changes only by the move `lapse expire` or `lapse withdraw` makes: a request's "
    "bytes, from requests/ to the month of its expires.",
    scope="history",
    fix="Restore archive/ as it is on the base branch (`git checkout BASE -- archive/`): "
    "requests reach it only through `lapse expire` or `lapse withdraw`, which move a request's "
    "bytes unchanged to the month of its `expires`, in the same commit that removes it.",
)
def archive_changes(ctx: HistoryContext) -> Iterator[Problem]:
    moves = _Moves.of(ctx)
    for change in ctx.changes:
        if change.top != ARCHIVE:
            continue
        if change.before is not None:
            what = _what(change, "archived request")
            yield _problem(ctx, ARCHIVE_RULE, change, what, _MOVE_HINT)
            continue
        why = moves.refusal(ctx, change)
        if why:
            yield _problem(ctx, ARCHIVE_RULE, change, why, _MOVE_HINT)


@rule(
    REPORTS_RULE,
    "A report on the base branch is never edited, moved or removed; new reports are plain files.",
    scope="history",
    fix="Restore the report as it is on the base branch (`git checkout BASE -- "
    "reports/`): a merged report is a sign-off; add a new report instead of changing one.",
)
def report_changes(ctx: HistoryContext) -> Iterator[Problem]:
    for change in ctx.changes:
        if change.top != REPORTS:
            continue
        if change.before is not None:
            yield _problem(ctx, REPORTS_RULE, change, _what(change, "report"), _REPORT_HINT)
        elif change.after is not None and change.after.mode not in REGULAR:
            message = f"adds {change.path} as a {_kind(change.after)}: a report is a plain file"
            yield _problem(ctx, REPORTS_RULE, change, message, "commit the report itself")


@dataclass(frozen=True, slots=True)
class _Source:
    change: FileChange
    before: Side
    raw: bytes


@dataclass(frozen=True, slots=True)
class _Moves:
    """The requests these changes remove: by the archive path each belongs at, and, by
    (target, id), that path or why the request has none."""

    placed: dict[str, _Source]
    expected: dict[tuple[str, str], str]

    @classmethod
    def of(cls, ctx: HistoryContext) -> _Moves:
        placed: dict[str, _Source] = {}
        expected: dict[tuple[str, str], str] = {}
        for change in ctx.changes:
            where = parse_request_path(change.path)
            if where is None or where.folder != REQUESTS or change.before is None:
                continue
            if change.after is not None:
                continue  # still in requests/: nothing moved
            raw = ctx.read(change, change.before)
            place = _place(change.path, raw)
            expected[(where.target, where.id)] = place
            if place.startswith(ARCHIVE + "/"):
                placed[place] = _Source(change, change.before, raw)
        return cls(placed, expected)

    def refusal(self, ctx: HistoryContext, change: FileChange) -> str:
        """Why the addition `change` is not a move; "" when it is one."""
        source = self.placed.get(change.path)
        after = change.after
        if source is None or after is None:
            return self.unplaced(change.path)
        if after.mode not in REGULAR or after.mode != source.before.mode:
            return (
                f"adds {change.path} as a {_kind(after)} ({after.mode}), but "
                f"{source.change.path} was a {_kind(source.before)} ({source.before.mode}): "
                "a move keeps the file as it was"
            )
        raw = ctx.read(change, after)
        if raw != source.raw:
            line, col = _first_difference(source.raw, raw)
            return (
                f"adds {change.path} with other bytes than {source.change.path}, which it "
                f"moves (first at {line}:{col}): a move keeps every byte the approvers saw"
            )
        return ""

    def unplaced(self, path: str) -> str:
        where = parse_request_path(path)
        found = None
        if where is not None and where.folder == ARCHIVE:
            found = self.expected.get((where.target, where.id))
        if found is not None and found.startswith(ARCHIVE + "/"):
            return f"adds {path}, but the request it would move belongs at {found}"
        if found is not None:
            return f"adds {path}, but {found}"
        return (
            f"adds {path}, which is not a request moved here from requests/ in the same "
            "change: archive/ takes only requests/<target>/[emergency/]<id>.yaml, moved to "
            "archive/<target>/[emergency/]<YYYY-MM>/<id>.yaml"
        )


def _place(path: str, raw: bytes) -> str:
    """Where `lapse expire` files the request at `path`, or why it cannot say."""
    where = parse_request_path(path)
    expires = _expires(path, raw)
    if where is None or expires is None:
        return f"{path} has no `expires` lapse can read, so no month of archive/ is its"
    try:
        return archive_path(where.target, where.id, expires, emergency=where.emergency)
    except (OverflowError, ValueError):
        return f"the `expires` of {path} has no month in UTC"


def _expires(path: str, raw: bytes) -> datetime | None:
    """`expires` as the loader reads it, the reading `lapse expire` files the request by."""
    document = load(path, raw).document
    value = document.data.get("expires") if document and isinstance(document.data, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return parse_instant(value)
    except (ValueError, OverflowError):
        return None


def _what(change: FileChange, noun: str) -> str:
    before, after = change.before, change.after
    if after is None:
        return f"removes the {noun} {change.path}"
    if before is not None and before.mode != after.mode:
        return f"changes the {noun} {change.path} from mode {before.mode} to {after.mode}"
    return f"edits the {noun} {change.path}"


def _kind(side: Side) -> str:
    return {"120000": "symlink", "160000": "submodule"}.get(side.mode, "file")


def _problem(
    ctx: HistoryContext, rule_id: str, change: FileChange, message: str, hint: str
) -> Problem:
    line, col = 1, 1
    before, after = change.before, change.after
    if before is not None and after is not None and before.mode == after.mode:
        line, col = _first_difference(ctx.read(change, before), ctx.read(change, after))
    return Problem(change.path, line, col, rule_id, "error", ctx.when + message, hint)


def _first_difference(old: bytes, new: bytes) -> tuple[int, int]:
    """1-based line and column (in characters) where `new` first differs from `old`."""
    common = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        common += 1
    # A difference inside a multi-byte character starts at that character: drop its first bytes.
    before = new[:common].decode("utf-8", errors="ignore")
    line = before.count("\n") + 1
    return line, len(before) - (before.rfind("\n") + 1) + 1
