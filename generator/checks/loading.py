"""YAML text -> plain data plus the line and column of every node, safely.

Requests are small, flat documents written by people. The loader accepts exactly that and
refuses, with a located problem, everything a request never needs: anchors, aliases, merge
keys, explicit tags, several documents, non-string keys. It builds data from the parser's
events itself, so no constructor (safe or not) ever runs and timestamps stay the strings
the author wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from generator.core.model import Problem

MAX_BYTES = 64 * 1024
_TYPED_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float"))
MAX_DEPTH = 16
# Tabs, and what YAML refuses to see unescaped: C0 and C1 controls except line breaks and NEL.
_FORBIDDEN = re.compile("[\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # YAML 1.1 line breaks

# libyaml is an order of magnitude faster; the pure parser yields the same events.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _ComposingLoader(_LOADER):  # type: ignore[valid-type,misc]
    """libyaml's composer, resolving only the tags lapse reads (null, bool, int, float).

    Every other plain scalar stays text here anyway (timestamps, `=`, `<<` included), so the
    composer need not try their patterns; there are no path resolvers to follow either.
    """

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, pattern) for tag, pattern in found if tag in _TYPED_TAGS]
        for first, found in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def descend_resolver(self, _node: Any, _index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


Path = tuple[str | int, ...]
Position = tuple[int, int]

_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
# Plain scalars that become something other than text. Everything else (timestamps, dates,
# `=`, ...) stays exactly as written, so "2026-02-31" is a string the schema can refuse.
_TYPED = _TYPED_TAGS


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded file: its data, and where each value (and each mapping key) starts."""

    path: str
    data: Any
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def at(self, *where: str | int, key: bool = False) -> Position:
        """Line and column of the node at `where`, or of its nearest located ancestor."""
        table = self.keys if key else self.values
        node: Path = tuple(where)
        while node not in table and node:
            node = node[:-1]
        return table.get(node, (1, 1))

    def locating(self, raw: bytes) -> Document:
        """This document kept only to locate problems, as small as `raw`, the bytes it was
        loaded from: positions are read again from them when a problem asks for one.

        Rules across all requests hold every request at once; a document's positions take
        several times the room of its text."""
        return locating(self.path, raw)


def locating(path: str, raw: bytes) -> Document:
    """The document `raw` loads as at `path`, kept only to locate problems (see `locating`)."""
    return _Locating(path, None, _NOWHERE, _NOWHERE, raw)


_NOWHERE: dict[Path, Position] = {}  # never written: a `_Locating` reads its text again


@dataclass(frozen=True, slots=True)
class _Locating(Document):
    raw: bytes = b""

    def at(self, *where: str | int, key: bool = False) -> Position:
        again = load(self.path, self.raw).document
        return (1, 1) if again is None else again.at(*where, key=key)

    def locating(self, raw: bytes) -> Document:
        return self


@dataclass(frozen=True, slots=True)
class Loaded:
    document: Document | None
    problems: tuple[Problem, ...]


