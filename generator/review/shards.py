"""One large export read in parts, a process each, and collected as one read would collect it.

A file of JSON lines is cut at line starts (`FileSource.parts`), a folder's files are taken a
few consecutive ones a part (`file_parts.split_files`), one part per processor.
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

The reports are written by two processes too (`in_two`): a child writes half of them, reading
the ledger's file through a connection of its own once every row is in it.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from generator.core.audit_event import Event
from generator.core.writing import temporary_folder, writing
from generator.review.collector import Collected, CollectedPart, Collector
from generator.review.file_parts import Part
from generator.review.sources import EventSource
from generator.review.subjects import ReviewSubject

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

T = TypeVar("T")
# Parts at most: past a few, the parent's merging and the file's bandwidth gain nothing more.
MOST_PARTS = 4
# In a child, what it handed over (`_collect_part`).
_HANDED_OVER: list[Collector] = []


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
    if count > 1 and split is not None and hasattr(os, "fork"):  # fork: Linux, macOS
        read = split(principals, start, end, count)
    if read is None:
        stream = source.events(principals, start, end)
        whole.feed(track(stream) if track else stream)
        return whole.collected()
    with temporary_folder("lapse-parts-") as scratch:
        children = [
            _Child.start(_collect_part, (read, part, collector), Path(scratch))
            for part in read.parts[1:]
        ]
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
        if read.wanted != asked:
            child.stop()  # its part, read without the accounts added since, is not taken
        handed = child.result()
        if handed is None:
            yield from read.events(part)
            continue
        read.absorb(handed.source)
        whole.absorb(handed.collected)
        read.wanted |= handed.added
        absorbed[0] += handed.events


class _Child:
    """A forked process collecting one part into a folder of its own, or none when the fork
    failed."""

    def __init__(self, process: BaseProcess | None, out: Path) -> None:
        self.process = process
        self.out = out

    @classmethod
    def start(cls, target: Callable[..., None], args: tuple[Any, ...], scratch: Path) -> _Child:
        """`target(*args, out)` in a forked child, `out` a file in a folder of the child's own
        under `scratch`."""
        import multiprocessing  # noqa: PLC0415 (only work in parts needs it)

        with writing(scratch):
            out = Path(tempfile.mkdtemp(dir=scratch)) / "handed.pickle"
        sys.stdout.flush()
        sys.stderr.flush()
        # Forked: the child has the subjects and the open source as they are here, unpickled.
        process = multiprocessing.get_context("fork").Process(
            target=target, args=(*args, out), daemon=True
        )
        try:
            process.start()
        except OSError:
            return cls(None, out)
        return cls(process, out)

    def ended_well(self) -> bool:
        """Whether the child ended cleanly, its `out` written."""
        if self.process is None:
            return False
        self.process.join()
        ended, self.process = self.process.exitcode, None
        return ended == 0 and self.out.exists()

    def result(self) -> _Handed | None:
        """The child's hand-over once it has ended cleanly; None when it did not."""
        if not self.ended_well():
            return None
        try:
            with self.out.open("rb") as stream:
                # Written by the child into a folder only this user can read (mkdtemp).
                handed = pickle.load(stream)  # noqa: S301
        except (OSError, pickle.UnpicklingError, EOFError):
            return None
        return handed if isinstance(handed, _Handed) else None

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.join()
            self.process = None


def _collect_part(
    read: SplitRead, part: Part, collector: Callable[[], Collector], out: Path
) -> None:
    """In the child: collect the part and write the hand-over. Whatever fails, nothing is
    written and the parent reads the part itself; the child's own temporary files go under the
    parent's scratch folder, which the parent removes."""
    tempfile.tempdir = str(out.parent)
    try:
        asked = frozenset(read.wanted)
        read.deferring()
        mine = collector()
        # Kept till the process ends, so that collecting it does not remove its files: they
        # are the parent's now, to read and remove with the scratch folder.
        _HANDED_OVER.append(mine)
        counted = _Counter(read.events(part))
        mine.feed(counted)
        handed = _Handed(read.state(), mine.part(), frozenset(read.wanted - asked), counted.seen)
        with writing(out), out.open("wb") as stream:
            pickle.dump(handed, stream, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: S110 (nothing handed over: the parent reads the part itself)
        pass


class _Counter:
    """The events of an iterator, counted as they pass."""

    def __init__(self, events: Iterator[Event]) -> None:
        self._events = events
        self.seen = 0

    def __iter__(self) -> Iterator[Event]:
        for event in self._events:
            self.seen += 1
            yield event


def in_two(
    items: Sequence[T],
    work: Callable[[Sequence[T]], None],
    *,
    forking: Callable[[], None],
    forked: Callable[[], None],
    also: Callable[[], None] = lambda: None,
) -> None:
    """`work(items)`, its second half done by a forked child when this process may use more
    than one processor, then `also()` here. `forking` runs here first, `forked` in the child (a
    ledger's rows all put in its file here, read there through a connection of the child's
    own); `also` runs while the child works, and needs nothing the child does. A child that
    fails has its half done here again."""
    half = len(items) // 2
    if processors() < 2 or not half or not hasattr(os, "fork"):
        work(items)
        also()
        return
    forking()
    with temporary_folder("lapse-parts-") as scratch:
        child = _Child.start(_work_part, (items[half:], work, forked), Path(scratch))
        try:
            work(items[:half])
            also()
        finally:
            done = child.ended_well()
    if not done:
        work(items[half:])


def _work_part(
    items: Sequence[Any],
    work: Callable[[Sequence[Any]], None],
    forked: Callable[[], None],
    out: Path,
) -> None:
    """In the child: the work, then `out` written to say it was all done."""
    tempfile.tempdir = str(out.parent)
    try:
        forked()
        work(items)
        with writing(out):
            out.write_bytes(b"")
    except Exception:  # noqa: S110 (`out` unwritten: the parent does the work itself)
        pass
