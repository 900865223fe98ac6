"""A file, or a folder's files, read in parts (`shards`): where the parts begin and end, and what
a part's reading hands from one process to another.

A file of JSON lines is cut at line starts: each line is read alone, so a part reads its lines
as the whole file would. What a line is called in the gaps (its number, and whether it is
among the first `MAX_LINE_GAPS` unreadable ones) depends on the lines before it, so a part
read in another process numbers its lines from 1 and keeps its unreadable ones (`Deferred`),
and the whole read's source names them when it absorbs the part (`FileSource.absorb`). A
folder's files are whole parts.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from generator.core.audit_event import Event
from generator.review.sources import Accounting, utc

# A report that lists ten thousand broken lines helps nobody; the count still tells the story.
MAX_LINE_GAPS = 20
# The least a part holds for reading it in another process to pay (see `shards`).
PART_BYTES = 16 << 20


class PartedFile(Protocol):
    """A file source that reads in parts (`file_source.FileSource`)."""

    def part_events(
        self, part: Part, wanted: set[str], start: datetime, end: datetime
    ) -> Iterator[Event]: ...

    def deferring(self) -> None: ...

    def part_state(self) -> PartState: ...

    def absorb(self, state: PartState) -> None: ...

    def end(self) -> None: ...


class WholeFile(Protocol):
    """A file source read whole in one part of a folder (`file_source.FileSource`)."""

    path: Path
    minted: dict[str, datetime]

    def events(
        self, principals: Collection[str], start: datetime, end: datetime
    ) -> Iterator[Event]: ...

    def record(self) -> FileRecord: ...

    def restore(self, record: FileRecord) -> None: ...


class FileRead:
    """One read of a file in parts: the people wanted, grown by each part read here."""

    def __init__(
        self,
        source: PartedFile,
        wanted: set[str],
        start: datetime,
        end: datetime,
        parts: list[Part],
    ) -> None:
        self.source = source
        self.wanted = wanted
        self.start, self.end = start, end
        self.parts = parts
        self.after: list[Callable[[], None]] = []  # what a wrapping source adds at the end

    def events(self, part: Part) -> Iterator[Event]:
        return self.source.part_events(part, self.wanted, self.start, self.end)

    def deferring(self) -> None:
        self.source.deferring()

    def state(self) -> PartState:
        return self.source.part_state()

    def absorb(self, state: PartState) -> None:
        self.source.absorb(state)

    def finish(self) -> None:
        self.source.end()
        for then in self.after:
            then()


class FilesRead:
    """One read of an export's files in parts, consecutive whole files a part (`split_files`):
    the people wanted grow by the accounts minted in each file, as `CombinedSource` reads."""

    def __init__(
        self,
        sources: Sequence[WholeFile],
        wanted: set[str],
        start: datetime,
        end: datetime,
        parts: list[Part],
    ) -> None:
        self.sources = sources
        self.wanted = wanted
        self.start, self.end = start, end
        self.parts = parts  # Part(first file, after the last file)
        self.after: list[Callable[[], None]] = []

    def events(self, part: Part) -> Iterator[Event]:
        for source in self.sources[part.begin : part.stop]:
            yield from source.events(self.wanted, self.start, self.end)
            self.wanted.update(source.minted)

    def deferring(self) -> None:
        """Nothing to defer: each file of a part is read whole there."""

    def state(self) -> list[FileRecord]:
        return [source.record() for source in self.sources]

    def absorb(self, state: list[FileRecord]) -> None:
        for source, record in zip(self.sources, state, strict=True):
            if record.read:
                source.restore(record)

    def finish(self) -> None:
        for then in self.after:
            then()


def split_files(
    sources: Sequence[WholeFile],
    principals: Collection[str],
    start: datetime,
    end: datetime,
    count: int,
    smallest: int | None = None,
) -> FilesRead | None:
    """A read of `sources` in up to `count` parts of consecutive files, about as many bytes
    each, when they hold at least `smallest` bytes (`PART_BYTES`) a part; else None."""
    smallest = PART_BYTES if smallest is None else smallest
    try:
        sizes = [source.path.stat().st_size for source in sources]
    except OSError:
        return None  # the read itself will name the failure
    total = sum(sizes)
    if count < 2 or len(sources) < 2 or total < count * smallest:
        return None
    cuts, running = [0], 0
    for index, size in enumerate(sizes):
        running += size
        if running >= total * len(cuts) / count and index + 1 < len(sources):
            cuts.append(index + 1)
    bounds = [*cuts, len(sources)]
    parts = [Part(begin, stop) for begin, stop in itertools.pairwise(bounds)]
    return FilesRead(sources, set(principals), utc(start), utc(end), parts)


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What reading one file whole counted and met, handed from one process to another."""

    read: bool
    accounting: Accounting
    gaps: list[str]
    principal_gaps: dict[str, list[str]]
    minted: dict[str, datetime]


@dataclass(frozen=True, slots=True)
class Part:
    """Bytes [begin, stop) of a file: whole lines, or the file's start."""

    begin: int
    stop: int


class Deferred:
    """Unreadable lines of a part, kept to be named by the whole read (`FileSource.absorb`):
    the first few whole; past them every line is past the file's first few too, so only its
    owners and the count are kept, and memory stays bounded."""

    def __init__(self) -> None:
        self.lines: list[tuple[tuple[str, ...], int, str]] = []
        self.more: dict[str, None] = {}
        self.hidden = 0

    def add(self, owners: tuple[str, ...], number: int, reason: str) -> None:
        if len(self.lines) < MAX_LINE_GAPS:
            self.lines.append((owners, number, reason))
            return
        self.hidden += 1
        self.more.update(dict.fromkeys(owners))


@dataclass(frozen=True, slots=True)
class PartState:
    """What a part's reading counted and met, handed from one process to another."""

    accounting: Accounting
    gaps: list[str]
    principal_gaps: dict[str, list[str]]
    minted: dict[str, datetime]
    deferred: Deferred
    lines: int  # how many lines the part holds


class Slice(io.RawIOBase):
    """Bytes [begin, stop) of an open file, read with `preadv` (the file's offset is untouched)."""

    def __init__(self, fd: int, begin: int, stop: int) -> None:
        super().__init__()
        self._fd, self._at, self._stop = fd, begin, stop

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._stop - self._at)
        if wanted <= 0:
            return 0
        read = os.preadv(self._fd, [memoryview(buffer)[:wanted]], self._at)
        self._at += read
        return read
