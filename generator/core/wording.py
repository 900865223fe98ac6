"""Counting things in English: `1 error`, `2 errors`, `1 file`, `3 entries`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`number noun`, with the noun in the plural unless the number is exactly one."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def did_you_mean(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str:
    """`did you mean 'x'? ` for the closest of `choices`, or nothing when none is close.

    Raise `cutoff` where every choice shares a long part (emails share their domain).
    """
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f"did you mean {close[0]!r}? " if close else ""
