"""Reading on after a credential was minted, for the sources that query by principal.

A source asks the service for the entries of the principals it knows when the read starts. When
a wanted person mints credentials for a service account during the read (`sources.account`
notes the account and the earliest minting), that account's entries were never asked for: the
source reads again, for the accounts first noted, from their minting on, and again until a read
notes no account it has not read. Each principal is read once, so the reads end.

An entry can come back in a later read: a call the person made through a service account names
both (read once for the person, again for the account), and every read carries the entries that
change a lapse binding. `Reads.first_time` tells them apart by (logName, insertId). Only the keys
of entries that can come back are kept: those naming someone not read yet, those that change a
lapse binding, and unreadable ones (whose names are unknown), so memory follows those alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from generator.core.audit_event import Event


@dataclass(frozen=True, slots=True)
class Read:
    """One read a source makes: these principals' entries in [start, the review's end)."""

    start: datetime
    principals: frozenset[str]


class Reads:
    """The reads of one review: the principals asked for, then each minted account once."""

    def __init__(self, principals: Iterable[str], start: datetime) -> None:
        self._first = Read(start, frozenset(principals))
        self._planned: set[str] = set(self._first.principals)
        self._asked: set[str] = set()
        self._kept: set[tuple[str, str]] = set()

    def each(self, minted: Mapping[str, datetime]) -> Iterator[Read]:
        """The first read, then the reads `minted` (filled in while reading) calls for.

        Accounts minted at the same moment share a read; each read starts at its minting.
        """
        for found in self.rounds(minted):
            yield from found

    def rounds(self, minted: Mapping[str, datetime]) -> Iterator[tuple[Read, ...]]:
        """The first read, then per round the reads of the accounts the round before noted.

        A source that can bound each principal's entries by its own start in one scan reads
        a round at once (`bigquery_source`); the next round is known once it is all read.
        """
        pending = [self._first]
        while pending:
            yield tuple(pending)
            fresh = {account: at for account, at in minted.items() if account not in self._planned}
            self._planned.update(fresh)
            by_start: dict[datetime, set[str]] = defaultdict(set)
            for account, at in fresh.items():
                by_start[at].add(account)
            pending = [Read(at, frozenset(accounts)) for at, accounts in sorted(by_start.items())]

    def asking(self, principals: Iterable[str]) -> None:
        """Say that the service is now asked for these principals' entries."""
        self._asked.update(principals)

    def first_time(self, key: tuple[str, str], read: Event | str) -> bool:
        """False when an earlier read already handed out this entry (it was counted then)."""
        if not key[1]:
            return True  # no insertId: nothing to know it by
        if key in self._kept:
            return False
        if self._can_return(read):
            self._kept.add(key)
        return True

    def _can_return(self, read: Event | str) -> bool:
        if isinstance(read, str):
            return True
        if any(title.startswith("lapse/") for title in read.delta_conditions):
            return True
        names = (read.principal, *read.chain)
        return any(name.lower() not in self._asked for name in names if name)


def entry_key(entry: object) -> tuple[str, str]:
    """(logName, insertId) of a raw entry, ("", "") when it has none."""
    if not isinstance(entry, Mapping):
        return "", ""
    log_name, insert_id = entry.get("logName"), entry.get("insertId")
    return (
        log_name if isinstance(log_name, str) else "",
        insert_id if isinstance(insert_id, str) else "",
    )
