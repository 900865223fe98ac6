"""One large export read in parts, a process each, and collected as one read would collect it.

A file of JSON lines is cut at line starts (`FileSource.parts`), a folder's files are taken a
few consecutive ones a part (`file_source.split_files`), one part per processor.
This process reads the first part; a forked child reads each other part with a `Collector` of
the same subjects and hands its counts, findings and small lists back in a file, and its ledger
rows and parked events as files of its own, all under a scratch folder removed at the end.

The parts are taken in the order of the file, and each gives what a single reading would have
given there: every line is read alike wherever it lies, counts add up, evidence is put in time
order at the end, lists keep the file's order, and an unreadable line is named by its place in
the whole file. One thing a single reading carries from line to line is the set of people
wanted: a wanted person who mints credentials for a service account makes the account wanted
from then on (`sources.GapRecord.account_event`). A child starts from the people asked for,
so its part is taken only while no earlier part added anyone; from the first part that did,
the rest of the file is read here, line after line, with the set as it stands, and the other
children are stopped. A child that fails (it cannot fork, it dies, its file is unreadable) has
its part read here too. Nothing in a review depends on whether, or how, the file was cut:
`tests/unit/review/test_shards.py` holds the cut reading equal to the whole one, for files
and folders.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from generator.core.model import Event
from generator.review.analysis import Collected, CollectedPart, Collector
from generator.review.file_source import Part
from generator.review.sources import EventSource
from generator.review.subjects import ReviewSubject

# Parts at most: past a few, the parent's merging and the file's bandwidth gain nothing more.
MOST_PARTS = 4


class Track(Protocol):
    """A progress display over this process's events; `absorbed` counts the children's."""

    def __call__(
        self, events: Iterator[Event], absorbed: Callable[[], int] = ...
    ) -> Iterator[Event]: ...


class SplitRead(Protocol):
    """A read of one source in parts (`file_source.FileRead`, `file_source.FilesRead`)."""

    wanted: set[str]
    parts: Sequence[Part]

    def events(self, part: Part) -> Iterator[Event]:
        """The part's events, read here; the people wanted grow as its mintings are read."""
        ...

    def deferring(self) -> None:
        """In a child, before its part: what depends on the parts before is kept for later."""
        ...

    def state(self) -> Any:
        """In a child, after its part: what the source counted and met, to be absorbed."""
        ...

    def absorb(self, state: Any) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Handed:
    """What a child hands back: its source's part state, its collector's, the accounts it
    came to want, and how many events it collected."""

    source: Any
    collected: CollectedPart
    added: frozenset[str]
    events: int


def processors() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def collect_read(
    source: EventSource,
    subjects: Collection[ReviewSubject],
    principals: Collection[str],
    start: datetime,
    end: datetime,
    *,
    grace: timedelta,
    keep_events: bool = True,
    times: bool = False,
    track: Track | None = None,
    parts: int | None = None,
) -> Collected:
    """`analysis.collect` over `source.events(principals, start, end)`, the file read in up to
    `parts` processes (the processors this process may use, by default) when it can be cut."""

    def collector() -> Collector:
        return Collector(subjects, grace=grace, keep_events=keep_events, times=times)

    whole = collector()
    count = min(parts or processors(), MOST_PARTS)
    split = getattr(source, "split", None)
    read: SplitRead | None = None
    if count > 1 and split is not None and hasattr(os, "fork"):
        read = split(principals, start, end, count)
    if read is None:
        stream = source.events(principals, start, end)
        whole.feed(track(stream) if track else stream)
        return whole.collected()
    with tempfile.TemporaryDirectory(prefix="lapse-parts-") as scratch:
        children = [_Child.start(read, part, collector, Path(scratch)) for part in read.parts[1:]]
        absorbed = [0]
        try:
            stream = _in_order(read, whole, children, absorbed)
            whole.feed(track(stream, lambda: absorbed[0]) if track else stream)
        finally:
            for child in children:
                child.stop()
    read.finish()
    return whole.collected()


def _in_order(
    read: SplitRead, whole: Collector, children: Sequence[_Child], absorbed: list[int]
) -> Iterator[Event]:
    """The first part's events; then each child's part absorbed while it is what one reading
    would have collected, else read here."""
    asked = frozenset(read.wanted)
    yield from read.events(read.parts[0])
    for part, child in zip(read.parts[1:], children, strict=True):
        handed = child.result() if read.wanted == asked else None
        if handed is None:
            yield from read.events(part)
            continue
        read.absorb(handed.source)
        whole.absorb(handed.collected)
        read.wanted |= handed.added
        absorbed[0] += handed.events


class _Child:
    """A forked process collecting one part into `<scratch>/<pid>/`, or none when fork failed."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid = pid
        self.out = out
        self.done = pid == 0

    @classmethod
    def start(
        cls, read: SplitRead, part: Part, collector: Callable[[], Collector], scratch: Path
    ) -> _Child:
        folder = Path(tempfile.mkdtemp(dir=scratch))
        out = folder / "handed.pickle"
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:
            return cls(0, out)
        if pid == 0:
            _collect_part(read, part, collector, out)
        return cls(pid, out)

    def result(self) -> _Handed | None:
        """The child's hand-over once it has exited cleanly; None when it did not."""
        if self.done:
            return None
        self.done = True
        _, status = os.waitpid(self.pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        try:
            with self.out.open("rb") as stream:
                # Written by the child into a folder only this user can read (mkdtemp).
                handed = pickle.load(stream)  # noqa: S301
        except (OSError, pickle.UnpicklingError, EOFError):
            return None
        return handed if isinstance(handed, _Handed) else None

    def stop(self) -> None:
        if self.done:
            return
        self.done = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def _collect_part(
    read: SplitRead, part: Part, collector: Callable[[], Collector], out: Path
) -> None:
    """In the child: collect the part, write the hand-over, and leave without running any of
    the parent's exit handlers (its temporary folders are the parent's to remove)."""
    status = 1
    try:
        tempfile.tempdir = str(out.parent)  # the child's own files go where the parent cleans
        asked = frozenset(read.wanted)
        read.deferring()
        mine = collector()
        counted = _Counter(read.events(part))
        mine.feed(counted)
        handed = _Handed(read.state(), mine.part(), frozenset(read.wanted - asked), counted.seen)
        with out.open("wb") as stream:
            pickle.dump(handed, stream, protocol=pickle.HIGHEST_PROTOCOL)
        status = 0
    finally:
        os._exit(status)


class _Counter:
    """The events of an iterator, counted as they pass."""

    def __init__(self, events: Iterator[Event]) -> None:
        self._events = events
        self.seen = 0

    def __iter__(self) -> Iterator[Event]:
        for event in self._events:
            self.seen += 1
            yield event
