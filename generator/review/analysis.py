"""What a grantee did with a grant, compared with what was approved.

Each of the grantee's events from the window start on (see `attribution` for whose events are
whose) is put in one phase — in the window, in the grace period after expiry (IAM takes minutes
to apply a condition's end), or after — and judged by `verdicts`; a window with no event at all
is an INFO finding. An event inside another grant of the same person counts in both reviews;
each report says so, and an action this grant does not explain but the other one does is named
as such (INFO) rather than as a deviation.

The events stream past once, each decoded once. A person whose every window has its `starts`
needs nothing the rest of the log says: their events go to their grants' tallies as they are
read. The others (a window dated by its binding, a service account's use of a credential the
person minted) are parked in a spool, with what dates the windows and who held which
credential; once the whole log is read, a second pass hands each parked event to the tallies of
the grants it belongs to. A review keeps counts and findings, and its per-action counts in a
ledger (`ledger`); its events are read back only when the caller kept them (`keep_events`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from generator.core.audit_event import Event
from generator.core.model import Finding, Severity
from generator.review.collector import (
    READ,
    Collected,
    collect,
    link_windows,
    tallied,
    tallies_by_person,
    with_binding_times,
)
from generator.review.ledger import ActionLedger, Listed
from generator.review.logins import MfaEvidence
from generator.review.spool import EventSpool
from generator.review.subjects import ReviewSubject
from generator.review.tally import (
    NO_ACTIVITY,
    SEVERITY_ORDER,
    Tally,
    denied,
    resource_of,
)
from generator.review.verdicts import Phase

__all__ = [
    "NO_ACTIVITY",
    "SEVERITY_ORDER",
    "ActionCount",
    "Collected",
    "Phase",
    "Review",
    "ReviewSubject",
    "collect",
    "link_windows",
    "review",
    "review_all",
    "with_binding_times",
]


@dataclass(frozen=True, slots=True)
class ActionCount:
    service: str
    method: str
    resource: str
    count: int
    denied: int
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class Review:
    subject: ReviewSubject
    window_start: datetime | None
    window_end: datetime
    grace: timedelta
    count_in_window: int
    count_after: int
    first_event_at: datetime | None
    findings: tuple[Finding, ...]
    gaps: tuple[str, ...] = ()
    spool: EventSpool | None = field(default=None, compare=False, repr=False)
    spool_key: str = ""
    ledger: ActionLedger | None = field(default=None, compare=False, repr=False)
    ledger_key: int = 0
    # Reports on main are never rewritten (LAPSE151): a grant reviewed again gets edition 2, ...
    edition: int = 1
    mfa: MfaEvidence | None = None  # None: the policy asks for none (`review.mfa`)

    @property
    def complete(self) -> bool:
        return not self.gaps

    @property
    def worst(self) -> Severity | None:
        return min((f.severity for f in self.findings), key=SEVERITY_ORDER.index, default=None)

    @property
    def events_in_window(self) -> tuple[Event, ...]:
        """Read back from the spool: only for a caller that kept the events (`keep_events`)."""
        return _in_order(e for e in self._events() if e.timestamp < self.window_end)

    @property
    def events_after(self) -> tuple[Event, ...]:
        return _in_order(e for e in self._events() if e.timestamp >= self.window_end)

    @property
    def actions(self) -> tuple[ActionCount, ...]:
        return self._actions(after=False)

    @property
    def actions_after(self) -> tuple[ActionCount, ...]:
        return self._actions(after=True)

    @property
    def times_in_window(self) -> list[datetime]:
        """When each action in the window happened, earliest first: from the kept events, else
        from the ledger (a review collected with `times`)."""
        if self.spool is not None:
            return sorted(e.timestamp for e in self.events_in_window)
        return self.ledger.times(self.ledger_key) if self.ledger is not None else []

    def listed(self, *, after: bool) -> list[Listed]:
        """`actions` (or `actions_after`) as the ledger holds them (`ActionLedger.listing`):
        in key order, times in microseconds. The reports read them so, with no datetime nor
        `ActionCount` per row."""
        if self.ledger is None:
            return []
        return self.ledger.listing(self.ledger_key, after)

    def _actions(self, *, after: bool) -> tuple[ActionCount, ...]:
        if self.ledger is None:
            return ()
        # The ledger gives them busiest first, as `_busiest` orders them.
        return tuple(ActionCount(*row) for row in self.ledger.rows(self.ledger_key, after))

    def _events(self) -> Iterator[Event]:
        return self.spool.read(self.spool_key) if self.spool else iter(())


def review(
    subject: ReviewSubject,
    events: Iterable[Event],
    *,
    grace: timedelta,
    gaps: Sequence[str] = (),
    spool: EventSpool | None = None,
) -> Review:
    """The review of one request from the grantee's events (other principals' are ignored)."""
    tally = Tally(subject, grace, ActionLedger(), 0, spool=spool or EventSpool())
    for event in events:
        tally.add(event)
    return _finished(tally, gaps)


def review_collected(
    collected: Collected,
    *,
    gaps: Sequence[str] = (),
    principal_gaps: Mapping[str, Sequence[str]] | None = None,
) -> list[Review]:
    """The second pass: each parked event to the tallies of the grants it belongs to."""
    by_person = tallies_by_person(collected.tallies)
    for event in collected.spool.read(READ):
        tallied(event, by_person, collected.mints)
    personal = principal_gaps or {}
    return [
        _finished(t, (*gaps, *personal.get(t.subject.principal, ()))) for t in collected.tallies
    ]


def review_all(
    subjects: Iterable[ReviewSubject],
    events: Iterable[Event],
    *,
    grace: timedelta,
    gaps: Sequence[str] = (),
    principal_gaps: Mapping[str, Sequence[str]] | None = None,
) -> list[Review]:
    """One review per subject from one stream of events, each keeping its events.

    The sources' `gaps` apply to every review, `principal_gaps` to the named person's only.
    """
    collected = collect(subjects, events, grace=grace)
    return review_collected(collected, gaps=gaps, principal_gaps=principal_gaps)


def _finished(tally: Tally, gaps: Sequence[str]) -> Review:
    if tally.spool is not None:
        tally.spool.flush()
    return Review(
        subject=tally.subject,
        window_start=tally.subject.window_start,
        window_end=tally.subject.request.window.expires,
        grace=tally.grace,
        count_in_window=tally.in_window,
        count_after=tally.after,
        first_event_at=tally.first_at,
        findings=tally.findings(),
        gaps=tuple(gaps),
        spool=tally.spool,
        spool_key=str(tally.key),
        ledger=tally.ledger,
        ledger_key=tally.key,
    )


def _in_order(events: Iterable[Event]) -> tuple[Event, ...]:
    return tuple(sorted(events, key=lambda e: (e.timestamp, e.insert_id)))


def fetch_window(
    subjects: Iterable[ReviewSubject], *, until: datetime, longest: timedelta = timedelta(days=1)
) -> tuple[frozenset[str], datetime, datetime]:
    """Principals and [start, until) to read so that every subject's window is covered.

    A window with no known start is read from `longest` (the policy's longest duration) before
    its expiry.
    """
    subjects = list(subjects)
    if not subjects:
        return frozenset(), until, until
    starts = [s.window_start or s.request.window.expires - longest for s in subjects]
    return frozenset(s.principal for s in subjects), min(starts), until


def action_counts(events: Iterable[Event]) -> tuple[ActionCount, ...]:
    """Events grouped by (service, method, resource), busiest first; in any order."""
    groups: dict[tuple[str, str, str], _Group] = {}
    for event in events:
        key = (event.service, event.method, resource_of(event))
        group = groups.get(key)
        if group is None:
            groups[key] = _Group(event)
        else:
            group.add(event)
    return _busiest(
        ActionCount(*key, g.count, g.denied, g.first, g.last) for key, g in groups.items()
    )


def _busiest(counts: Iterable[ActionCount]) -> tuple[ActionCount, ...]:
    return tuple(sorted(counts, key=lambda a: (-a.count, a.service, a.method, a.resource)))


class _Group:
    __slots__ = ("count", "denied", "first", "last")

    def __init__(self, event: Event) -> None:
        self.count, self.denied = 1, int(denied(event))
        self.first = self.last = event.timestamp

    def add(self, event: Event) -> None:
        self.count += 1
        self.denied += denied(event)
        self.first = min(self.first, event.timestamp)
        self.last = max(self.last, event.timestamp)


def severity_counts(findings: Iterable[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)
