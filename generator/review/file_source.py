"""Audit entries from an exported file: JSON lines (Cloud Storage sink) or a JSON array
(`gcloud logging read --format=json`), optionally gzip-compressed.

The file is streamed: memory stays flat however large it is. Most lines of a real export belong to
other principals (service accounts, other people), so each line's `"principalEmail"` values are
looked up in the wanted set on the raw bytes first, and only lines that may match are parsed.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from collections.abc import Collection, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from generator.core.model import Event
from generator.review.events import normalize
from generator.review.sources import GapRecord, selected, utc, wanted_principals, window_text

_KEY = b'"principalEmail"'
_AFTER_KEY = len(_KEY)
_CHUNK = 1 << 20
# One array element larger than this is taken as a broken file rather than buffered further.
_MAX_ELEMENT = 64 << 20
# A report that lists ten thousand broken lines helps nobody; the count still tells the story.
_MAX_LINE_GAPS = 20
_NON_SPACE = re.compile(r"\S")


class ByteStream(Protocol):
    """What both a plain and a gzip file offer: bytes read, peeked at and iterated as lines."""

    def read(self, size: int = ..., /) -> bytes: ...

    def peek(self, size: int, /) -> bytes: ...

    def __iter__(self) -> Iterator[bytes]: ...


class Malformed(Exception):
    """The file stops being the JSON it claims to be, at `line`."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


class FileSource(GapRecord):
    """Events from one exported file; `.gz` (by content) is decompressed on the fly."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._bad_lines = 0

    def events(
        self, principals: Collection[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        wanted = wanted_principals(principals)
        start, end = utc(start), utc(end)
        self._bad_lines = 0
        try:
            with ExitStack() as stack:
                stream = _open(self.path, stack)
                for event in self._events(stream, wanted, start, end):
                    if selected(event, wanted, start, end):
                        yield event
        except (OSError, EOFError, zlib.error) as exc:
            self.record_gap(f"{self.path}: read failed for {window_text(start, end)}: {exc}")
        except Malformed as exc:
            self.record_gap(f"{self.path}: {exc}; the rest of the file was not read")
        if self._bad_lines > _MAX_LINE_GAPS:
            hidden = self._bad_lines - _MAX_LINE_GAPS
            self.record_gap(f"{self.path}: {hidden} more unreadable lines")

    def _events(
        self, stream: ByteStream, wanted: frozenset[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        first, line = _skip_space(stream)
        if first == b"":
            return
        if first == b"[":
            for number, value in ArrayScanner(stream, line).items():
                yield from self._event(value, number)
        elif first == b"{":
            encoded = frozenset(p.encode() for p in wanted)
            yield from self._lines(stream, line, encoded)
        else:
            raise Malformed(line, "neither a JSON array nor JSON lines")

    def _lines(self, stream: ByteStream, first: int, wanted: frozenset[bytes]) -> Iterator[Event]:
        for number, line in enumerate(stream, first):
            # A line that is not a whole object is parsed too: a truncated line could hide a
            # wanted principal, and parsing reports it.
            if (might_match(line, wanted) or not _looks_whole(line)) and line.strip():
                yield from self._parse_line(line, number)

    def _parse_line(self, line: bytes, number: int) -> Iterator[Event]:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            self._bad_line(number, str(exc))
            return
        yield from self._event(value, number)

    def _event(self, value: Any, number: int) -> Iterator[Event]:
        event = normalize(value) if isinstance(value, dict) else None
        if event is not None:
            yield event
        elif isinstance(value, dict) and "protoPayload" in value:
            self._bad_line(number, "audit entry without a usable timestamp")

    def _bad_line(self, number: int, reason: str) -> None:
        self._bad_lines += 1
        if self._bad_lines <= _MAX_LINE_GAPS:
            self.record_gap(f"{self.path}: line {number}: {reason}")


def might_match(line: bytes, wanted: frozenset[bytes]) -> bool:
    """False only when no `"principalEmail"` string value on the line is a wanted principal.

    Escapes and non-ASCII values are let through for the real parser to decide.
    """
    at = line.find(_KEY)
    if at < 0:
        # An escaped key (`\\u0070rincipalEmail`) is legal JSON, and would hide from find().
        return b"\\u" in line
    while at >= 0:
        after = at + _AFTER_KEY
        # Compact JSON (`"principalEmail":"`) is the common case and skips the strip().
        begin = after + 1 if line[after : after + 2] == b':"' else line.find(b'"', after)
        if begin < 0:
            return False
        if begin == after + 1 or line[after:begin].strip() == b":":
            close = line.find(b'"', begin + 1)
            if close < 0:
                return True
            value = line[begin + 1 : close]
            if b"\\" in value or not value.isascii() or value.lower() in wanted:
                return True
        at = line.find(_KEY, begin)
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


class ArrayScanner:
    """Elements of a JSON array, one at a time, from a byte stream (memory: one chunk + one item).

    The C scanner behind `json.JSONDecoder.raw_decode` parses each element where it stands; an
    element cut by the end of the buffer fails to parse and is retried after the next read.
    """

    def __init__(self, stream: ByteStream, line: int) -> None:
        self._stream = stream
        self._decoder = json.JSONDecoder()
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._buf = ""
        self._pos = 0
        self._counted = 0
        self._line = line
        self._eof = False

    def items(self) -> Iterator[tuple[int, Any]]:
        if self._next_char() != "[":
            raise Malformed(self._line_at_pos(), "expected a JSON array")
        self._pos += 1
        if self._next_char() == "]":
            return
        while True:
            self._next_char()
            line = self._line_at_pos()
            yield line, self._value(line)
            separator = self._next_char()
            self._pos += 1
            if separator == "]":
                return
            if separator != ",":
                raise Malformed(self._line_at_pos(), "expected ',' or ']' between entries")

    def _value(self, line: int) -> Any:
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof or len(self._buf) - self._pos > _MAX_ELEMENT:
                    raise Malformed(line, exc.msg) from None
                self._fill()
                continue
            if end == len(self._buf) and not self._eof:
                # A number cut at the buffer's end would parse as a shorter number.
                self._fill()
                continue
            self._pos = end
            return value

    def _next_char(self) -> str:
        """The next non-space character ("" at the end), leaving the position on it."""
        while True:
            found = _NON_SPACE.search(self._buf, self._pos)
            if found is not None:
                self._pos = found.start()
                return self._buf[self._pos]
            self._pos = len(self._buf)
            if not self._fill():
                return ""

    def _fill(self) -> bool:
        chunk = self._stream.read(_CHUNK)
        self._line_at_pos()
        try:
            text = self._utf8.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise Malformed(self._line, f"not UTF-8: {exc.reason}") from None
        self._buf = self._buf[self._pos :] + text
        self._pos = self._counted = 0
        self._eof = not chunk
        return bool(chunk)

    def _line_at_pos(self) -> int:
        self._line += self._buf.count("\n", self._counted, self._pos)
        self._counted = self._pos
        return self._line
