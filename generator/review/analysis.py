"""What a grantee did with a grant, compared with what was approved.

Each of the grantee's events from the window start on (see `attribution` for whose events are
whose) is put in one phase — in the window, in the grace period after expiry (IAM takes minutes
to apply a condition's end), or after — and judged by `verdicts`; a window with no event at all
is an INFO finding. An event inside another grant of the same person counts in both reviews;
each report says so, and an action this grant does not explain but the other one does is named
as such (INFO) rather than as a deviation.

The events stream: a first pass parks them in a spool and keeps only what dates the windows
and who held which credential; a second pass hands each to the tallies of the grants it belongs
to. A review keeps counts and findings; its events and actions are read back from the spool
when asked for, one grant at a time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from generator.core.model import Event, Finding, Login, Severity
from generator.review.attribution import (
    Mint,
    attributed,
    binding_appeared,
    handed_on,
    mint_of,
    relay_of,
)
from generator.review.events import LOGIN_SERVICE
from generator.review.logins import MfaEvidence
from generator.review.spool import EventSpool
from generator.review.subjects import ReviewSubject
from generator.review.tally import NO_ACTIVITY, SEVERITY_ORDER, Tally
from generator.review.verdicts import PERMISSION_DENIED, Phase

__all__ = [
    "NO_ACTIVITY",
    "SEVERITY_ORDER",
    "ActionCount",
    "Phase",
    "Review",
    "ReviewSubject",
    "review",
    "review_all",
]

_READ = "read"


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
        """Read back from the spool: only for a caller that wants every event."""
        return _in_order(e for e in self._events() if e.timestamp < self.window_end)

    @property
    def events_after(self) -> tuple[Event, ...]:
        return _in_order(e for e in self._events() if e.timestamp >= self.window_end)

    @property
    def actions(self) -> tuple[ActionCount, ...]:
        return action_counts(e for e in self._events() if e.timestamp < self.window_end)

    @property
    def actions_after(self) -> tuple[ActionCount, ...]:
        return action_counts(e for e in self._events() if e.timestamp >= self.window_end)

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
    tally = Tally(subject, grace, spool or EventSpool(), "grant")
    for event in events:
        tally.add(event)
    return _finished(tally, gaps)


@dataclass(frozen=True, slots=True)
class Collected:
    """The first pass over the events: the subjects, dated and linked, and who minted what."""

    subjects: list[ReviewSubject]
    mints: Mapping[str, Sequence[Mint]]
    spool: EventSpool
    # Login Audit entries the source carried, by person: how sessions began, not use.
    logins: Mapping[str, list[Login]] = field(default_factory=dict)


def collect(
    subjects: Iterable[ReviewSubject], events: Iterable[Event], spool: EventSpool | None = None
) -> Collected:
    """Park every event, keeping only the policy changes and the credentials minted."""
    spool = spool or EventSpool()
    subjects = list(subjects)
    wanted = {s.principal for s in subjects}
    policy_changes: list[Event] = []
    mints: dict[str, list[Mint]] = defaultdict(list)
    relays: list[Mint] = []  # credentials other principals minted: handed on, maybe
    logins: dict[str, list[Login]] = defaultdict(list)
    for event in events:
        if event.service == LOGIN_SERVICE:
            if event.login is not None:
                logins[event.principal.lower()].append(event.login)
            continue
        spool.add(_READ, event)
        if event.delta_conditions:
            policy_changes.append(event)
        mint = mint_of(event, wanted)
        if mint is not None:
            mints[mint.account].append(mint)
        elif (relay := relay_of(event)) is not None:
            relays.append(relay)
    dated = link_windows(with_binding_times(subjects, policy_changes))
    return Collected(dated, handed_on(mints, relays), spool, dict(logins))


def review_collected(
    collected: Collected,
    *,
    grace: timedelta,
    gaps: Sequence[str] = (),
    principal_gaps: Mapping[str, Sequence[str]] | None = None,
) -> list[Review]:
    """The second pass: each parked event to the tallies of the grants it belongs to."""
    tallies = [
        Tally(s, grace, collected.spool, f"grant-{index}")
        for index, s in enumerate(collected.subjects)
    ]
    by_person: dict[str, list[Tally]] = defaultdict(list)
    for tally in tallies:
        by_person[tally.subject.principal].append(tally)
    for event in collected.spool.read(_READ):
        for mine in attributed(event, by_person.keys(), collected.mints):
            for tally in by_person.get(mine.principal.lower(), ()):
                tally.add(mine)
    personal = principal_gaps or {}
    return [_finished(t, (*gaps, *personal.get(t.subject.principal, ()))) for t in tallies]


def review_all(
    subjects: Iterable[ReviewSubject],
    events: Iterable[Event],
    *,
    grace: timedelta,
    gaps: Sequence[str] = (),
    principal_gaps: Mapping[str, Sequence[str]] | None = None,
) -> list[Review]:
    """One review per subject from one stream of events.

    The sources' `gaps` apply to every review, `principal_gaps` to the named person's only.
    """
    collected = collect(subjects, events)
    return review_collected(collected, grace=grace, gaps=gaps, principal_gaps=principal_gaps)


def _finished(tally: Tally, gaps: Sequence[str]) -> Review:
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
        spool_key=tally.key,
    )


def _in_order(events: Iterable[Event]) -> tuple[Event, ...]:
    return tuple(sorted(events, key=lambda e: (e.timestamp, e.insert_id)))


def with_binding_times(
    subjects: Iterable[ReviewSubject], events: Sequence[Event]
) -> list[ReviewSubject]:
    """The subjects, each with the time its binding appeared when the logs show it."""
    policy_changes = [e for e in events if e.delta_conditions]
    found = []
    for s in subjects:
        appeared = binding_appeared(s, policy_changes)
        found.append(
            replace(s, binding_at=appeared[0], binding_entry=appeared[1]) if appeared else s
        )
    return found


def link_windows(subjects: Iterable[ReviewSubject]) -> list[ReviewSubject]:
    """The subjects, each told about the other grants of the same person."""
    subjects = [replace(s, others=()) for s in subjects]
    by_person: dict[str, list[ReviewSubject]] = defaultdict(list)
    for s in subjects:
        by_person[s.principal].append(s)
    return [
        replace(
            s,
            others=tuple(o for o in by_person[s.principal] if o.request.id != s.request.id),
        )
        for s in subjects
    ]


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
        key = (event.service, event.method, _resource_of(event))
        group = groups.get(key)
        if group is None:
            groups[key] = _Group(event)
        else:
            group.add(event)
    counts = [ActionCount(*key, g.count, g.denied, g.first, g.last) for key, g in groups.items()]
    return tuple(sorted(counts, key=lambda a: (-a.count, a.service, a.method, a.resource)))


class _Group:
    __slots__ = ("count", "denied", "first", "last")

    def __init__(self, event: Event) -> None:
        self.count, self.denied = 1, int(_denied(event))
        self.first = self.last = event.timestamp

    def add(self, event: Event) -> None:
        self.count += 1
        self.denied += _denied(event)
        self.first = min(self.first, event.timestamp)
        self.last = max(self.last, event.timestamp)


def _resource_of(event: Event) -> str:
    if event.resource_name:
        return event.resource_name
    return next((r for _, r, _ in event.permissions if r), "")


def _denied(event: Event) -> bool:
    return event.status_code == PERMISSION_DENIED or any(not g for _, _, g in event.permissions)


def severity_counts(findings: Iterable[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)
