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
    """One run's table: the entries not yet asked for, and those used (to write back).

    Each entry is kept as its own JSON text, decoded when asked for: the whole table decoded
    at once would take several times the room of its text."""

    name: str | None  # None: the schema could not be read, so nothing is kept
    found: dict[str, str]
    used: dict[str, str] = field(default_factory=dict)
    added: bool = False

    def key(self, path: str, raw: bytes) -> str:
        return cache.digest(path, raw)

    def get(self, key: str) -> Reading | None:
        entry = self.found.pop(key, None)
        if entry is None:
            return None
        try:
            reading = _reading(orjson.loads(entry))
        except (KeyError, TypeError, ValueError):
            return None  # an entry of another shape is no entry
        self.used[key] = entry
        return reading

    def put(self, key: str, reading: Reading) -> None:
        if self.name is not None:
            self.used[key] = _entry(reading)
            self.added = True

    def save(self) -> None:
        """Write the table back when this run read other files than the table holds."""
        if self.name is None or not (self.added or self.found):
            return
        cache.write(KIND, self.name, orjson.dumps(self.used))


def open_readings(schema: bytes | None) -> Readings:
    """The table for `schema` (the request schema's bytes; None when it cannot be read)."""
    if schema is None or cache.folder() is None:
        return Readings(None, {})
    name = cache.digest(cache.code_digest(*tree.CODE), cache.code_digest(*PARSERS), schema)
    raw = cache.read(KIND, name)
    try:
        found = orjson.loads(raw) if raw is not None else {}
    except orjson.JSONDecodeError:
        found = {}
    if not isinstance(found, dict):
        return Readings(name, {})
    return Readings(name, {key: entry for key, entry in found.items() if isinstance(entry, str)})


def _entry(reading: Reading) -> str:
    entry = {"problems": reading.problems, "request": reading.request}
    return orjson.dumps(entry, default=_duration).decode()


def _duration(value: object) -> list[int]:
    if isinstance(value, timedelta):
        return [value.days, value.seconds, value.microseconds]
    raise TypeError(f"cannot keep {type(value).__name__}")


def _reading(entry: dict[str, Any]) -> Reading:
    problems = tuple(Problem(**problem) for problem in entry["problems"])
    raw = entry["request"]
    return Reading(problems, None if raw is None else _request(raw))


def _request(raw: dict[str, Any]) -> Request:
    window = raw["window"]
    starts = window["starts"]
    return Request(
        id=raw["id"],
        target=raw["target"],
        path=raw["path"],
        requester=raw["requester"],
        reason=raw["reason"],
        ticket=raw["ticket"],
        window=Window(
            None if starts is None else datetime.fromisoformat(starts),
            datetime.fromisoformat(window["expires"]),
        ),
        grants=tuple(Grant(**grant) for grant in raw["grants"]),
        emergency=raw["emergency"],
        extensions=tuple(_extension(extension) for extension in raw["extensions"]),
    )


def _extension(raw: dict[str, Any]) -> Extension:
    days, seconds, microseconds = raw["by"]
    return Extension(
        datetime.fromisoformat(raw["at"]),
        timedelta(days, seconds, microseconds),
        raw["reason"],
        raw["line"],
        raw["col"],
    )
