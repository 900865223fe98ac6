"""What every audit log source offers, and the bookkeeping they share.

A source never raises out of `events()` for a failed read: it records a gap (what, which window,
why) and goes on with what it can still read, so a review can say INCOMPLETE instead of nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime
from typing import Protocol

from generator.core.model import Event


class EventSource(Protocol):
    """Audit events of some principals in [start, end), and a record of what could not be read."""

    @property
    def gaps(self) -> list[str]: ...

    @property
    def complete(self) -> bool: ...

    def events(
        self, principals: Collection[str], start: datetime, end: datetime
    ) -> Iterator[Event]: ...


class GapRecord:
    """The `gaps` / `complete` half of EventSource, shared by the sources."""

    def __init__(self) -> None:
        self.gaps: list[str] = []

    @property
    def complete(self) -> bool:
        return not self.gaps

    def record_gap(self, message: str) -> None:
        self.gaps.append(message)


class CombinedSource:
    """Several sources read one after the other (the hourly files of a Cloud Storage sink)."""

    def __init__(self, sources: Iterable[EventSource]) -> None:
        self.sources = tuple(sources)

    @property
    def gaps(self) -> list[str]:
        return [gap for source in self.sources for gap in source.gaps]

    @property
    def complete(self) -> bool:
        return all(source.complete for source in self.sources)

    def events(
        self, principals: Collection[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        for source in self.sources:
            yield from source.events(principals, start, end)


def wanted_principals(principals: Collection[str]) -> frozenset[str]:
    # Google treats email addresses case-insensitively; so do the reviews.
    return frozenset(p.strip().lower() for p in principals if p.strip())


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is refused, since its zone is a guess."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no UTC offset")
    return moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """UTC with a `Z`, microseconds only when there are some: the form every source expects."""
    moment = utc(moment)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond:06d}Z" if moment.microsecond else f"{text}Z"


def window_text(start: datetime, end: datetime) -> str:
    return f"[{rfc3339(start)}, {rfc3339(end)})"


def selected(event: Event, wanted: frozenset[str], start: datetime, end: datetime) -> bool:
    return event.principal.lower() in wanted and start <= event.timestamp < end
