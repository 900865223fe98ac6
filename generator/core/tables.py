"""Plain tables for people: aligned text for terminals, Markdown for GitHub.

A text table fits the terminal: `COLUMNS` when set, else the width of the terminal stdout is;
piped without `COLUMNS`, it keeps every cell on one line. Columns too wide for it are folded,
the widest first, each cell broken after a `/`, `-`, `.`, `@` or space, or between a time
stamp's date and time, where it can.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Sequence

GAP = "  "
NARROWEST = 8  # a folded column keeps at least this many characters (or its widest cell)
NARROWEST_TERMINAL = 40
_BREAK = re.compile(r"[/\-.@ ]|(?<=\d)(?=T\d)")  # after a separator; before RFC 3339's T


def terminal_width() -> int | None:
    """The columns a table may use (never fewer than NARROWEST_TERMINAL), or None when nothing
    limits it; a `COLUMNS` that is not a number is not there."""
    given = os.environ.get("COLUMNS", "").strip()
    if given.isascii() and given.isdigit() and int(given) > 0:
        return max(int(given), NARROWEST_TERMINAL)
    if sys.stdout.isatty():
        return max(shutil.get_terminal_size().columns, NARROWEST_TERMINAL)
    return None


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, width: int | None = None
) -> str:
    """Aligned columns under a dashed rule, within `width` (default: `terminal_width()`)."""
    lines = [[str(cell) for cell in line] for line in (headers, *rows)]
    natural = [max(len(cell) for cell in column) for column in zip(*lines, strict=True)]
    limit = width if width is not None else terminal_width()
    widths = natural if limit is None else fitted(natural, limit - len(GAP) * (len(natural) - 1))
    out = [_joined([fold(cell, w) for cell, w in zip(lines[0], widths, strict=True)], widths)]
    out.append(_joined([["-" * w] for w in widths], widths))
    out += [
        _joined([fold(cell, w) for cell, w in zip(line, widths, strict=True)], widths)
        for line in lines[1:]
    ]
    return "\n".join(out) + "\n"


def fitted(natural: Sequence[int], budget: int) -> list[int]:
    """Column widths summing to at most `budget`, taken from the widest first; a column never
    goes below NARROWEST (or its own width), so a very narrow budget is exceeded, not met."""
    widths = list(natural)
    floors = [min(w, NARROWEST) for w in natural]
    while sum(widths) > budget:
        widest = max(range(len(widths)), key=lambda i: (widths[i] - floors[i] > 0, widths[i]))
        if widths[widest] <= floors[widest]:
            break
        widths[widest] -= 1
    return widths


def fold(text: str, width: int) -> list[str]:
    """`text` in pieces of at most `width` characters, broken after a separator if one is near."""
    pieces: list[str] = []
    while len(text) > width:
        ends = (m.end() for m in _BREAK.finditer(text, 0, width + 1) if 0 < m.end() <= width)
        cut = max(ends, default=width)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*pieces, text]


def fit_lines(text: str, *, width: int | None = None) -> str:
    """Each line of `text` folded to `width` (default: `terminal_width()`), continued indented
    two more than the line it continues."""
    limit = width if width is not None else terminal_width()
    if limit is None:
        return text
    out: list[str] = []
    for line in text.splitlines():
        indent = " " * (len(line) - len(line.lstrip(" ")) + 2)
        first = fold(line, limit)[0]
        out.append(first)
        rest = line[len(first) :].lstrip(" ")
        if rest:
            out += [indent + piece for piece in fold(rest, max(limit - len(indent), 1))]
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _joined(cells: Sequence[Sequence[str]], widths: Sequence[int]) -> str:
    """One row: each cell's pieces on lines of their own, in its column."""
    height = max(len(pieces) for pieces in cells)
    return "\n".join(
        GAP.join(
            (pieces[i] if i < len(pieces) else "").ljust(w)
            for pieces, w in zip(cells, widths, strict=True)
        ).rstrip()
        for i in range(height)
    )


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(text: str) -> str:
        return " ".join(str(text).replace("|", "\\|").split())

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
