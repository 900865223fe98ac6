"""Per-grant action counts kept while the events stream past, so no report reads an event again.

Each event a grant's tally takes adds one to its (phase, service, method, resource) row: count,
denied, first and last time. The rows gather in memory up to `HELD` distinct ones and are then
merged into a SQLite file in a temporary directory that only this user can read (the resource
names are audit data), so memory does not grow with the number of distinct resources the
grantees touched. A report reads its grant's rows back, already counted, busiest first.

With `times`, the instants of each grant's actions in its window are kept too (the MFA check
ties every one of them to a login).

A review read in parts has a ledger per process: the part's file is attached to the whole read's
ledger (`absorb`), not merged into it, and each grant's rows are added up across the files when
they are listed. Merging is serial work after every part is read; the reports that list the rows
are written in two processes.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

from generator.core.writing import temporary_folder, writing

# Distinct rows (and instants) held in memory before they are merged into the file.
HELD = 4096
# Other ledgers' files attached at most (SQLite allows 10); past it, one is merged in.
ATTACHED = 8
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SCHEMA = (
    "CREATE TABLE actions (grant_key INTEGER, after INTEGER, service TEXT, method TEXT,"
    " resource TEXT, count INTEGER, denied INTEGER, first INTEGER, last INTEGER,"
    " PRIMARY KEY (grant_key, after, service, method, resource)) WITHOUT ROWID",
    "CREATE TABLE times (grant_key INTEGER, at INTEGER)",
    "CREATE INDEX times_of_grant ON times (grant_key, at)",
)
_MERGE = (
    "INSERT INTO actions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
    " count = count + excluded.count, denied = denied + excluded.denied,"
    " first = min(first, excluded.first), last = max(last, excluded.last)"
)
# A SELECT feeding an upsert needs a WHERE clause, lest ON be read as a join's.
_FOLD = (
    "INSERT INTO actions SELECT * FROM {part}.actions WHERE true ON CONFLICT DO UPDATE SET"
    " count = count + excluded.count, denied = denied + excluded.denied,"
    " first = min(first, excluded.first), last = max(last, excluded.last)"
)
# The primary key's order: SQLite walks it, sorting nothing (`busiest` sorts by count).
_LISTING = (
    "SELECT service, method, resource, count, denied, first, last FROM {table}.actions"
    " WHERE grant_key = ?1 AND after = ?2"
)
_ORDER = " ORDER BY service, method, resource"
_TIMES = "SELECT at FROM {table}.times WHERE grant_key = ?1"


def _listing(parts: int) -> str:
    """The rows of a grant and phase, in key order: added up across the attached files."""
    if not parts:
        return _LISTING.format(table="main") + _ORDER
    union = " UNION ALL ".join(_LISTING.format(table=table) for table in _tables(parts))
    # The schema names are lapse's own (main, part0, part1, ...), never text from an entry.
    summed = "SELECT service, method, resource, sum(count), sum(denied), min(first), max(last)"
    return f"{summed} FROM ({union}) GROUP BY service, method, resource{_ORDER}"


def _times(parts: int) -> str:
    """The instants of a grant, earliest first, from every attached file too."""
    union = " UNION ALL ".join(_TIMES.format(table=table) for table in _tables(parts))
    return f"{union} ORDER BY at"


def _tables(parts: int) -> list[str]:
    return ["main", *(f"part{n}" for n in range(parts))]


Key = tuple[int, bool, str, str, str]
Row = tuple[str, str, str, int, int, datetime, datetime]
# A row as the file holds it: its first and last times in microseconds since the epoch.
Listed = tuple[str, str, str, int, int, int, int]


_COUNT = itemgetter(3)


def busiest(listed: list[Listed]) -> list[Listed]:
    """Rows of `listing` busiest first, as `analysis.Review.actions` lists them: by count, then
    service, method and resource. The sort is stable and keeps the key order of equal counts:
    SQLite compares text as UTF-8 bytes, which orders as Python orders the code points."""
    return sorted(listed, key=_COUNT, reverse=True)


def micros(moment: datetime) -> int:
    """Microseconds since the epoch: exact for any aware datetime."""
    return (moment - _EPOCH) // _MICROSECOND


def moment(value: int) -> datetime:
    return _EPOCH + timedelta(0, 0, value)  # (days, seconds, microseconds): read positionally


class ActionLedger:
    def __init__(self) -> None:
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self._db: sqlite3.Connection | None = None
        self._path: Path | None = None
        self._inherited: sqlite3.Connection | None = None
        # [count, denied, first, last]: the instants kept as they came, turned into
        # microseconds once per row when merged rather than once per action.
        self._rows: dict[Key, list[Any]] = {}
        self._times: list[tuple[int, int]] = []
        self._parts: list[Path] = []  # other ledgers' files, attached as part0, part1, ...

    def add(self, key: Key, denied: bool, at: datetime) -> None:
        """One more action on `key`: (grant, after the window?, service, method, resource)."""
        row = self._rows.get(key)
        if row is None:
            self._rows[key] = [1, int(denied), at, at]
            if len(self._rows) >= HELD:
                self._merge()
            return
        row[0] += 1
        row[1] += denied
        if at < row[2]:
            row[2] = at
        elif at > row[3]:
            row[3] = at

    def add_time(self, grant: int, at: datetime) -> None:
        self._times.append((grant, micros(at)))
        if len(self._times) >= HELD:
            self._merge()

    def rows(self, grant: int, after: bool) -> Iterator[Row]:
        """The grant's rows of one phase, busiest first: by count, then service, method and
        resource."""
        for service, method, resource, count, denied, first, last in busiest(
            self.listing(grant, after)
        ):
            yield service, method, resource, count, denied, moment(first), moment(last)

    def listing(self, grant: int, after: bool) -> list[Listed]:
        """The grant's rows of one phase as the file holds them: in key order (service, method
        and resource), the times in microseconds (`micros`). A report writes tens of thousands
        of them, each time as text, and needs no datetime for most."""
        self._merge()
        if self._db is None:
            return []
        return self._db.execute(_listing(len(self._parts)), (grant, int(after))).fetchall()

    def times(self, grant: int) -> list[datetime]:
        """The instants kept with `add_time` for the grant, earliest first."""
        self._merge()
        if self._db is None:
            return []
        found = self._db.execute(_times(len(self._parts)), (grant,))
        return [moment(at) for (at,) in found]

    def stored(self) -> Path | None:
        """The file holding every row and instant so far (None: nothing was added), for
        another process's ledger to `absorb`: the attached files are merged into it first."""
        while self._parts:
            self._fold()
        return self._path if self.settled() else None

    def settled(self) -> bool:
        """Every row and instant in the files this ledger reads (False: nothing was added), so
        that a forked child can `reopen` them."""
        self._merge()
        if self._db is None:
            return False
        self._db.commit()
        return True

    def absorb(self, stored: Path) -> None:
        """Count the rows and instants of another ledger's file (`stored`) with these: counts
        add up, the first and last times are the earliest and the latest of both. The file is
        moved beside this ledger's own and attached; this ledger removes it."""
        self._merge()
        db = self._connection()
        if len(self._parts) == ATTACHED:
            self._fold()
        assert self._path is not None  # made with the connection
        kept = self._path.with_name(f"part{len(self._parts)}.sqlite")
        with writing(kept):
            shutil.move(stored, kept)
        db.execute(f"ATTACH DATABASE ? AS part{len(self._parts)}", (str(kept),))
        self._parts.append(kept)

    def _fold(self) -> None:
        """Merge the last attached file into this ledger's own, and detach it."""
        assert self._db is not None
        part = f"part{len(self._parts) - 1}"
        with self._db:
            self._db.execute(_FOLD.format(part=part))
            self._db.execute(f"INSERT INTO times SELECT * FROM {part}.times")  # noqa: S608
        self._db.execute(f"DETACH DATABASE {part}")
        with writing(self._parts[-1]):
            self._parts.pop().unlink()

    def reopen(self) -> None:
        """In a forked child, after `settled` in the parent: read the files through a
        connection of the child's own, as a connection must not cross a fork. The inherited one
        is kept, never used nor closed here."""
        if self._db is not None:
            self._inherited = self._db
            self._db = sqlite3.connect(self._path or "", check_same_thread=False)
            for number, part in enumerate(self._parts):
                self._db.execute(f"ATTACH DATABASE ? AS part{number}", (str(part),))

    def _merge(self) -> None:
        if not self._rows and not self._times:
            return
        db = self._connection()
        with db:
            # In key order, each row lands beside the last one written: a quarter less work.
            # `micros` written out: no function call for each instant.
            epoch, unit = _EPOCH, _MICROSECOND
            db.executemany(
                _MERGE,
                sorted(
                    (*key, count, denied, (first - epoch) // unit, (last - epoch) // unit)
                    for key, (count, denied, first, last) in self._rows.items()
                ),
            )
            db.executemany("INSERT INTO times VALUES (?, ?)", self._times)
        self._rows.clear()
        self._times.clear()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            # mkdtemp makes the directory readable by this user only.
            self._directory = temporary_folder("lapse-review-")
            self._path = Path(self._directory.name) / "actions.sqlite"
            self._db = sqlite3.connect(self._path, check_same_thread=False)
            # A scratch file: nothing to recover after a crash, so no journal and no syncs.
            self._db.execute("PRAGMA journal_mode = OFF")
            self._db.execute("PRAGMA synchronous = OFF")
            for statement in _SCHEMA:
                self._db.execute(statement)
        return self._db

    def __del__(self) -> None:
        if self._db is not None:
            self._db.close()
