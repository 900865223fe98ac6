"""What reading each request file found, kept by the file's path and bytes.

Reading a request (its YAML, LAPSE112's plain reading, the request schema, its values) depends
on nothing but the file's repository path and bytes, the schema and the code; a pull request
changes one or two files of thousands. The local cache (`generator.core.cache`) keeps, in one
table per version of lapse and of its parsers and per schema, what each file read as: its
problems, and its request when it is one. A file found there is not loaded again: its document
only locates, its positions read again from its bytes when a rule raises a problem (as the
rules across requests already hold every document). A run writes back only the entries it
used, so files since changed, moved or removed fall out.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from generator.checks import tree
from generator.core import cache
from generator.core.model import Extension, Grant, Problem, Request, Window

KIND = "request-readings"
# Everything whose code decides a reading: lapse, the YAML parser, both schema validators.
# Lapse is hashed with what the tree checks hash it with, so a run hashes its sources once.
PARSERS = ("yaml", "jsonschema_rs", "jsonschema")
CODE = (*tree.CODE, *PARSERS)


@dataclass(frozen=True, slots=True)
class Reading:
    """A request file's problems before its rules, and the request it reads as (or None)."""

    problems: tuple[Problem, ...]
    request: Request | None


@dataclass(slots=True)
class Readings:
    """One run's table: each entry's text until a file asks for it, then its reading.

    The table is a line per entry, its key and its JSON. An entry is decoded when its file
    asks for it and its text is dropped then: the whole table decoded at once would take
    several times the room of its text, and the run keeps every request anyway. Writing the
    table back (when a file changed or went) encodes the readings again."""

    name: str | None  # None: the schema could not be read, so nothing is kept
    entries: dict[bytes, bytes | Reading]
    fresh: set[bytes] = field(default_factory=set)  # the keys of readings made this run

    def get(self, path: str, raw: bytes, digest: str | None = None) -> Reading | None:
        """What the file at repository path `path` holding `raw` read as, when kept.
        `digest` is `cache.digest(path, raw)`, when the caller has it already."""
        key = (digest or cache.digest(path, raw)).encode()
        entry = self.entries.get(key)
        if not isinstance(entry, bytes):
            return None  # not kept, or asked for already (a file is read once a run)
        try:
            reading = _reading(path, orjson.loads(entry))
        except (TypeError, ValueError, IndexError):
            del self.entries[key]
            return None  # an entry of another shape is no entry
        self.entries[key] = reading
        return reading

    def put(self, path: str, raw: bytes, reading: Reading, digest: str | None = None) -> None:
        if self.name is not None and _keepable(path, reading):
            key = (digest or cache.digest(path, raw)).encode()
            self.entries[key] = reading
            self.fresh.add(key)

    def save(self) -> None:
        """Write the table back when this run read files the table did not hold, or did not
        read some it holds: the lines of the entries used as they were, and new ones."""
        if self.name is None:
            return
        used = {key: r for key, r in self.entries.items() if isinstance(r, Reading)}
        if not self.fresh and len(used) == len(self.entries):
            return
        lines: list[bytes] = []
        for line in io.BytesIO(cache.read(KIND, self.name) or b""):
            key = line.partition(b" ")[0]
            if key in used and key not in self.fresh and line.endswith(b"\n"):
                lines.append(line)
                del used[key]  # once
        lines += [b"%s %s\n" % (key, _entry(reading)) for key, reading in used.items()]
        cache.write(KIND, self.name, b"".join(lines))


def open_readings(schema: bytes | None) -> Readings:
    """The table for `schema` (the request schema's bytes; None when it cannot be read)."""
    if schema is None or cache.folder() is None:
        return Readings(None, {})
    name = cache.digest(cache.code_digest(*tree.CODE), cache.code_digest(*PARSERS), schema)
    raw = cache.read(KIND, name)
    found: dict[bytes, bytes | Reading] = {}
    for line in io.BytesIO(raw or b""):  # a line at a time: never the whole table twice
        key, _, entry = line.partition(b" ")
        found[key] = entry
    return Readings(name, found)


# An entry is positional, without the file's path (its key holds it):
#   [[[line, col, rule, level, message, hint], ...], request or null]
#   request: [id, target, requester, reason, ticket, starts or null, expires,
#             [[role, kind, resource, line, col], ...], emergency,
#             [[at, [days, seconds, microseconds], reason, line, col], ...]]


def _keepable(path: str, reading: Reading) -> bool:
    """Whether the entry, which leaves the path out, reads back as `reading`."""
    named = {problem.path for problem in reading.problems}
    if reading.request is not None:
        named.add(reading.request.path)
    return named <= {path}


def _entry(reading: Reading) -> bytes:
    problems = [[p.line, p.col, p.rule, p.level, p.message, p.hint] for p in reading.problems]
    return orjson.dumps([problems, _request_entry(reading.request)])


def _request_entry(request: Request | None) -> list[Any] | None:
    if request is None:
        return None
    window = request.window
    return [
        request.id,
        request.target,
        request.requester,
        request.reason,
        request.ticket,
        None if window.starts is None else window.starts.isoformat(),
        window.expires.isoformat(),
        [[g.role, g.kind, g.resource, g.line, g.col] for g in request.grants],
        request.emergency,
        [
            [
                e.at.isoformat(),
                [e.by.days, e.by.seconds, e.by.microseconds],
                e.reason,
                e.line,
                e.col,
            ]
            for e in request.extensions
        ],
    ]


def _reading(path: str, entry: list[Any]) -> Reading:
    problems, request = entry
    found = tuple(Problem(path, *problem) for problem in problems)
    return Reading(found, None if request is None else _request(path, request))


def _request(path: str, entry: list[Any]) -> Request:
    id_, target, requester, reason, ticket, starts, expires, grants, emergency, extensions = entry
    return Request(
        id=id_,
        target=target,
        path=path,
        requester=requester,
        reason=reason,
        ticket=ticket,
        window=Window(
            None if starts is None else datetime.fromisoformat(starts),
            datetime.fromisoformat(expires),
        ),
        # A kind is one of a few names: shared, as the loader's registry shares them.
        grants=tuple(Grant(g[0], sys.intern(g[1]), *g[2:]) for g in grants),
        emergency=emergency,
        extensions=tuple(_extension(extension) for extension in extensions),
    )


def _extension(entry: list[Any]) -> Extension:
    at, (days, seconds, microseconds), reason, line, col = entry
    return Extension(
        datetime.fromisoformat(at), timedelta(days, seconds, microseconds), reason, line, col
    )
