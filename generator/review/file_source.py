"""Audit entries from an exported file: JSON lines (Cloud Storage sink) or a JSON array
(`gcloud logging read --format=json`), optionally gzip-compressed.

The file is streamed: memory stays flat however large it is. Most lines of a real export belong to
other principals (service accounts, other people), so each line's `"principalEmail"` values are
looked up in the wanted set on the raw bytes first, and only lines that may match are parsed.
"""

from __future__ import annotations

import gzip
import itertools
import re
import zlib
from collections.abc import Collection, Iterable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from generator.core.model import Event
from generator.review.events import actor, read_entry
from generator.review.json_stream import ArrayScanner, ByteStream, Malformed, Unreadable
from generator.review.sources import GapRecord, utc, wanted_principals, window_text

_KEYS = (b'"principalEmail"', b'"principalSubject"')
# A principal's value; an unclosed one runs to the end of the line (and is let through).
# Read on the lower-cased line: the value (after a `user:` or `serviceaccount:` prefix) and the
# character that ends it, which is `"` unless an escape or a non-ASCII byte interrupts it.
_PRINCIPAL_VALUE = re.compile(
    rb'"principal(?:email|subject)"\s*:\s*"(?:user:|serviceaccount:)?([^"\\\x80-\xff]*)(.?)'
)
_LAPSE_CONDITION = b'"lapse/'

# A report that lists ten thousand broken lines helps nobody; the count still tells the story.
_MAX_LINE_GAPS = 20


class FileSource(GapRecord):
    """Events from one exported file; `.gz` (by content) is decompressed on the fly.

    Three layouts are read alike: JSON lines, a JSON array, and JSON objects one after the
    other (pretty-printed, as `gcloud logging read` or a hand-saved entry has them).
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
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
        except (OSError, EOFError, zlib.error) as exc:
            self.record_gap(f"{self.path}: read failed for {window_text(start, end)}: {exc}")
        except Malformed as exc:
            self.record_gap(f"{self.path}: {exc}; the rest of the file was not read")
        if self.accounting.read == 0 and not self.gaps:
            self.record_gap(f"{self.path}: the export holds no entries at all")
        if self._bad_lines > _MAX_LINE_GAPS:
            hidden = self._bad_lines - _MAX_LINE_GAPS
            self.record_gap(f"{self.path}: {hidden} more unreadable lines")
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
        encoded = {p.encode() for p in wanted}
        skipped = 0
        for number, line in enumerate(lines, first):
            # Lines naming a lapse condition are read whoever wrote them (the SetIamPolicy that
            # added a grant's binding dates its window); a line that is not a whole object is
            # parsed too: a truncated line could hide a wanted principal, and parsing says so.
            if not (
                might_match(line, encoded) or _LAPSE_CONDITION in line or not _looks_whole(line)
            ):
                skipped += 1
                continue
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                self._unparsed(line, number, str(exc), wanted)
                continue
            before = len(wanted)
            yield from self._value(value, number, wanted, start, end)
            if len(wanted) != before:
                encoded = {p.encode() for p in wanted}
        self.accounting.read += skipped
        self.accounting.other_principals += skipped

    def _value(
        self, value: Any, number: int, wanted: set[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        if isinstance(value, Unreadable):
            self.account(value.reason, f"{self.path}:{number}", wanted, start, end)
            self.record_gap(f"{self.path}: line {number}: {value.reason}")
            return
        read = read_entry(value)
        event = self.account(read, f"{self.path}:{number}", wanted, start, end)
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
        self.accounting.unreadable.append((f"{self.path}:{number}", reason))
        lowered = line.lower()
        owners = sorted(p for p in wanted if p.encode() in lowered)
        if owners and b"\\u" not in line:
            self._bad_line(owners, number, reason)
        elif b"\\u" in line or not any(key in line for key in _KEYS):
            self._bad_lines += 1
            if self._bad_lines <= _MAX_LINE_GAPS:
                self.record_gap(f"{self.path}: line {number}: {reason} (whose, it cannot say)")

    def _bad_line(self, owners: Collection[str], number: int, reason: str) -> None:
        self._bad_lines += 1
        if self._bad_lines <= _MAX_LINE_GAPS:
            self.record_principal_gap(owners, f"{self.path}: line {number}: {reason}")
        else:
            self.record_principal_gap(owners, f"{self.path}: more unreadable lines")


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


def might_match(line: bytes, wanted: Collection[bytes]) -> bool:
    """False only when no principal named on the line is wanted (`wanted` in lower case).

    Principals are the values of `"principalEmail"` (the caller, or a delegation chain's first
    party) and `"principalSubject"` (`user:a@b`). A line naming none is let through, as are
    escapes and non-ASCII values, for the real parser to decide.
    """
    lowered = line.lower()
    found = _PRINCIPAL_VALUE.findall(lowered)
    if not found:
        # Names nobody (or not as a string), or hides the key behind an escape.
        return b'"principal' not in lowered or b"\\u" in line
    for value, after in found:  # noqa: SIM110 - a plain loop: this runs for every line
        if after != b'"' or value in wanted:
            return True
    return False


def _looks_whole(line: bytes) -> bool:
    return line[:1] == b"{" and (line[-2:] == b"}\n" or line.endswith((b"}", b"}\r\n")))


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
