"""Views of who has what: the render summary and `lapse simulate`'s report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson

from generator.core.model import Request
from generator.core.tables import markdown_table, text_table
from generator.core.times import format_duration, format_utc
from generator.terraform.conditions import Verdict

ACCESS_HEADERS = ("requester", "role", "resource", "starts", "expires", "request")
VERDICT_HEADERS = ("active", "member", "role", "resource", "starts", "expires", "time left")


def access_rows(requests: Iterable[Request]) -> list[list[str]]:
    rows = [
        [
            r.requester,
            g.role,
            f"{g.kind} {g.resource}",
            format_utc(r.window.starts) if r.window.starts else "at merge",
            format_utc(r.window.expires),
            r.path,
        ]
        for r in requests
        for g in r.grants
    ]
    return sorted(rows, key=lambda row: (row[4], row[0], row[1], row[2]))


def _left(verdict: Verdict, at: datetime) -> str:
    left = verdict.time_left(at)
    if left is None:
        return "-"
    return format_duration(left)


def _row(verdict: Verdict, at: datetime) -> list[str]:
    b = verdict.binding
    return [
        "yes" if verdict.active else "no",
        b.member,
        b.role,
        f"{b.kind} {b.resource}",
        format_utc(verdict.starts) if verdict.starts else "-",
        format_utc(verdict.expires) if verdict.expires else "never",
        _left(verdict, at),
    ]


def render(verdicts: Sequence[Verdict], at: datetime, fmt: str) -> str:
    ordered = sorted(verdicts, key=lambda v: (not v.active, v.binding.member, v.binding.address))
    if fmt == "json":
        return _json(ordered, at)
    rows = [_row(v, at) for v in ordered]
    active = sum(v.active for v in ordered)
    if fmt == "markdown":
        title = f"### Temporary access at {format_utc(at)}\n\n"
        return title + markdown_table(VERDICT_HEADERS, rows) + f"\n{active} of {len(rows)} active\n"
    return (
        text_table(VERDICT_HEADERS, rows) + f"{active} of {len(rows)} active at {format_utc(at)}\n"
    )


def _json(verdicts: Sequence[Verdict], at: datetime) -> str:
    records = [
        {
            "address": v.binding.address,
            "source": v.binding.source,
            "member": v.binding.member,
            "role": v.binding.role,
            "kind": v.binding.kind,
            "resource": v.binding.resource,
            "title": v.binding.title,
            "expression": v.binding.expression,
            "active": v.active,
            "starts": format_utc(v.starts) if v.starts else None,
            "expires": format_utc(v.expires) if v.expires else None,
            "seconds_left": int(left.total_seconds()) if (left := v.time_left(at)) else None,
        }
        for v in verdicts
    ]
    body = {"at": format_utc(at), "bindings": records}
    return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n"
