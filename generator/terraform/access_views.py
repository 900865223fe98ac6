"""Views of who has what: the render summary and `lapse simulate`'s report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import orjson

from generator.core.formats import Formats
from generator.core.model import Request
from generator.core.tables import markdown_table, text_table
from generator.core.times import format_duration, format_utc

if TYPE_CHECKING:  # judged by `lapse simulate`; render's summary loads no CEL
    from generator.terraform.conditions import Judgement

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


def _left(judgement: Judgement, at: datetime) -> str:
    left = judgement.time_left(at)
    if left is None:
        return "-"
    return format_duration(left)


def _row(judgement: Judgement, at: datetime) -> list[str]:
    b = judgement.binding
    return [
        "yes" if judgement.active else "no",
        b.member,
        b.role,
        f"{b.kind} {b.resource}",
        format_utc(judgement.starts) if judgement.starts else "-",
        format_utc(judgement.expires) if judgement.expires else "never",
        _left(judgement, at),
    ]


def _active_first(judgement: Judgement) -> tuple[bool, str, str]:
    return not judgement.active, judgement.binding.member, judgement.binding.address


@dataclass(frozen=True)
class Snapshot:
    """Bindings judged at one instant, active ones first: what `lapse simulate` shows."""

    judgements: Sequence[Judgement]
    at: datetime

    @classmethod
    def of(cls, judgements: Iterable[Judgement], at: datetime) -> Snapshot:
        return cls(sorted(judgements, key=_active_first), at)

    def rows(self) -> list[list[str]]:
        return [_row(v, self.at) for v in self.judgements]

    @property
    def active(self) -> int:
        return sum(v.active for v in self.judgements)


def _text(shot: Snapshot) -> str:
    rows = shot.rows()
    return text_table(VERDICT_HEADERS, rows) + (
        f"{shot.active} of {len(rows)} active at {format_utc(shot.at)}\n"
    )


def _markdown(shot: Snapshot) -> str:
    rows = shot.rows()
    title = f"### Temporary access at {format_utc(shot.at)}\n\n"
    tally = f"\n{shot.active} of {len(rows)} active\n"
    return title + markdown_table(VERDICT_HEADERS, rows) + tally


def _json(shot: Snapshot) -> str:
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
            "seconds_left": int(left.total_seconds()) if (left := v.time_left(shot.at)) else None,
        }
        for v in shot.judgements
    ]
    body = {"at": format_utc(shot.at), "bindings": records}
    return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n"


FORMATS: Formats[Snapshot] = Formats({"text": _text, "json": _json, "markdown": _markdown})
