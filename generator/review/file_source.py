"""Audit entries from an exported file: JSON lines (Cloud Storage sink) or a JSON array
(`gcloud logging read --format=json`), optionally gzip-compressed.

The file is streamed: memory stays flat however large it is. Most lines of a real export belong to
other principals (service accounts, other people): `whose.others_only` tells them apart from the
few fields that name the parties; the plain lines of the people under review are read in one
typed decode (`plain_entry`), and only the rest are parsed whole.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import zlib
from collections.abc import Collection, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from generator.core.audit_event import Event
from generator.core.writing import cause
from generator.review import file_parts
from generator.review.events import actor, read_entry
from generator.review.file_parts import (
    MAX_LINE_GAPS,
    Deferred,
    FileRead,
    FileRecord,
    Part,
    PartState,
    Slice,
)
from generator.review.json_stream import ArrayScanner, ByteStream, Malformed, Unreadable
from generator.review.plain_entry import read_plain
from generator.review.sources import GapRecord, utc, wanted_principals, window_text
from generator.review.whose import others_only

# The keys that name a principal, looked for on lines that are not JSON (see `_unparsed`).
_KEYS = (b'"principalEmail"', b'"principalSubject"')
# Bytes read from the file at a time. Splitting an export into lines through the default 8 KiB
# buffer took 0.083 s of CPU for 125,000 lines (150 MB), through this one 0.041 s.
READ_BUFFER = 256 * 1024


class FileSource(GapRecord):
    """Events from one exported file; `.gz` (by content) is decompressed on the fly.

    Three layouts are read alike: JSON lines, a JSON array, and JSON objects one after the
    other (pretty-printed, as `gcloud logging read` or a hand-saved entry has them).
    """

    def __init__(self, path: str | Path, *, shown: str = "") -> None:
        super().__init__()
        self.path = Path(path)
        # How gaps and the accounting name the file: reports are committed, local paths are not.
        self.shown = shown or str(self.path)
        self._bad_lines = 0
        self._deferred: Deferred | None = None
        self._line = 0  # the number of the last line read
        self._read = False  # read whole, in this process or (`restore`) another

    def events(
        self, principals: Collection[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        wanted = self.begin(principals)
        start, end = utc(start), utc(end)
        with self.reading(start, end), ExitStack() as stack:
            stream = _open(self.path, stack)
            yield from self._events(stream, wanted, start, end)
        self.end()

    def begin(self, principals: Collection[str]) -> set[str]:
        """Start a read: nothing counted yet; the people wanted, to which it adds the accounts
        they mint credentials for, as it meets the minting."""
        self._bad_lines = 0
        self._line = 0
        return set(wanted_principals(principals))

    @contextmanager
    def reading(self, start: datetime, end: datetime) -> Iterator[None]:
        """A failed read is a gap, and ends the read of the file (or of the part)."""
        try:
            yield
        except OSError as exc:
            why = cause(exc)
            self.record_gap(f"{self.shown}: read failed for {window_text(start, end)}: {why}")
        except (EOFError, zlib.error) as exc:
            self.record_gap(f"{self.shown}: read failed for {window_text(start, end)}: {exc}")
        except Malformed as exc:
            self.record_gap(f"{self.shown}: {exc}; the rest of the file was not read")

    def end(self) -> None:
        """Finish a read: what only the whole read can say."""
        self._read = True
        if self.accounting.read == 0 and not self.gaps:
            self.record_gap(f"{self.shown}: the export holds no entries at all")
        if self._bad_lines > MAX_LINE_GAPS:
            hidden = self._bad_lines - MAX_LINE_GAPS
            self.record_gap(f"{self.shown}: {hidden} more unreadable lines")
        self.principal_gaps = {p: list(dict.fromkeys(g)) for p, g in self.principal_gaps.items()}

    def split(
        self, principals: Collection[str], start: datetime, end: datetime, count: int
    ) -> FileRead | None:
        """A read of the file in `count` parts (`shards`), or None when it cannot be cut."""
        parts = self.parts(count)
        if parts is None:
            return None
        return FileRead(self, self.begin(principals), utc(start), utc(end), parts)

    def parts(self, count: int, smallest: int | None = None) -> list[Part] | None:
        """The file cut into up to `count` parts at line starts, each read as the whole file
        would read its lines, when it is JSON lines, not compressed, and at least `smallest`
        bytes (`PART_BYTES`) a part; else None (read it whole)."""
        smallest = file_parts.PART_BYTES if smallest is None else smallest
        try:
            with self.path.open("rb") as raw:
                size = os.fstat(raw.fileno()).st_size
                if count < 2 or size < count * smallest or raw.peek(2)[:2] == b"\x1f\x8b":
                    return None
                first, _ = _skip_space(raw)
                head = raw.readline()
                if first != b"{" or not _parses(head):
                    return None
                cuts = [raw.tell()]
                for index in range(1, count):
                    raw.seek(max(size * index // count, cuts[-1]))
                    raw.readline()
                    cuts.append(raw.tell())
        except OSError:
            return None  # the read itself will name the failure
        cuts = sorted(set(cuts[1:]) - {size})
        if not cuts:
            return None  # a line as long as the file
        bounds = [0, *cuts, size]
        return [Part(begin, stop) for begin, stop in itertools.pairwise(bounds)]

    def part_events(
        self, part: Part, wanted: set[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        """The events of one part, read as the whole file's `events` reads them there: the
        first part from the file's start, any other from a line start, numbered on from the
        last line read (from 1 in another process: `absorb` numbers them in the file).
        """
        start, end = utc(start), utc(end)
        with self.reading(start, end), self.path.open("rb") as raw:
            stream = io.BufferedReader(Slice(raw.fileno(), part.begin, part.stop), READ_BUFFER)
            if part.begin == 0:
                yield from self._events(stream, wanted, start, end)
                return
            yield from self._lines(stream, self._line + 1, wanted, start, end)

    def record(self) -> FileRecord:
        return FileRecord(self._read, self.accounting, self.gaps, self.principal_gaps, self.minted)

    def restore(self, record: FileRecord) -> None:
        """Take the record of this file as another process read it, whole."""
        self._read = record.read
        self.accounting = record.accounting
        self.gaps = record.gaps
        self.principal_gaps = record.principal_gaps
        self.minted = record.minted

    def deferring(self) -> None:
        """Count a part read in another process from nothing, and keep its unreadable lines as
        they are met, for the whole read's source to `absorb`: how a line is named in the gaps
        depends on how many came before it in the file."""
        GapRecord.__init__(self)
        self._bad_lines = 0
        self._line = 0
        self._deferred = Deferred()

    def part_state(self) -> PartState:
        deferred = self._deferred if self._deferred is not None else Deferred()
        return PartState(
            self.accounting, self.gaps, self.principal_gaps, self.minted, deferred, self._line
        )

    def absorb(self, state: PartState) -> None:
        """Add what another process read of the part after the last line read here: its lines
        were numbered from 1, so each takes the number it has in the file."""
        before = self._line
        self._line += state.lines
        accounting = state.accounting
        accounting.unreadable = [(_renumbered(w, before), why) for w, why in accounting.unreadable]
        self.accounting.add(accounting)
        for owners, number, reason in state.deferred.lines:
            self._bad_line(owners, number + before, reason)
        self._bad_lines += state.deferred.hidden
        if state.deferred.more:
            self.record_principal_gap(state.deferred.more, f"{self.shown}: more unreadable lines")
        self.gaps.extend(state.gaps)
        for person, gaps in state.principal_gaps.items():
            self.principal_gaps.setdefault(person, []).extend(gaps)
        for account, at in state.minted.items():
            if account not in self.minted or at < self.minted[account]:
                self.minted[account] = at

    def _events(
        self, stream: ByteStream, wanted: set[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        first, line = _skip_space(stream)
        if first == b"":
            return
        if first == b"[":
            for number, value in ArrayScanner(stream, line).items():
                yield from self._value(value, number, wanted, start, end)
            return
        if first != b"{":
            raise Malformed(line, "neither a JSON array nor JSON lines")
        head = next(iter(stream), b"")
        if not _parses(head):
            # Not one object per line: objects one after the other, however they are laid out.
            for number, value in ArrayScanner(stream, line, prefix=head).sequence():
                yield from self._value(value, number, wanted, start, end)
            return
        yield from self._lines(itertools.chain((head,), stream), line, wanted, start, end)

    def _lines(
        self,
        lines: Iterable[bytes],
        first: int,
        wanted: set[str],
        start: datetime,
        end: datetime,
    ) -> Iterator[Event]:
        skipped, number = 0, first - 1
        for number, line in enumerate(lines, first):
            # Decided from the few fields that say whose the line is; anything else is parsed
            # whole (a wanted person's, a lapse binding change, or what is unreadable).
            if others_only(line, wanted):
                skipped += 1
                continue
            plain = read_plain(line)
            if plain is not None:
                # The common shape of a wanted person's line, read in one typed decode.
                event = self.account_event(plain, wanted, start, end)
                if event is not None:
                    yield event
                continue
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                self._unparsed(line, number, str(exc), wanted)
                continue
            yield from self._value(value, number, wanted, start, end)
        self._line = number
        self.accounting.read += skipped
        self.accounting.other_principals += skipped

    def _value(
        self, value: Any, number: int, wanted: set[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        if isinstance(value, Unreadable):
            self.account(value.reason, f"{self.shown}:{number}", wanted, start, end)
            self.record_gap(f"{self.shown}: line {number}: {value.reason}")
            return
        read = read_entry(value)
        event = self.account(read, f"{self.shown}:{number}", wanted, start, end)
        if event is not None:
            yield event
        elif isinstance(read, str):
            owner = _owner(value, wanted)
            if owner:
                self._bad_line(owner, number, read)

    def _unparsed(self, line: bytes, number: int, reason: str, wanted: set[str]) -> None:
        """A line that is not JSON: whose it is can only be told from its bytes.

        When they name wanted people it is their gap; when they name only others, nobody's;
        when they name nobody (cut before the principal), it could be anyone's: a gap for all.
        """
        self.accounting.read += 1
        self.accounting.unreadable.append((f"{self.shown}:{number}", reason))
        lowered = line.lower()
        owners = sorted(p for p in wanted if p.encode() in lowered)
        if owners and b"\\u" not in line:
            self._bad_line(owners, number, reason)
        elif b"\\u" in line or not any(key in line for key in _KEYS):
            self._bad_line((), number, reason)

    def _bad_line(self, owners: Collection[str], number: int, reason: str) -> None:
        """A line that is unreadable: its owners' gap, or everyone's when `owners` is empty
        (whose it is, it cannot say); past the first few, only counted."""
        if self._deferred is not None:
            self._deferred.add(tuple(owners), number, reason)
            return
        self._bad_lines += 1
        if not owners:
            if self._bad_lines <= MAX_LINE_GAPS:
                self.record_gap(f"{self.shown}: line {number}: {reason} (whose, it cannot say)")
        elif self._bad_lines <= MAX_LINE_GAPS:
            self.record_principal_gap(owners, f"{self.shown}: line {number}: {reason}")
        else:
            self.record_principal_gap(owners, f"{self.shown}: more unreadable lines")


def _renumbered(where: str, before: int) -> str:
    """`{shown}:{number}` of a part's line, numbered in the whole file (`before` lines came
    before the part): every unreadable entry of a part is a line of the file."""
    shown, _, number = where.rpartition(":")
    return f"{shown}:{int(number) + before}"


def _owner(value: Any, wanted: Collection[str]) -> list[str]:
    """The wanted people an unreadable entry names (its payload may still say who acted)."""
    if not isinstance(value, dict):
        return []
    payload = value.get("protoPayload") or value.get("protopayload_auditlog")
    auth = payload.get("authenticationInfo") if isinstance(payload, dict) else None
    if not isinstance(auth, dict):
        return []
    person, chain = actor(auth)
    return sorted({p.lower() for p in (person, *chain)} & set(wanted))


def _parses(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _open(path: Path, stack: ExitStack) -> ByteStream:
    raw = stack.enter_context(io.BufferedReader(io.FileIO(path), READ_BUFFER))
    if raw.peek(2)[:2] == b"\x1f\x8b":
        return stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
    return raw


def _skip_space(stream: ByteStream) -> tuple[bytes, int]:
    """Consumes leading whitespace; returns the next byte (still unread) and its line number."""
    line = 1
    while ahead := stream.peek(1):
        content = ahead.lstrip()
        if content:
            stream.read(len(ahead) - len(content))
            return content[:1], line + ahead.count(b"\n", 0, len(ahead) - len(content))
        line += ahead.count(b"\n")
        stream.read(len(ahead))
    return b"", line
