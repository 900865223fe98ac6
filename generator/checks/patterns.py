"""JSON Schema `pattern`s as ECMA-262 reads them, for Python's `re`.

JSON Schema patterns are ECMA-262 regular expressions. Python's `re` reads the same text
differently in ways that let values through: `$` also matches before a final newline (so
`"INC-1\\n"` would pass `^INC-[0-9]+$`), `\\d` and `\\w` match any Unicode digit or letter, and
`.` matches `\\r`, U+2028 and U+2029. `ecma_regex` rewrites those few constructs so that the
explaining validator agrees with the compiled one, which is ECMA-262 by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

# ECMA-262 WhiteSpace and LineTerminator: what `\s` means there.
_SPACE = "\t\n\v\f\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_OUTSIDE_CLASS = {
    "$": r"\Z",
    ".": "[^\n\r\u2028\u2029]",
}
_ESCAPED = {"s": f"[{_SPACE}]", "S": f"[^{_SPACE}]"}


@cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled so that `search` answers as an ECMA-262 RegExp's `test` would."""
    return re.compile("".join(_translated(pattern)), re.ASCII)


def _translated(pattern: str) -> Iterator[str]:
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            if in_class:
                # Inside a class `\s` spells out the same set; `\S` stays Python's (ASCII).
                yield _SPACE if escaped == "s" else char + escaped
            else:
                yield _ESCAPED.get(escaped, char + escaped)
            index += 2
            continue
        if in_class:
            in_class = char != "]"
            yield char
        elif char == "[":
            in_class = True
            yield char
        else:
            yield _OUTSIDE_CLASS.get(char, char)
        index += 1


def pattern_keyword(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    """jsonschema's `pattern` keyword, with the ECMA-262 reading of `pattern`."""
    from jsonschema import ValidationError  # noqa: PLC0415 - only when a file is refused

    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")
