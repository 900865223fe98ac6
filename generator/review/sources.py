"""What every audit log source offers, and the bookkeeping they share.

A source never raises out of `events()` for a failed read: it records a gap (what, which window,
why) and goes on with what it can still read, so a review can say INCOMPLETE instead of nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime
from typing import Protocol

from generator.core.audit_event import Event


class EventSource(Protocol):
    """Audit events of some principals in [start, end), and a record of what could not be read.

    `gaps` concern every review; `principal_gaps` only the named person's (an unreadable entry
    that names them), so one person's broken entries never mark another's review INCOMPLETE.
    """

    @property
    def gaps(self) -> list[str]: ...

    @property
    def principal_gaps(self) -> dict[str, list[str]]: ...

    @property
    def accounting(self) -> Accounting: ...

    @property
    def complete(self) -> bool: ...

    def events(
        self, principals: Collection[str], start: datetime, end: datetime
    ) -> Iterator[Event]: ...


@dataclass
class Accounting:
    """Where every entry read went: read = events + other principals + out of period + unreadable.

    `unreadable` keeps (where, why) for each entry that could not become an event.
    """

    read: int = 0
    events: int = 0
    other_principals: int = 0
    out_of_period: int = 0
    unreadable: list[tuple[str, str]] = dc_field(default_factory=list)

    @property
    def balanced(self) -> bool:
        accounted = self.events + self.other_principals + self.out_of_period
        return self.read == accounted + len(self.unreadable)

    def add(self, other: Accounting) -> None:
        self.read += other.read
        self.events += other.events
        self.other_principals += other.other_principals
        self.out_of_period += other.out_of_period
        self.unreadable.extend(other.unreadable)

    def summary(self) -> str:
        return (
            f"{self.read:,} {'entry' if self.read == 1 else 'entries'} read"
            f" = {self.events:,} of the reviewed people"
            f" + {self.other_principals:,} of other principals"
            f" + {self.out_of_period:,} outside the period"
            f" + {len(self.unreadable):,} unreadable"
        )


class GapRecord:
    """The `gaps` / `complete` half of EventSource, and the accounting, shared by the sources."""

    def __init__(self) -> None:
        self.gaps: list[str] = []
        self.principal_gaps: dict[str, list[str]] = {}
        self.accounting = Accounting()
        # Each service account a wanted person minted credentials for, and the earliest minting.
        self.minted: dict[str, datetime] = {}

    @property
    def complete(self) -> bool:
        return not self.gaps

    def record_gap(self, message: str) -> None:
        self.gaps.append(message)

    def record_principal_gap(self, principals: Iterable[str], message: str) -> None:
        for principal in principals:
            self.principal_gaps.setdefault(principal.lower(), []).append(message)

    def account(
        self, read: Event | str, where: str, wanted: set[str], start: datetime, end: datetime
    ) -> Event | None:
        """Counts one entry read; the event when it is a wanted person's, inside [start, end).

        A wanted person minting a service account's credentials makes that account wanted
        from then on: its activity may be theirs (the analysis decides by the token's life).
        """
        if isinstance(read, str):
            self.accounting.read += 1
            self.accounting.unreadable.append((where, read))
            return None
        return self.account_event(read, wanted, start, end)

    def account_event(
        self, read: Event, wanted: set[str], start: datetime, end: datetime
    ) -> Event | None:
        """`account` for an entry read as an Event (so never unreadable)."""
        self.accounting.read += 1
        # `concerns` answers yes at once for a wanted caller: most events read are theirs.
        if read.principal.lower() not in wanted and not concerns(
            read.principal, read.chain, read.delta_conditions, wanted
        ):
            self.accounting.other_principals += 1
            return None
        if not start <= read.timestamp < end:
            self.accounting.out_of_period += 1
            return None
        self.accounting.events += 1
        minted = minted_account(read)
        if minted:
            wanted.add(minted)
            if minted not in self.minted or read.timestamp < self.minted[minted]:
                self.minted[minted] = read.timestamp
        return read


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

    @property
    def principal_gaps(self) -> dict[str, list[str]]:
        merged: dict[str, list[str]] = {}
        for source in self.sources:
            for principal, gaps in source.principal_gaps.items():
                merged.setdefault(principal, []).extend(gaps)
        return merged

    @property
    def accounting(self) -> Accounting:
        total = Accounting()
        for source in self.sources:
            total.add(source.accounting)
        return total

    def events(
        self, principals: Collection[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        """Each file's events in turn. A service account a wanted person minted credentials
        for in one file is wanted in the files after it too: a token minted at 10:59 is used
        in the next hour's file."""
        asked = set(principals)
        for source in self.sources:
            yield from source.events(asked, start, end)
            asked.update(getattr(source, "minted", ()))


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


def involves(event: Event, wanted: Collection[str]) -> bool:
    """True when the person behind the event, or a link of its chain, is wanted."""
    return names_wanted(event.principal, event.chain, wanted)


def names_wanted(person: str, chain: Iterable[str], wanted: Collection[str]) -> bool:
    if person.lower() in wanted:
        return True
    return any(link.lower() in wanted for link in chain)


def concerns(
    person: str, chain: Iterable[str], titles: Iterable[str], wanted: Collection[str]
) -> bool:
    """Whether an entry is read for a review: a wanted person acted, or it changed a binding
    whose condition lapse wrote (`lapse/<id>/...`: whoever applied it, it dates a window)."""
    return names_wanted(person, chain, wanted) or any(t.startswith("lapse/") for t in titles)


# Calls that hand the caller a service account's credentials: the account's activity during the
# credential's lifetime is the caller's.
MINTING_METHODS = ("GenerateAccessToken", "SignJwt", "SignBlob", "GenerateIdToken")


def minted_account(event: Event) -> str:
    """The service account whose credentials the event handed out ("" when none)."""
    if event.status_code != 0 or not event.method.endswith(MINTING_METHODS):
        return ""
    name = event.resource_name
    marker = "serviceAccounts/"
    return name[name.index(marker) + len(marker) :].lower() if marker in name else ""
