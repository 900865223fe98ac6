"""A report's action rows: the Markdown's folded table and the JSON's rows, one per resource.

`fold` folds a review's `ActionCount`s; `folded` and `json_rows` give the same from the rows
as the ledger holds them (`Review.listed`: in key order, times in microseconds), with no
datetime, `ActionCount` or sort per row. A report writes tens of thousands of rows, and
these were most of its work.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

from generator.review.analysis import ActionCount
from generator.review.ledger import Listed, busiest, moment

# One (service, method) on more resources than this is one folded row, with a few examples.
FOLD_OVER = 3
FOLD_EXAMPLES = 3
_SERVICE_METHOD = itemgetter(0, 1)
_COUNT, _DENIED, _FIRST, _LAST = itemgetter(3), itemgetter(4), itemgetter(5), itemgetter(6)
_DAY = 86_400_000_000  # microseconds
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))
_MINUTES = tuple(f"T{hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60))


def fold(actions: Sequence[ActionCount]) -> list[ActionCount]:
    """Actions of one (service, method) on many resources folded into one row.

    A row's resource then reads "N resources, e.g. a, b, c" with the summed counts and the
    first and last time; the JSON report keeps every resource.
    """
    groups: dict[tuple[str, str], list[ActionCount]] = {}
    for action in actions:
        groups.setdefault((action.service, action.method), []).append(action)
    rows = []
    for (service, method), group in groups.items():
        if len(group) <= FOLD_OVER:
            rows.extend(group)
            continue
        examples = ", ".join(a.resource or "?" for a in group[:FOLD_EXAMPLES])
        rows.append(
            ActionCount(
                service,
                method,
                f"{len(group):,} resources, e.g. {examples}",
                sum(a.count for a in group),
                sum(a.denied for a in group),
                min(a.first for a in group),
                max(a.last for a in group),
            )
        )
    return sorted(rows, key=lambda a: (-a.count, a.service, a.method, a.resource))


def folded(rows: Sequence[Listed]) -> list[ActionCount]:
    """`fold` of the `ActionCount`s these ledger rows are, from the ledger's key order
    (`Review.listed`): each (service, method) is one run of rows, and an `ActionCount` is made
    only for a row that is shown."""
    shown: list[ActionCount] = []
    for (service, method), run in groupby(rows, _SERVICE_METHOD):
        group = list(run)
        if len(group) <= FOLD_OVER:
            shown.extend(ActionCount(*row[:5], moment(row[5]), moment(row[6])) for row in group)
            continue
        examples = ", ".join(row[2] or "?" for row in busiest(group)[:FOLD_EXAMPLES])
        shown.append(
            ActionCount(
                service,
                method,
                f"{len(group):,} resources, e.g. {examples}",
                sum(map(_COUNT, group)),
                sum(map(_DENIED, group)),
                moment(min(map(_FIRST, group))),
                moment(max(map(_LAST, group))),
            )
        )
    return sorted(shown, key=lambda a: (-a.count, a.service, a.method, a.resource))


def json_rows(rows: Sequence[Listed]) -> list[dict[str, Any]]:
    """The JSON report's rows (`report._action_data` of each) of these ledger rows, in their
    order, with no `ActionCount` between: each time is written once from its microseconds
    (`iso_micros`), and a row whose first time is its last (an action done once) writes it
    once."""
    iso = iso_micros
    return [
        {
            "service": service,
            "method": method,
            "resource": resource,
            "count": count,
            "denied": denied,
            "first": (text := iso(first)),
            "last": text if last == first else iso(last),
        }
        for service, method, resource, count, denied, first, last in rows
    ]


def iso_micros(value: int) -> str:
    """`report._iso` of the instant `value` microseconds after the epoch (`ledger.micros`),
    with no datetime made: the day's text is made once a run (`_day`), the time of day read
    from tables of minutes and seconds, at half the cost of `isoformat`. `//` and `%` floor,
    so an instant before the epoch is written as `isoformat` writes it too."""
    rest = value % _DAY
    day, minute, second = _day(value // _DAY), _MINUTES[rest // 60_000_000], rest // 1_000_000
    if micro := rest % 1_000_000:
        return f"{day}{minute}{_TWO_DIGITS[second % 60]}.{str(1_000_000 + micro)[1:]}Z"
    return f"{day}{minute}{_TWO_DIGITS[second % 60]}Z"


@functools.cache
def _day(day: int) -> str:
    """`YYYY-MM-DD` of the day `day` days after the epoch, as `isoformat` writes it."""
    return moment(day * _DAY).date().isoformat()
