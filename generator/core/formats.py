"""Output formats: one map per result type, from a format's name to the function writing it.

A command's `--format` choices are a map's keys (`commands.options.format_option`, which a
test holds to the map), so adding a format is one writer, one entry and its name where the
command names its map; the first entry is the default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

Result = TypeVar("Result")


class Formats(Mapping[str, Callable[[Result], str]]):
    """The writers of one result type by format name (`text`, `json`, `github`, `markdown`)."""

    def __init__(self, writers: Mapping[str, Callable[[Result], str]]) -> None:
        if not writers:
            raise ValueError("a result type needs at least one format")
        self._writers = dict(writers)

    def __getitem__(self, name: str) -> Callable[[Result], str]:
        return self._writers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._writers)

    def __len__(self) -> int:
        return len(self._writers)

    @property
    def default(self) -> str:
        return next(iter(self._writers))

    def write(self, name: str, result: Result) -> str:
        """`result` in the format named; a name outside the map is a programming error."""
        return self._writers[name](result)
