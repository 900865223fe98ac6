"""Audit entries from an exported file: JSON lines (Cloud Storage sink) or a JSON array
(`gcloud logging read --format=json`), optionally gzip-compressed.

The file is streamed: memory stays flat however large it is. Most lines of a real export belong to
other principals (service accounts, other people): `whose.others_only` tells them apart from the
few fields that name the parties; the plain lines of the people under review are read in one
typed decode (`plain_entry`), and only the rest are parsed whole.
"""

from __future__ import annotations

import gzip
import itertools
import zlib
from collections.abc import Collection, Iterable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from generator.core.model import Event
from generator.core.writing import cause
from generator.review.events import actor, read_entry
from generator.review.json_stream import ArrayScanner, ByteStream, Malformed, Unreadable
from generator.review.plain_entry import read_plain
from generator.review.sources import GapRecord, utc, wanted_principals, window_text
from generator.review.whose import others_only

# The keys that name a principal, looked for on lines that are not JSON (see `_unparsed`).
_KEYS = (b'"principalEmail"', b'"principalSubject"')
# A report that lists ten thousand broken lines helps nobody; the count still tells the story.
_MAX_LINE_GAPS = 20


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

    def events(
        self, principals: Collection[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        wanted = set(wanted_principals(principals))
        start, end = utc(start), utc(end)
        self._bad_lines = 0
        try:
            with ExitStack() as stack:
                stream = _open(self.path, stack)
                yield from self._events(stream, wanted, start, end)
        except OSError as exc:
            why = cause(exc)
            self.record_gap(f"{self.shown}: read failed for {window_text(start, end)}: {why}")
        except (EOFError, zlib.error) as exc:
            self.record_gap(f"{self.shown}: read failed for {window_text(start, end)}: {exc}")
        except Malformed as exc:
            self.record_gap(f"{self.shown}: {exc}; the rest of the file was not read")
        if self.accounting.read == 0 and not self.gaps:
            self.record_gap(f"{self.shown}: the export holds no entries at all")
        if self._bad_lines > _MAX_LINE_GAPS:
            hidden = self._bad_lines - _MAX_LINE_GAPS
            self.record_gap(f"{self.shown}: {hidden} more unreadable lines")
        self.principal_gaps = {p: list(dict.fromkeys(g)) for p, g in self.principal_gaps.items()}

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
        skipped = 0
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
            self._bad_lines += 1
            if self._bad_lines <= _MAX_LINE_GAPS:
                self.record_gap(f"{self.shown}: line {number}: {reason} (whose, it cannot say)")

    def _bad_line(self, owners: Collection[str], number: int, reason: str) -> None:
        self._bad_lines += 1
        if self._bad_lines <= _MAX_LINE_GAPS:
            self.record_principal_gap(owners, f"{self.shown}: line {number}: {reason}")
        else:
            self.record_principal_gap(owners, f"{self.shown}: more unreadable lines")


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
    raw = stack.enter_context(path.open("rb"))
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
