"""JSON values one at a time from a byte stream: the elements of an array, or objects that
follow one another (pretty-printed entries saved one after the other).

Memory is one chunk plus one value. The C scanner behind `json.JSONDecoder.raw_decode` parses each
value where it stands; a value cut by the end of the buffer fails to parse and is retried after
the next read. A value nested deeper than the scanner's recursion allows is skipped by counting
brackets (no recursion at all) and handed back as `Unreadable`, so one hostile entry costs one
entry, not the rest of the file.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from generator.core.errors import ConfigError

_CHUNK = 1 << 20
# One value larger than this is taken as a broken file rather than buffered further.
_MAX_ELEMENT = 64 << 20
_NON_SPACE = re.compile(r"\S")
_STRING_OR_BRACKET = re.compile(r'["\[\]{}]')
_STRING_END = re.compile(r'(?:[^"\\]|\\.)*"', re.DOTALL)


class ByteStream(Protocol):
    """What both a plain and a gzip file offer: bytes read, peeked at and iterated as lines."""

    def read(self, size: int = ..., /) -> bytes: ...

    def peek(self, size: int, /) -> bytes: ...

    def __iter__(self) -> Iterator[bytes]: ...


class Malformed(ConfigError):
    """The file stops being the JSON it claims to be, at `line`."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A value that was skipped whole, and why."""

    reason: str


class ArrayScanner:
    """Values of a JSON array (`items`) or a run of JSON values (`sequence`)."""

    def __init__(self, stream: ByteStream, line: int, prefix: bytes = b"") -> None:
        self._stream = stream
        self._decoder = json.JSONDecoder()
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._buf = ""
        self._pos = 0
        self._counted = 0
        self._line = line
        self._eof = False
        if prefix:
            self._buf = self._decode(prefix, final=False)

    def items(self) -> Iterator[tuple[int, Any]]:
        """The array's elements, then any values after it (nothing after it is left unread)."""
        yield from self._array()
        yield from self.sequence()

    def _array(self) -> Iterator[tuple[int, Any]]:
        if self._next_char() != "[":
            raise Malformed(self._line_at_pos(), "expected a JSON array")
        self._pos += 1
        if self._next_char() == "]":
            self._pos += 1
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

    def sequence(self) -> Iterator[tuple[int, Any]]:
        while self._next_char():
            line = self._line_at_pos()
            yield line, self._value(line)

    def _value(self, line: int) -> Any:
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof or len(self._buf) - self._pos > _MAX_ELEMENT:
                    raise Malformed(line, exc.msg) from None
                self._fill()
                continue
            except RecursionError:
                return self._skip_nested(line)
            if end == len(self._buf) and not self._eof:
                # A number cut at the buffer's end would parse as a shorter number.
                self._fill()
                continue
            self._pos = end
            return value

    def _skip_nested(self, line: int) -> Unreadable:
        """Moves past a value too deep to parse, by its brackets; strings are stepped over."""
        depth = 0
        pos = self._pos
        while True:
            found = _STRING_OR_BRACKET.search(self._buf, pos)
            if found is None:
                pos = self._refill_keeping(pos, line)
                continue
            char = found.group()
            pos = found.end()
            if char == '"':
                closing = _STRING_END.match(self._buf, pos)
                while closing is None or (closing.end() == len(self._buf) and not self._eof):
                    pos = self._refill_keeping(found.start(), line) + 1
                    closing = _STRING_END.match(self._buf, pos)
                pos = closing.end()
                continue
            depth += 1 if char in "[{" else -1
            if depth == 0:
                self._pos = pos
                return Unreadable("nested too deeply to parse; the entry was skipped")

    def _refill_keeping(self, pos: int, line: int) -> int:
        """Reads more, keeping the buffer from the value's start; the new index of `pos`."""
        offset = pos - self._pos
        if self._eof or len(self._buf) - self._pos > _MAX_ELEMENT:
            raise Malformed(line, "a value never ends")
        self._fill()
        return self._pos + offset

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
        text = self._decode(chunk, final=not chunk)
        self._buf = self._buf[self._pos :] + text
        self._pos = self._counted = 0
        self._eof = not chunk
        return bool(chunk)

    def _decode(self, chunk: bytes, *, final: bool) -> str:
        try:
            return self._utf8.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            raise Malformed(self._line, f"not UTF-8: {exc.reason}") from None

    def _line_at_pos(self) -> int:
        self._line += self._buf.count("\n", self._counted, self._pos)
        self._counted = self._pos
        return self._line
