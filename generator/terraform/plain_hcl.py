"""Plain Terraform read without python-hcl2: the shape of every file lapse and its setup write.

python-hcl2 costs about 0.2 s before it reads a byte (its import and its parser's tables), and
every run that checks terraform/ pays it, for files that are only blocks of literal arguments.
`read` answers for text made of nothing else:

- lines of items, each an attribute `name = value` or a block `kind "label" ... {` whose body
  starts on the next line (or `{}`), its `}` on a line of its own; comments `#` and `//` to the
  end of a line; spaces (no tab, no carriage return, no other control character, no `/*`);
- values: quoted strings without a template sequence (`${`, `%{`) and with only the escapes
  `\\" \\\\ \\n \\r \\t`, decimal integers, `true`, `false`, `null`, names and dotted names
  (`a.b.c`), lists of values, objects of one `key = value` per line;
- names that are none of HCL's keywords and do not start with `__` (python-hcl2's own keys),
  no attribute named twice or like a block of the same body, nesting at most `MAX_DEPTH`.

Anything else is None, and the caller parses with python-hcl2. What `read` answers is what
python-hcl2 would: the blocks with their 1-based lines and columns and each attribute's
expression as written (`terraform.configuration`), and with `tree`, the dict `hcl.load` returns
without its comment entries, which no reader of it looks at (`terraform.audit_coverage`).
`tests/unit/test_plain_hcl.py` holds both to python-hcl2 over generated text and every `.tf`
file of the repository.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 16  # blocks and values inside each other; deeper text is python-hcl2's to read

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_STRING = re.compile(r'"(?:[^"\\\n$%]|\\["\\nrt]|\$(?!\{)|%(?!\{))*"')
_LABEL = re.compile(r'"([^"\\\n$%]*)"')
_INT = re.compile(r"[0-9]+")
_SPACES = re.compile(r" *")
_LINE_FEED = re.compile(r"\n")
_GAP = re.compile(r"(?: |\n|(?:#|//)[^\n]*\n)*")  # spaces, line ends and comments
_END = re.compile(r" *(?:(?:#|//)[^\n]*)?\n")  # the rest of an item's line
# What this reader leaves to python-hcl2: control characters but the line feed, tabs and
# carriage returns among them, other line separators, a byte order mark, block comments.
_REFUSED = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]|/\*")
# HCL's keywords and literal names: python-hcl2 reads them as their own terminals.
_KEYWORDS = frozenset({"if", "in", "for", "for_each", "else", "endif", "endfor"})
_LITERALS = {"true": True, "false": False, "null": None}


@dataclass(frozen=True, slots=True)
class PlainAttribute:
    name: str
    text: str  # the expression as written
    line: int
    col: int
    value: Any  # as python-hcl2's dict holds it: strings quoted, dotted names as `${a.b}`


@dataclass(frozen=True, slots=True)
class PlainBlock:
    kind: str
    labels: tuple[str, ...]
    line: int
    col: int
    attributes: tuple[PlainAttribute, ...]
    blocks: tuple[PlainBlock, ...]


@dataclass(frozen=True, slots=True)
class PlainFile:
    attributes: tuple[PlainAttribute, ...]  # at the top level
    blocks: tuple[PlainBlock, ...]


class _NotPlain(Exception):
    """The text holds something this reader leaves to python-hcl2."""


def read(text: str) -> PlainFile | None:
    """The file's items when `text` is plain Terraform; None for python-hcl2 to read."""
    if _REFUSED.search(text):
        return None
    try:
        # python-hcl2 parses the text with a line feed added; the NUL after it, which no
        # plain text holds, ends every reading that would run past the end.
        return _Reader(text + "\n\x00").file()
    except _NotPlain:
        return None


def tree(plain: PlainFile) -> dict[str, Any]:
    """The dict python-hcl2's `loads` returns for the file, but its comment entries."""
    return _body_tree(plain.attributes, plain.blocks, block=False)


def _body_tree(
    attributes: tuple[PlainAttribute, ...], blocks: tuple[PlainBlock, ...], *, block: bool
) -> dict[str, Any]:
    found: dict[str, Any] = {"__is_block__": True} if block else {}
    for attribute in attributes:
        found[attribute.name] = _copy(attribute.value)
    for inner in blocks:
        body = _body_tree(inner.attributes, inner.blocks, block=True)
        for label in reversed(inner.labels):
            body = {f'"{label}"': body}
        found.setdefault(inner.kind, []).append(body)
    return found


