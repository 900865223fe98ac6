"""`lapse changes` in words: a table for the terminal, Markdown for the pull request's comment,
and JSON. Every request shows its ticket, reason and window in UTC; a change shows each value
it changes as `before -> after`.

The Markdown is posted by the plan job under the repository's name, but its text is the pull
request author's: every value is a code span, so no mention, link, image or HTML in a reason
renders as one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson

from generator.core.formats import Formats
from generator.core.model import Request
from generator.core.tables import fit_lines
from generator.core.times import format_utc
from generator.lifecycle.request_changes import Change, RequestChange, RequestChanges

HEADERS = (
    "",
    "request",
    "requester",
    "grants",
    "starts (UTC)",
    "expires (UTC)",
    "ticket",
    "reason",
)
Field = Callable[[Request], str]


def _grants(request: Request) -> str:
    return "; ".join(f"{g.role} on {g.kind.replace('_', ' ')} {g.resource}" for g in request.grants)


def _starts(request: Request) -> str:
    return format_utc(request.window.starts) if request.window.starts else "when applied"


FIELDS: tuple[Field, ...] = (
    lambda r: r.requester,
    _grants,
    _starts,
    lambda r: format_utc(r.window.expires),
    lambda r: r.ticket,
    lambda r: r.reason,
)


def _values(change: RequestChange) -> list[str]:
    """Each field of the request; a changed one as `before -> after`; `?` for a side that does
    not read as a request."""
    cells = []
    for field in FIELDS:
        old = field(change.before) if change.before else "?"
        new = field(change.after) if change.after else "?"
        if change.change is Change.REMOVES:
            cells.append(old)
        elif change.change is Change.ADDS or old == new:
            cells.append(new)
        else:
            cells.append(f"{old} -> {new}")
    return cells


def _label(change: RequestChange) -> str:
    return f"{change.change.value} (same access)" if change.same_access else change.change.value


def _counts(result: RequestChanges) -> str:
    done = {"added": Change.ADDS, "changed": Change.CHANGES, "removed": Change.REMOVES}
    counted = (
        f"{sum(c.change is kind for c in result.changes)} {word}" for word, kind in done.items()
    )
    return ", ".join(counted)


def text(result: RequestChanges) -> str:
    """One block per request: what happens to it, then each field on a line of its own (the
    files that do not read are the command's to show, located)."""
    if not result.changes:
        return f"no request added, changed or removed against {result.base[:12]}\n"
    lines = []
    for change in result.changes:
        lines.append(f"{_label(change)} {change.path}")
        lines += [
            f"  {name:<13} {value}"
            for name, value in zip(HEADERS[2:], _values(change), strict=True)
        ]
    return fit_lines("\n".join([*lines, f"{_counts(result)} against {result.base[:12]}"]) + "\n")


def _code(value: str) -> str:
    """`value` as one inline code span inside a table cell: inert, whatever it holds."""
    flat = " ".join(value.split()).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    return f"{fence} {flat} {fence}" if flat else ""


def markdown(result: RequestChanges) -> str:
    title = "### What this pull request changes\n\n"
    if not result.changes:
        return title + "_No request added, changed or removed._\n"
    lines = ["| change | " + " | ".join(HEADERS[1:]) + " |", "|" + "---|" * len(HEADERS)]
    for change in result.changes:
        cells = [_code(change.path), *(_code(v) for v in _values(change))]
        lines.append(f"| **{_label(change)}** | " + " | ".join(cells) + " |")
    unread = [
        f"- {_code(f'{p.path}:{p.line}:{p.col}')} {p.rule} {_code(p.message)}"
        for p in result.unreadable
    ]
    tail = "\n\nNot readable as requests:\n\n" + "\n".join(unread) if unread else ""
    return title + "\n".join(lines) + f"\n\n{_counts(result)}{tail}\n"


def _request_data(request: Request | None) -> dict[str, object] | None:
    if request is None:
        return None
    return {
        "requester": request.requester,
        "target": request.target,
        "ticket": request.ticket,
        "reason": request.reason,
        "starts": format_utc(request.window.starts) if request.window.starts else None,
        "expires": format_utc(request.window.expires),
        "grants": [{"role": g.role, g.kind: g.resource} for g in request.grants],
    }


def as_json(result: RequestChanges) -> str:
    data = {
        "base": result.base,
        "changes": [
            {
                "change": c.change.value,
                "path": c.path,
                "same_access": c.same_access,
                "before": _request_data(c.before),
                "after": _request_data(c.after),
            }
            for c in result.changes
        ],
        "unreadable": [
            {"path": p.path, "line": p.line, "col": p.col, "rule": p.rule, "message": p.message}
            for p in result.unreadable
        ],
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


FORMATS: Formats[RequestChanges] = Formats({"text": text, "markdown": markdown, "json": as_json})
