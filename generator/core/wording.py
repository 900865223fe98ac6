"""Counting things in English: `1 error`, `2 errors`, `1 file`, `3 entries`."""

from __future__ import annotations


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`number noun`, with the noun in the plural unless the number is exactly one."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