class _Refused(Exception):
    def __init__(self, line: int, col: int, rule: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.line, self.col, self.rule, self.message, self.hint = line, col, rule, message, hint


def load(path: str, raw: bytes) -> Loaded:
    """Load one YAML file. Never raises: anything wrong comes back as a located problem."""
    try:
        text = _decode(raw)
        return Loaded(_build(path, text), ())
    except _Refused as why:
        problem = Problem(path, why.line, why.col, why.rule, "error", why.message, why.hint)
        return Loaded(None, (problem,))


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise _Refused(1, 1, "LAPSE103", f"file is larger than the limit of {MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(raw[: exc.start].decode("utf-8", "replace"))
        raise _Refused(line, col, "LAPSE102", "file is not valid UTF-8") from None
    text = text.removeprefix("\ufeff")
    found = _FORBIDDEN.search(text)
    if found is not None:
        char = found.group()
        line, col = _position(text[: found.start()])
        if char == "\t":
            raise _Refused(line, col, "LAPSE104", "tab character", "indent with spaces")
        raise _Refused(line, col, "LAPSE102", f"control character U+{ord(char):04X}")
    return text


def _position(before: str) -> Position:
    lines = split_lines(before)
    return len(lines), len(lines[-1]) + 1


def split_lines(text: str) -> list[str]:
    """`text`'s lines as YAML counts them (and so the lines of every position here)."""
    return _LINE_BREAK.split(text)


def _build(path: str, text: str) -> Document:
    if not _MAY_NEED_EVENTS.search(text):
        try:
            return _composed(path, text)
        except (_Unusual, yaml.YAMLError):
            pass  # the event walk below says exactly what is wrong, and where
    builder = _Builder(path)
    try:
        for event in _events(text):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise _Refused(line, col, "LAPSE101", f"not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise _Refused(1, 1, "LAPSE101", f"not valid YAML: {exc}") from None
    return builder.document()


class _Unusual(Exception):
    """Something the node walk does not judge: the event walk will."""


# Anchors, aliases and tags are only visible in parser events; text without `&`, `*` and `!`
# holds none, and libyaml's composer (C, like the floor every loader is measured against)
# builds the same tree with the same positions.
_MAY_NEED_EVENTS = re.compile("[&*!]")


def _composed(path: str, text: str) -> Document:
    root = yaml.compose(text, Loader=_ComposingLoader)
    if root is None:
        raise _Unusual
    values: dict[Path, Position] = {}
    keys: dict[Path, Position] = {}
    data = _node_value(root, (), values, keys)
    if not isinstance(data, dict):
        raise _Unusual
    return Document(path, data, values, keys)


def _node_value(
    node: yaml.Node, where: Path, values: dict[Path, Position], keys: dict[Path, Position]
) -> Any:
    mark = node.start_mark
    values[where] = (mark.line + 1, mark.column + 1)
    if type(node) is yaml.ScalarNode:
        return _node_scalar(node)
    if len(where) >= MAX_DEPTH:
        raise _Unusual
    if type(node) is yaml.SequenceNode:
        items: list[Any] = []
        for index, item in enumerate(node.value):
            if type(item) is yaml.ScalarNode:
                mark = item.start_mark
                values[(*where, index)] = (mark.line + 1, mark.column + 1)
                items.append(_node_scalar(item))
            else:
                items.append(_node_value(item, (*where, index), values, keys))
        return items
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if type(key_node) is not yaml.ScalarNode:
            raise _Unusual
        key = _node_scalar(key_node)
        if type(key) is not str or key in mapping or (key == "<<" and not key_node.style):
            raise _Unusual
        here = (*where, key)
        mark = key_node.start_mark
        keys[here] = (mark.line + 1, mark.column + 1)
        if type(value_node) is yaml.ScalarNode:  # most values: no call for them
            mark = value_node.start_mark
            values[here] = (mark.line + 1, mark.column + 1)
            mapping[key] = _node_scalar(value_node)
        else:
            mapping[key] = _node_value(value_node, here, values, keys)
    return mapping


def _node_scalar(node: yaml.ScalarNode) -> Any:
    # The composer resolved a plain scalar's tag as `_plain` would; the text has no explicit tags.
    if node.style or node.tag not in _TYPED:
        return node.value
    return _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)


def _events(text: str) -> Iterator[yaml.Event]:
    return yaml.parse(text, Loader=_LOADER)


class _Builder:
    """Turns parser events into dicts, lists and scalars, recording positions."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.stack: list[tuple[dict[str, Any] | list[Any], Path]] = []
        self.pending_key: list[str | None] = []
        self.root: Any = None
        self.has_root = False
        self.documents = 0
        self.values: dict[Path, Position] = {}
        self.keys: dict[Path, Position] = {}

    def document(self) -> Document:
        if not self.has_root:
            raise _Refused(1, 1, "LAPSE109", "file holds no YAML document", "write a mapping")
        if not isinstance(self.root, dict):
            kind = type(self.root).__name__ if self.root is not None else "null"
            raise _Refused(1, 1, "LAPSE110", f"the top level must be a mapping, not {kind}")
        return Document(self.path, self.root, self.values, self.keys)

    def feed(self, event: yaml.Event) -> None:
        mark = event.start_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise _Refused(line, col, "LAPSE109", "more than one YAML document in the file")
        elif isinstance(event, yaml.AliasEvent):
            raise _Refused(line, col, "LAPSE107", "aliases (*name) are not allowed")
        elif isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
            self._node(event, line, col)
        elif isinstance(event, yaml.CollectionEndEvent):
            self.stack.pop()
            self.pending_key.pop()

    def _node(self, event: yaml.NodeEvent, line: int, col: int) -> None:
        if event.anchor is not None:
            raise _Refused(line, col, "LAPSE107", f"anchors (&{event.anchor}) are not allowed")
        _refuse_explicit_tag(event, line, col)
        if self.stack and isinstance(self.stack[-1][0], dict) and self.pending_key[-1] is None:
            self.pending_key[-1] = self._key(event, line, col)
            return
        if isinstance(event, yaml.ScalarEvent):
            self._place(_scalar(event), line, col)
            return
        value: dict[str, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
        where = self._place(value, line, col)
        if len(self.stack) >= MAX_DEPTH:
            raise _Refused(line, col, "LAPSE111", f"nesting deeper than {MAX_DEPTH} levels")
        self.stack.append((value, where))
        self.pending_key.append(None)

    def _key(self, event: yaml.NodeEvent, line: int, col: int) -> str:
        if not isinstance(event, yaml.ScalarEvent):
            raise _Refused(line, col, "LAPSE106", "mapping keys must be plain strings")
        key = _scalar(event)
        if event.value == "<<" and not event.style:
            raise _Refused(line, col, "LAPSE107", "merge keys (<<) are not allowed")
        if not isinstance(key, str):
            raise _Refused(
                line,
                col,
                "LAPSE106",
                f"key {event.value!r} is not a string",
                f'quote it: "{event.value}"',
            )
        container, where = self.stack[-1]
        if key in container:
            first = self.keys[(*where, key)]
            raise _Refused(
                line, col, "LAPSE105", f"duplicate key {key!r} (first at line {first[0]})"
            )
        self.keys[(*where, key)] = (line, col)
        return key

    def _place(self, value: Any, line: int, col: int) -> Path:
        if not self.stack:
            self.root, self.has_root = value, True
            self.values[()] = (line, col)
            return ()
        container, where = self.stack[-1]
        if isinstance(container, dict):
            key = self.pending_key[-1]
            assert key is not None
            container[key] = value
            self.pending_key[-1] = None
            node: Path = (*where, key)
        else:
            node = (*where, len(container))
            container.append(value)
        self.values[node] = (line, col)
        return node


def _refuse_explicit_tag(event: yaml.NodeEvent, line: int, col: int) -> None:
    tag = getattr(event, "tag", None)
    if tag is None or tag == "!":
        return
    if isinstance(event, yaml.ScalarEvent) and event.implicit[0]:
        return
    if isinstance(event, yaml.CollectionStartEvent) and event.implicit:
        return
    raise _Refused(line, col, "LAPSE108", f"explicit tags ({tag}) are not allowed")


def _scalar(event: yaml.ScalarEvent) -> Any:
    """A scalar's value under YAML 1.1 core rules, except that timestamps stay text."""
    if event.style:  # quoted and block scalars are always strings; plain style is "" or None
        return event.value
    return _plain(event.value)


def _plain(text: str) -> Any:
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag not in _TYPED:
        return text
    return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, text))
