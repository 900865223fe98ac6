"""The first pass over a review's events: each settled person's event tallied as it is read,
the rest parked, the policy changes, mintings and logins kept (see `analysis`).

A part of the log read elsewhere (another process, `shards`) is collected there by a
`Collector` of the same subjects and handed over whole (`Collector.part`, `Collector.absorb`).
Parts absorbed in the order of the read collect what reading them one after the other would:
counts and ledger rows add up, evidence is put in time order at the end, and the lists kept in
reading order (policy changes, mints, relays, logins, parked events) are joined in that order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from generator.core.audit_event import Event, Login
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
from generator.review.spool import EventSpool
from generator.review.subjects import ReviewSubject
from generator.review.tally import Counted, Judged, Reaches, Tally

# The spool's key for the events parked till the whole log is read.
READ = "read"


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
        reaches: Reaches = {}
        kept = self.spool if keep_events else None
        self.tallies = [
            Tally(
                s,
                grace,
                self.ledger,
                index,
                spool=kept,
                times=times,
                judged=judged,
                reaches=reaches,
            )
            for index, s in enumerate(link_windows(self.subjects))
        ]
        self.by_person = tallies_by_person(self.tallies)
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
            if not event.chain:  # most events: `named` is the caller, if wanted
                caller = event.principal.lower()
                if caller in settled:  # and `attributed` is the event itself
                    for tally in by_person[caller]:
                        tally.add(event)
                else:
                    spool.add(READ, event)
            else:
                self._feed_chained(event)
            if event.delta_conditions:
                self.policy_changes.append(event)
            if not credential_for(event):
                continue  # most events: no credential to follow
            mint = mint_of(event, by_person)
            if mint is not None:
                self.mints[mint.account].append(mint)
            elif (relay := relay_of(event)) is not None:
                self.relays.append(relay)

    def _feed_chained(self, event: Event) -> None:
        """`feed` for an event made through a chain of service accounts."""
        people = named(event, self.by_person)
        if people == [event.principal.lower()] and people[0] in self.settled:
            for tally in self.by_person[people[0]]:  # the caller alone: `attributed` is the event
                tally.add(event)
        elif people and self.settled.issuperset(people):
            tallied(event, self.by_person, {})
        else:
            self.spool.add(READ, event)

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


def tallies_by_person(tallies: Iterable[Tally]) -> dict[str, list[Tally]]:
    found: dict[str, list[Tally]] = defaultdict(list)
    for tally in tallies:
        found[tally.subject.principal].append(tally)
    return dict(found)


def tallied(
    event: Event, by_person: Mapping[str, list[Tally]], mints: Mapping[str, Sequence[Mint]]
) -> None:
    for mine in attributed(event, by_person.keys(), mints):
        for tally in by_person.get(mine.principal.lower(), ()):
            tally.add(mine)


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
