"""One reading of a request file: what a person (or `grep`) sees is what YAML loads.

A request is read by people in a pull request's diff, and by lapse's loader. YAML lets the two
part ways: a key can be quoted or escaped (`"\\x65xpires": ...` is the key `expires`), and a
multi-line quoted or flow value can hold a line that starts at the first column like a key
(`expires: ...`) while YAML reads it as text. LAPSE112 refuses a request or archived file in
which they could differ; with LAPSE105 (no key twice), a file that validates has each top-level
key on the one line that starts with its name, and nowhere else.

`quick_expiry` is the one reader of request text that is not the loader. It answers only for
files whose text has none of the constructs that could carry a line away from where it
stands, so it can never disagree with the loader on a file the loader reads
(`tests/unit/test_plain_reading.py` holds it to that over generated adversarial files).
"""

from __future__ import annotations

import re
from datetime import datetime

from generator.checks.loading import Document, split_lines
from generator.core.model import Problem
from generator.core.times import parse_instant

RULE = "LAPSE112"

# Breaks YAML 1.1 counts as lines, and line readers (and most diffs) do not.
_ODD_BREAK = re.compile("\r(?!\n)|[\x85\u2028\u2029]")

# A line that a line-by-line reader takes for a top-level key: a name at the first column, then
# a colon that ends the line or is followed by a space.
_TOP_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)[ ]*:(?:[ ]|$)")


def plain_reading(document: Document, raw: bytes) -> list[Problem]:
    """LAPSE112 problems of a loaded request file whose text reads otherwise than it loads."""
    text = raw.decode("utf-8").removeprefix("\ufeff")
    lines = split_lines(text)
    odd = _ODD_BREAK.search(text)
    if odd is not None:
        before = split_lines(text[: odd.start()])
        return [
            _problem(
                document,
                len(before),
                len(before[-1]) + 1,
                f"a line break other than LF or CRLF (U+{ord(odd[0]):04X}): YAML starts a new "
                "line here, most editors and diffs do not",
                "save the file with LF line endings",
            )
        ]
    problems = [
        _problem(document, line, col, f"the key {where[-1]!r} is not written plainly", _PLAINLY)
        for where, (line, col) in document.keys.items()
        if not _written_plainly(str(where[-1]), lines[line - 1][col - 1 :])
    ]
    problems += [
        _problem(
            document,
            line,
            col,
            f"the top-level key {where[0]!r} is not at the start of its line",
            "write each top-level key at the first column, one per line",
        )
        for where, (line, col) in document.keys.items()
        if len(where) == 1 and col != 1
    ]
    top = sorted(
        (position[0], str(where[0])) for where, position in document.keys.items() if len(where) == 1
    )
    for number, line in enumerate(lines, start=1):
        match = _TOP_KEY_LINE.match(line)
        if match is None or document.keys.get((match[1],)) == (number, 1):
            continue
        holder = next((key for at, key in reversed(top) if at < number), None)
        inside = f"the value of {holder!r}" if holder else "another value"
        problems.append(
            _problem(
                document,
                number,
                1,
                f"line {number} starts like the key {match[1]!r}, but YAML reads it as part of "
                f"{inside}",
                "close the quoted value on its own line, or indent its continuation lines",
            )
        )
    return problems


_PLAINLY = "write keys without quotes, escapes, `? ` or braces"


def _written_plainly(key: str, rest: str) -> bool:
    """Whether the text at a key's position is the key itself, then its colon."""
    return rest.startswith(key) and rest[len(key) :].lstrip(" ").startswith(":")


def _problem(document: Document, line: int, col: int, message: str, hint: str) -> Problem:
    return Problem(document.path, line, col, RULE, "error", message, hint)


# One top-level `expires:` line with a plain or quoted RFC 3339 value, and nothing after it.
_EXPIRES_LINE = re.compile(rb"^(expires):[ \t]*([\"']?)([0-9][0-9T:.+\-Z]+)\2[ \t]*$", re.MULTILINE)
# Where a value or key starts, anything that can make YAML read past the end of the line or
# read a key other than as written: a quote that does not close on that line (or a quoted
# key), a flow collection, an explicit key, a block scalar, a tag, an anchor, an alias, a
# directive or a document marker. Comment lines are passed over.
_START = r"^[ ]*(?:-[ ]+)*"
_OPEN_QUOTE = (
    r"(?:\"(?!(?:[^\"\\\n]|\\[^\n])*\"[ ]*(?:\#[^\n]*)?$)"
    r"|'(?!(?:[^'\n]|'')*'[ ]*(?:\#[^\n]*)?$))"
)
_INDICATOR = r"[\[{?|>!&*%@`]"
_CARRIES_AWAY = re.compile(
    (
        rf"{_START}(?:{_OPEN_QUOTE}|{_INDICATOR}|---|\.\.\.)"
        rf"|{_START}[^\s#\"'][^\n]*?:[ ]+(?:{_OPEN_QUOTE}|{_INDICATOR})"
    ).encode(),
    re.MULTILINE,
)
# Line breaks other than LF, and a byte order mark: YAML counts lines differently from `^`.
_OTHER_BREAKS = (b"\r", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9", b"\xef\xbb\xbf")


def quick_expiry(raw: bytes) -> tuple[datetime, int, int] | None:
    """(expires, line, column) read from the text alone; None unless that is sure to be right.

    Sure means: a line starts with `expires:` (a second one would be a key twice), its value
    is an RFC 3339 instant alone on the line and does not continue on the next, lines are
    broken only by LF, and no line of the file starts a value or key that YAML could read
    across lines or spell otherwise.
    Then that line is the top-level key `expires` and its value is what the loader reads.
    """
    if any(mark in raw for mark in _OTHER_BREAKS):
        return None
    match = _EXPIRES_LINE.search(raw)
    if match is None or _CARRIES_AWAY.search(raw) is not None:
        return None
    following = raw[match.end() + 1 :].lstrip(b"\n")
    if following[:1] in (b" ", b"#"):  # an indented or commented line may continue the value
        return None
    try:
        moment = parse_instant(match[3].decode())
    except ValueError:
        return None
    line = raw.count(b"\n", 0, match.start()) + 1
    return moment, line, match.start(2) - match.start() + 1