def _copy(value: Any) -> Any:
    """A fresh copy: each tree is the caller's own, as each `loads` is."""
    if isinstance(value, list):
        return [_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.end = len(source) - 1  # where the NUL is
        self.pos = 0
        # Where each line ends: an item's line and column in one search, however long the text.
        self.line_ends = [found.start() for found in _LINE_FEED.finditer(source)]

    def file(self) -> PlainFile:
        attributes, blocks = self._body(depth=0)
        return PlainFile(attributes, blocks)

    def _body(self, depth: int) -> tuple[tuple[PlainAttribute, ...], tuple[PlainBlock, ...]]:
        """Items up to the end of the text (depth 0) or up to the `}` closing a block."""
        source = self.source
        attributes: list[PlainAttribute] = []
        blocks: list[PlainBlock] = []
        kinds: set[str] = set()
        while True:
            self.pos = _GAP.match(source, self.pos).end()  # type: ignore[union-attr]
            if self.pos == self.end:
                if depth:
                    raise _NotPlain
                break
            if source[self.pos] == "}":
                if not depth:
                    raise _NotPlain
                break
            start = self.pos
            name = self._name()
            self._spaces()
            if source.startswith("=", self.pos) and source[self.pos + 1] not in "=>":
                self.pos += 1
                self._spaces()
                begin = self.pos
                value = self._value(depth + 1)
                text = source[begin : self.pos]
                self._line_end()
                if name in kinds or any(a.name == name for a in attributes):
                    raise _NotPlain
                attributes.append(PlainAttribute(name, text, *self._where(start), value))
            else:
                if any(a.name == name for a in attributes):
                    raise _NotPlain
                kinds.add(name)
                blocks.append(self._block(name, start, depth + 1))
        return tuple(attributes), tuple(blocks)

    def _block(self, kind: str, start: int, depth: int) -> PlainBlock:
        source = self.source
        if depth > MAX_DEPTH:
            raise _NotPlain
        labels: list[str] = []
        while source[self.pos] == '"':
            if source[self.pos - 1] != " ":
                raise _NotPlain
            label = _LABEL.match(source, self.pos)
            if label is None:
                raise _NotPlain
            labels.append(label.group(1))
            self.pos = label.end()
            self._spaces()
        if source[self.pos] != "{":
            raise _NotPlain
        self.pos += 1
        self._spaces()
        if source[self.pos] == "}":
            attributes: tuple[PlainAttribute, ...] = ()
            blocks: tuple[PlainBlock, ...] = ()
        else:
            self._line_end()
            attributes, blocks = self._body(depth)
        self.pos += 1  # the `}`
        self._line_end()
        return PlainBlock(kind, tuple(labels), *self._where(start), attributes, blocks)

    def _value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _NotPlain
        source = self.source
        first = source[self.pos]
        if first == '"':
            found = _STRING.match(source, self.pos)
            if found is None:
                raise _NotPlain
            self.pos = found.end()
            return found.group()
        if first == "[":
            return self._list(depth)
        if first == "{":
            return self._object(depth)
        number = _INT.match(source, self.pos)
        if number is not None:
            self.pos = number.end()
            return int(number.group())
        name = self._name(literal=True)
        if name in _LITERALS:
            return _LITERALS[name]
        parts = [name]
        while source[self.pos] == "." and _NAME.match(source, self.pos + 1):
            self.pos += 1
            parts.append(self._name())
        return name if len(parts) == 1 else "${" + ".".join(parts) + "}"

    def _list(self, depth: int) -> list[Any]:
        source = self.source
        items: list[Any] = []
        self.pos += 1
        self._gap()
        while source[self.pos] != "]":
            items.append(self._value(depth + 1))
            self._gap()
            if source[self.pos] == ",":
                self.pos += 1
                self._gap()
            elif source[self.pos] != "]":
                raise _NotPlain
        self.pos += 1
        return items

    def _object(self, depth: int) -> dict[str, Any]:
        source = self.source
        found: dict[str, Any] = {}
        self.pos += 1
        self._spaces()
        if source[self.pos] != "}":
            self._line_end()
            while True:
                self._gap()
                if source[self.pos] == "}":
                    break
                key = self._name()
                self._spaces()
                if source[self.pos] != "=" or source[self.pos + 1] in "=>" or key in found:
                    raise _NotPlain
                self.pos += 1
                self._spaces()
                found[key] = self._value(depth + 1)
                self._line_end()
        self.pos += 1
        return found

    def _name(self, *, literal: bool = False) -> str:
        """A name that python-hcl2 reads as a name (or, with `literal`, as a literal value)."""
        found = _NAME.match(self.source, self.pos)
        if found is None:
            raise _NotPlain
        name = found.group()
        if name in _KEYWORDS or name.startswith("__") or (name in _LITERALS and not literal):
            raise _NotPlain
        self.pos = found.end()
        return name

    def _spaces(self) -> None:
        self.pos = _SPACES.match(self.source, self.pos).end()  # type: ignore[union-attr]

    def _gap(self) -> None:
        self.pos = _GAP.match(self.source, self.pos).end()  # type: ignore[union-attr]

    def _line_end(self) -> None:
        end = _END.match(self.source, self.pos)
        if end is None:
            raise _NotPlain
        self.pos = end.end()

    def _where(self, pos: int) -> tuple[int, int]:
        """The 1-based line and column of `pos`, as python-hcl2's parse tree gives them."""
        before = bisect_left(self.line_ends, pos)  # the line feeds before `pos`
        line_start = self.line_ends[before - 1] + 1 if before else 0
        return before + 1, pos - line_start + 1
