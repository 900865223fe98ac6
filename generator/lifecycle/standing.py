"""Where each of a person's requests stands: in review, pending, active, expired.

In: the requests in requests/ and archive/, which of them the current branch adds or changes,
and an instant. Out: one row per request, soonest-ending first. Pure: no disk, no clock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from generator.core.model import Request

IN_REVIEW, PENDING, ACTIVE, TO_ARCHIVE, EXPIRED = (
    "in review",
    "pending",
    "active",
    "expired, not yet archived",
    "expired",
)


@dataclass(frozen=True, slots=True)
class Standing:
    request: Request
    state: str
    archived: bool


def standings(
    current: Iterable[Request],
    archived: Iterable[Request],
    *,
    changed: Collection[str],
    now: datetime,
    recent: timedelta,
    person: str | None,
) -> list[Standing]:
    """`person`'s requests (everyone's when None); archived ones ended within `recent`."""
    rows = [Standing(r, _state(r, now, r.path in changed), False) for r in current]
    rows += [Standing(r, EXPIRED, True) for r in archived if r.window.expires > now - recent]
    if person is not None:
        rows = [row for row in rows if row.request.requester == person]
    return sorted(rows, key=lambda row: (row.request.window.expires, row.request.path))


def _state(request: Request, now: datetime, changed: bool) -> str:
    window = request.window
    if window.expires <= now:
        return TO_ARCHIVE
    if changed:
        return IN_REVIEW  # added or changed on this branch: not approved and applied yet
    if window.starts is not None and now < window.starts:
        return PENDING
    return ACTIVE
