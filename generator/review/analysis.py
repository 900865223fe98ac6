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

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from generator.core.model import Event, Finding, Login, Severity
from generator.review.attribution import (
    Mint,
    attributed,
    binding_appeared,
    credential_for,
    handed_on,
    mint_of,
    named,
    relay_of,
)
from generator.review.events import LOGIN_SERVICE
from generator.review.ledger import ActionLedger
from generator.review.logins import MfaEvidence
from generator.review.spool import EventSpool
from generator.review.subjects import ReviewSubject
from generator.review.tally import (
    NO_ACTIVITY,
    SEVERITY_ORDER,
    Counted,
    Judged,
    Tally,
    denied,
    resource_of,
)
from generator.review.verdicts import Phase

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

    def _actions(self, *, after: bool) -> tuple[ActionCount, ...]:
        if self.ledger is None:
            return ()
        return _busiest(ActionCount(*row) for row in self.ledger.rows(self.ledger_key, after))

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


@dataclass(frozen=True, slots=True)
class Collected:
    """The first pass over the events: the subjects, dated and linked, who minted what, the
    tallies (holding every settled person's events already), and the events left for later."""

    subjects: list[ReviewSubject]
    mints: Mapping[str, Sequence[Mint]]
    spool: EventSpool
    # Login Audit entries the source carried, by person: how sessions began, not use.
    logins: Mapping[str, list[Login]] = field(default_factory=dict)
    tallies: list[Tally] = field(default_factory=list)


def collect(
    subjects: Iterable[ReviewSubject],
    events: Iterable[Event],
    spool: EventSpool | None = None,
    *,
    grace: timedelta,
    keep_events: bool = True,
    times: bool = False,
) -> Collected:
    """Tally the settled people's events, park the rest, keep the policy changes and mints.

    `keep_events` parks every grant's events too, for `Review.events_in_window`; `times` keeps
    the instants of the actions in each window (for the MFA check) without them.
    """
    collector = Collector(subjects, spool, grace=grace, keep_events=keep_events, times=times)
    collector.feed(events)
    return collector.collected()


class Collector:
    """`collect`, one event at a time: the first pass over a read, which may come in parts.

    A part read elsewhere (another process, `shards`) is collected there by a Collector of the
    same subjects and handed over whole (`part`, `absorb`). Parts absorbed in the order of the
    read collect what reading them one after the other would: counts and ledger rows add up,
    evidence is put in time order at the end, and the lists kept in reading order (policy
    changes, mints, relays, logins, parked events) are joined in that order.
    """

    def __init__(
        self,
        subjects: Iterable[ReviewSubject],
        spool: EventSpool | None = None,
        *,
        grace: timedelta,
        keep_events: bool = True,
        times: bool = False,
    ) -> None:
        self.spool = spool or EventSpool()
        self.subjects = list(subjects)
        self.ledger = ActionLedger()
        judged: Judged = {}
        kept = self.spool if keep_events else None
        self.tallies = [
            Tally(s, grace, self.ledger, index, spool=kept, times=times, judged=judged)
            for index, s in enumerate(link_windows(self.subjects))
        ]
        self.by_person = _by_person(self.tallies)
        # Every window of theirs starts at its `starts`: nothing later in the log changes how
        # their own events are judged (a credential they minted is another principal's events).
        self.settled = {
            person
            for person, mine in self.by_person.items()
            if all(t.subject.request.window.starts is not None for t in mine)
        }
        self.policy_changes: list[Event] = []
        self.mints: dict[str, list[Mint]] = defaultdict(list)
        self.relays: list[Mint] = []  # credentials other principals minted: handed on, maybe
        self.logins: dict[str, list[Login]] = defaultdict(list)

    def feed(self, events: Iterable[Event]) -> None:
        by_person, settled, spool = self.by_person, self.settled, self.spool
        for event in events:
            if event.service == LOGIN_SERVICE:
                if event.login is not None:
                    self.logins[event.principal.lower()].append(event.login)
                continue
            people = named(event, by_person)
            if people == [event.principal.lower()] and people[0] in settled:
                for tally in by_person[people[0]]:  # the caller alone: `attributed` is the event
                    tally.add(event)
            elif people and settled.issuperset(people):
                _tallied(event, by_person, {})
            else:
                spool.add(_READ, event)
            if event.delta_conditions:
                self.policy_changes.append(event)
            if not credential_for(event):
                continue  # most events: no credential to follow
            mint = mint_of(event, by_person)
            if mint is not None:
                self.mints[mint.account].append(mint)
            elif (relay := relay_of(event)) is not None:
                self.relays.append(relay)

    def part(self) -> CollectedPart:
        """What this collector holds, to be absorbed by the collector of the whole read."""
        self.spool.flush()
        return CollectedPart(
            tallies=[t.counted() for t in self.tallies],
            ledger=self.ledger.stored(),
            spool=self.spool.files(),
            policy_changes=self.policy_changes,
            mints=dict(self.mints),
            relays=self.relays,
            logins=dict(self.logins),
        )

    def absorb(self, part: CollectedPart) -> None:
        """Add a part collected elsewhere after what this collector has seen."""
        for tally, counted in zip(self.tallies, part.tallies, strict=True):
            tally.absorb(counted)
        if part.ledger is not None:
            self.ledger.absorb(part.ledger)
        for key, path in part.spool.items():
            self.spool.absorb(key, path)
        self.policy_changes.extend(part.policy_changes)
        for account, mints in part.mints.items():
            self.mints[account].extend(mints)
        self.relays.extend(part.relays)
        for person, logins in part.logins.items():
            self.logins[person].extend(logins)

    def collected(self) -> Collected:
        subjects, tallies = self.subjects, self.tallies
        dated = link_windows(with_binding_times(subjects, self.policy_changes))
        for tally, subject in zip(tallies, dated, strict=True):
            tally.subject = subject  # a settled person's is the same but for the binding's time
        return Collected(
            dated, handed_on(self.mints, self.relays), self.spool, dict(self.logins), tallies
        )


@dataclass(frozen=True, slots=True)
class CollectedPart:
    """A `Collector`'s state, as one process hands it to another: counts, findings and small
    lists in memory, the ledger's rows and the parked events as files."""

    tallies: list[Counted]
    ledger: Path | None
    spool: dict[str, Path]
    policy_changes: list[Event]
    mints: dict[str, list[Mint]]
    relays: list[Mint]
    logins: dict[str, list[Login]]


def review_collected(
    collected: Collected,
    *,
    gaps: Sequence[str] = (),
    principal_gaps: Mapping[str, Sequence[str]] | None = None,
) -> list[Review]:
    """The second pass: each parked event to the tallies of the grants it belongs to."""
    by_person = _by_person(collected.tallies)
    for event in collected.spool.read(_READ):
        _tallied(event, by_person, collected.mints)
    personal = principal_gaps or {}
    return [
        _finished(t, (*gaps, *personal.get(t.subject.principal, ()))) for t in collected.tallies
    ]


def _by_person(tallies: Iterable[Tally]) -> dict[str, list[Tally]]:
    found: dict[str, list[Tally]] = defaultdict(list)
    for tally in tallies:
        found[tally.subject.principal].append(tally)
    return dict(found)


def _tallied(
    event: Event, by_person: Mapping[str, list[Tally]], mints: Mapping[str, Sequence[Mint]]
) -> None:
    for mine in attributed(event, by_person.keys(), mints):
        for tally in by_person.get(mine.principal.lower(), ()):
            tally.add(mine)


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
