"""A file read in parts, a process each, collects what reading it whole collects (`shards`)."""

from __future__ import annotations

import gzip
import itertools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.review import shards
from generator.review.analysis import review_collected
from generator.review.collector import Collector
from generator.review.export_manifest import ManifestedExport
from generator.review.file_parts import Part, split_files
from generator.review.file_source import FileSource
from generator.review.ledger import ActionLedger
from generator.review.sources import CombinedSource, wanted_principals

from .conftest import GRACE, SCENARIO, at, request, scenario_subject, subject
from .test_audit_real import real_files

START, END = at("2026-11-01T00:00:00"), at("2026-12-31T00:00:00")
ALICE = "alice@example.com"
UNDATED = "test-user@example.com"  # the real entries' person, with a window dated by the log
MINTER = "minter@example.com"
ACCOUNT = "deployer@pci-prod-payments.iam.gserviceaccount.com"


def entry(principal: str, at_time: str, number: int, **payload: Any) -> bytes:
    name = f"projects/_/buckets/settlement-exports/objects/batch-{number}.csv"
    body = {
        "authenticationInfo": {"principalEmail": principal},
        "serviceName": "storage.googleapis.com",
        "methodName": "storage.objects.get",
        "resourceName": name,
        "authorizationInfo": [
            {"resource": name, "permission": "storage.objects.get", "granted": True}
        ],
        **payload,
    }
    return orjson.dumps(
        {
            "protoPayload": body,
            "insertId": f"line-{number}",
            "timestamp": f"{at_time}Z",
            "logName": "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Fdata_access",
        }
    )


def minting(number: int) -> bytes:
    return entry(
        MINTER,
        "2026-12-01T10:00:00",
        number,
        serviceName="iamcredentials.googleapis.com",
        methodName="GenerateAccessToken",
        resourceName=f"projects/-/serviceAccounts/{ACCOUNT}",
        authorizationInfo=[],
    )


def real_lines() -> list[bytes]:
    lines = []
    for path in real_files():
        if path.suffix == ".json":
            lines.append(orjson.dumps(orjson.loads(path.read_bytes())))
        else:
            lines.extend(line for line in path.read_bytes().splitlines() if line.strip())
    return lines


REAL_LINES = real_lines()
SCENARIO_LINES = [line for line in SCENARIO.read_bytes().splitlines() if line.strip()]
KINDS: dict[str, Callable[[int], bytes]] = {
    "in window": lambda n: entry(ALICE, "2026-12-01T10:00:00", n),
    "after": lambda n: entry(ALICE, "2026-12-01T15:00:00", n),
    "other": lambda n: entry("svc@pci-prod-payments.iam.gserviceaccount.com", "2026-12-01", n),
    "denied": lambda n: entry(ALICE, "2026-12-01T11:00:00", n, status={"code": 7}),
    "undated": lambda n: entry(UNDATED, "2026-12-01T11:00:00", n),
    "minting": minting,
    "account": lambda n: entry(ACCOUNT, "2026-12-01T10:05:00", n),
    "broken, alice's": lambda n: (
        b'{"protoPayload":{"authenticationInfo":{"principalEmail":' + b'"alice@example.com"'
    ),
    "broken, nobody's": lambda n: b"not json at all",
    "blank": lambda n: b"   ",
    "real": lambda n: REAL_LINES[n % len(REAL_LINES)],
    "scenario": lambda n: SCENARIO_LINES[n % len(SCENARIO_LINES)],
}


def subjects() -> list[Any]:
    return [
        scenario_subject(),
        subject(request(id="inc-1-undated", requester=UNDATED, starts=None)),
        subject(request(id="inc-2-minter", requester=MINTER)),
    ]


def outcome(source: FileSource, collected: Any) -> Any:
    """Everything a review and its report read, and the source's own record."""
    reviews = review_collected(collected, gaps=source.gaps, principal_gaps=source.principal_gaps)
    return (
        [
            (
                r.subject.binding_at,
                r.count_in_window,
                r.count_after,
                r.first_event_at,
                r.findings,
                r.gaps,
                r.actions,
                r.actions_after,
                r.times_in_window,
            )
            for r in reviews
        ],
        {account: list(mints) for account, mints in collected.mints.items()},
        collected.logins,
        source.accounting,
        source.minted,
    )


def whole(path: Path) -> Any:
    source = FileSource(path)
    collector = Collector(subjects(), grace=GRACE, keep_events=False, times=True)
    collector.feed(source.events(PEOPLE, START, END))
    return outcome(source, collector.collected())


def cut(path: Path, parts: int, **options: Any) -> Any:
    source = FileSource(path)
    collected = shards.collect_read(
        source,
        subjects(),
        PEOPLE,
        START,
        END,
        grace=GRACE,
        times=True,
        keep_events=False,
        parts=parts,
        **options,
    )
    return outcome(source, collected)


PEOPLE = (ALICE, UNDATED, MINTER)


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any file may be cut, however small, so that every line can lie in any part."""
    monkeypatch.setattr("generator.review.file_parts.PART_BYTES", 1)


@pytest.fixture
def handed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many parts children handed over and this process took: the cut did happen."""
    taken: list[int] = []
    real = shards._Child.result

    def result(self: Any) -> Any:
        found = real(self)
        if found is not None:
            taken.append(found.events)
        return found

    monkeypatch.setattr(shards._Child, "result", result)
    return taken


def written(tmp_path: Path, lines: Sequence[bytes]) -> Path:
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=60),
    parts=st.integers(2, 4),
)
def test_a_file_cut_anywhere_collects_what_the_whole_file_does(
    tmp_path: Path, kinds: list[str], parts: int
) -> None:
    path = written(tmp_path, [KINDS[kind](n) for n, kind in enumerate(kinds)])
    assert cut(path, parts) == whole(path)


def test_the_cut_files_are_cut_and_their_parts_taken(tmp_path: Path, handed: list[int]) -> None:
    kinds = [k for k in sorted(KINDS) if k != "minting"] * 4
    path = written(tmp_path, [KINDS[k](n) for n, k in enumerate(kinds)])
    assert cut(path, 4) == whole(path)
    assert len(handed) == 3 and sum(handed) > 0


def test_every_real_entry_and_the_scenario_cut_in_four(tmp_path: Path, handed: list[int]) -> None:
    path = written(tmp_path, [*REAL_LINES, *SCENARIO_LINES] * 3)
    expected = whole(path)
    assert expected[3].events > 30  # the people's events are there to be collected
    assert cut(path, 4) == expected
    # A person under review mints credentials in the second part: the rest is read here.
    assert len(handed) == 1
    handed.clear()
    no_minting = [line for line in REAL_LINES if b"GenerateAccessToken" not in line]
    plain = written(tmp_path, no_minting * 3)
    assert cut(plain, 4) == whole(plain)
    assert len(handed) == 3


def test_unreadable_lines_are_named_by_their_place_in_the_whole_file(tmp_path: Path) -> None:
    """Past the first twenty, a file's unreadable lines are only counted: which ones are the
    first twenty is the file's order, not a part's. Here the second part's lines of Alice's
    come after twenty others of that part, so only the whole file's count names them."""
    alices = KINDS["broken, alice's"](0)
    nobodys = b"not json: " + b"x" * (len(alices) - 10)  # as long, so parts cut by lines
    path = written(tmp_path, [KINDS["other"](0), *[nobodys] * 150, *[alices] * 30])
    source = FileSource(path)
    shards.collect_read(source, subjects(), PEOPLE, START, END, grace=GRACE, parts=2)
    assert source.gaps[0].startswith(f"{path}: line 2: ")
    assert source.gaps[0].endswith("(whose, it cannot say)")
    assert source.gaps[19].startswith(f"{path}: line 21: ")
    assert source.gaps[20:] == [f"{path}: 160 more unreadable lines"]
    assert source.principal_gaps == {ALICE: [f"{path}: more unreadable lines"]}
    assert whole(path)[3] == cut(path, 2)[3]


def test_a_minting_in_the_first_part_has_the_rest_read_here(
    tmp_path: Path, handed: list[int]
) -> None:
    """The account a wanted person minted for is wanted from then on: a child that started
    without it would miss its lines, so its part is read again, in this process."""
    lines = [minting(0), *(KINDS["other"](n) for n in range(1, 40)), KINDS["account"](40)]
    path = written(tmp_path, lines)
    expected = whole(path)
    assert expected[3].events == 2  # the minting and the account's use of it
    assert cut(path, 2) == expected
    assert handed == []  # the child's part, read without the account, was not taken


def test_a_child_that_fails_has_its_part_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handed: list[int]
) -> None:
    path = written(tmp_path, [KINDS[k](n) for n, k in enumerate(sorted(KINDS) * 4)])
    expected = whole(path)
    parent = os.getpid()
    real_feed = Collector.feed

    def feed(self: Collector, events: Any) -> None:
        if os.getpid() != parent:
            raise RuntimeError("a child dies")
        real_feed(self, events)

    monkeypatch.setattr(Collector, "feed", feed)
    assert cut(path, 3) == expected
    assert handed == []


def test_a_failed_fork_has_every_part_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = written(tmp_path, [KINDS[k](n) for n, k in enumerate(sorted(KINDS) * 4)])
    expected = whole(path)

    def no_fork() -> int:
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert cut(path, 3) == expected


def test_children_leave_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    path = written(tmp_path, [KINDS[k](n) for n, k in enumerate(sorted(KINDS) * 4)])
    cut(path, 3)
    leftover = [p.name for p in scratch.iterdir()]
    assert all(name.startswith("lapse-review-") for name in leftover)  # this process's spool
    assert not any(name.startswith("lapse-parts-") for name in leftover)


def test_only_plain_json_lines_of_some_size_are_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [KINDS["in window"](n) for n in range(20)]
    path = written(tmp_path, lines)
    parts = FileSource(path).parts(3)
    assert parts is not None and len(parts) == 3
    assert parts[0].begin == 0 and parts[-1].stop == path.stat().st_size
    assert all(a.stop == b.begin for a, b in itertools.pairwise(parts))
    content = path.read_bytes()
    assert all(content[p.begin - 1 : p.begin] == b"\n" for p in parts[1:])  # at line starts
    assert FileSource(path).parts(1) is None
    packed = tmp_path / "export.jsonl.gz"
    packed.write_bytes(gzip.compress(content))
    assert FileSource(packed).parts(3) is None
    array = tmp_path / "array.json"
    array.write_bytes(b"[" + b",\n".join(lines) + b"]")
    assert FileSource(array).parts(3) is None
    monkeypatch.setattr("generator.review.file_parts.PART_BYTES", len(content))
    assert FileSource(path).parts(2) is None  # each part would be under the least
    assert FileSource(path).parts(2, smallest=len(content) // 2) is not None


def test_a_part_reads_only_its_own_lines(tmp_path: Path) -> None:
    path = written(tmp_path, [KINDS["in window"](n) for n in range(10)])
    source = FileSource(path)
    wanted = set(wanted_principals(PEOPLE))
    parts = source.parts(3)
    assert parts is not None
    ids = [[e.insert_id for e in source.part_events(part, wanted, START, END)] for part in parts]
    assert [i for found in ids for i in found] == [f"line-{n}" for n in range(10)]
    assert all(ids)
    assert list(source.part_events(Part(0, 0), wanted, START, END)) == []


def test_a_progress_display_counts_the_events_the_children_read(
    tmp_path: Path, handed: list[int]
) -> None:
    """`track` sees this process's events; the children's come through `absorbed`."""
    # No line mints a credential (the scenario's and the real entries' do), so every part is
    # taken from its child.
    kinds = [k for k in sorted(KINDS) if k not in ("minting", "scenario", "real")] * 20
    path = written(tmp_path, [KINDS[k](n) for n, k in enumerate(kinds)])
    told: list[int] = []

    def track(events: Any, absorbed: Callable[[], int] = lambda: 0) -> Any:
        count = 0
        for count, item in enumerate(events, start=1):  # noqa: B007
            yield item
        told.append(count + absorbed())

    collected = shards.collect_read(
        FileSource(path), subjects(), PEOPLE, START, END, grace=GRACE, parts=3, track=track
    )
    assert len(handed) == 2 and all(handed)
    source = FileSource(path)
    serial = shards.collect_read(
        source, subjects(), PEOPLE, START, END, grace=GRACE, parts=1, track=track
    )
    assert told == [source.accounting.events] * 2
    assert [t.in_window for t in collected.tallies] == [t.in_window for t in serial.tallies]


def test_a_part_keeps_the_first_unreadable_lines_whole_and_only_counts_the_rest() -> None:
    from generator.review.file_parts import Deferred

    deferred = Deferred()
    for number in range(100):
        deferred.add((ALICE,) if number % 2 else (), number, "why")
    assert [number for _, number, _ in deferred.lines] == list(range(20))
    assert deferred.hidden == 80
    assert list(deferred.more) == [ALICE]


def folder_outcome(folder: Path, parts: int) -> Any:
    files = sorted(folder.glob("*.jsonl*"))
    source = ManifestedExport(folder, CombinedSource([FileSource(p) for p in files]))
    collected = shards.collect_read(
        source, subjects(), PEOPLE, START, END, grace=GRACE, times=True, parts=parts
    )
    reviews = review_collected(collected, gaps=source.gaps, principal_gaps=source.principal_gaps)
    return (
        [(r.count_in_window, r.count_after, r.findings, r.gaps, r.actions) for r in reviews],
        source.gaps,
        source.principal_gaps,
        source.accounting,
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=40),
    files=st.integers(2, 6),
    parts=st.integers(2, 4),
    packed=st.booleans(),
)
def test_a_folder_read_a_few_files_a_part_collects_what_reading_them_in_turn_does(
    tmp_path_factory: pytest.TempPathFactory,
    kinds: list[str],
    files: int,
    parts: int,
    packed: bool,
) -> None:
    folder = tmp_path_factory.mktemp("export")
    lines = [KINDS[kind](n) for n, kind in enumerate(kinds)]
    for index in range(files):
        text = b"".join(line + b"\n" for line in lines[index::files])
        name = folder / f"{index:02d}.jsonl"
        if packed and index % 2:
            name.with_suffix(".jsonl.gz").write_bytes(gzip.compress(text))
        else:
            name.write_bytes(text)
    assert folder_outcome(folder, parts) == folder_outcome(folder, 1)


def test_a_folder_is_cut_between_files_and_a_minting_carries_on(
    tmp_path: Path, handed: list[int]
) -> None:
    """The account minted in the first file is wanted in the last: its part is read here."""
    first = tmp_path / "00.jsonl"
    first.write_bytes(minting(0) + b"\n" + KINDS["in window"](1) + b"\n")
    for index in range(1, 4):
        (tmp_path / f"{index:02d}.jsonl").write_bytes(KINDS["account"](10 + index) + b"\n")
    sources = [FileSource(p) for p in sorted(tmp_path.glob("*.jsonl"))]
    read = split_files(sources, PEOPLE, START, END, 2)
    assert read is not None
    assert [(p.begin, p.stop) for p in read.parts] == [(0, 2), (2, 4)]
    cut_up, whole_read = folder_outcome(tmp_path, 2), folder_outcome(tmp_path, 1)
    assert cut_up == whole_read
    assert whole_read[3].events == 5  # the minting, Alice's read, the account's three
    assert handed == []
    (tmp_path / "00.jsonl").write_bytes(KINDS["in window"](1) + b"\n")
    assert folder_outcome(tmp_path, 2) == folder_outcome(tmp_path, 1)
    assert len(handed) == 1


def test_work_in_two_is_the_work_done_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Half the items in a forked child, half here; every item once, whatever the child."""
    monkeypatch.setattr(shards, "processors", lambda: 2)
    items = [f"item-{n}" for n in range(7)]
    calls: list[str] = []

    def work(some: Sequence[str]) -> None:
        for item in some:
            (tmp_path / item).write_text(str(os.getpid()))
        calls.append(f"{len(some)} in {os.getpid()}")

    def also() -> None:  # here, while the child works: its half is not yet certain
        calls.append(f"also in {os.getpid()}")

    shards.in_two(
        items, work, forking=lambda: calls.append("forking"), forked=lambda: None, also=also
    )
    writers = {(tmp_path / item).read_text() for item in items}
    assert len(writers) == 2 and str(os.getpid()) in writers
    assert calls == ["forking", f"3 in {os.getpid()}", f"also in {os.getpid()}"]


def test_a_failed_half_is_done_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shards, "processors", lambda: 2)
    items = [f"item-{n}" for n in range(4)]
    parent = os.getpid()

    def forked() -> None:
        raise RuntimeError("the child cannot start")

    def work(some: Sequence[str]) -> None:
        for item in some:
            (tmp_path / item).write_text(str(os.getpid()))

    shards.in_two(items, work, forking=lambda: None, forked=forked)
    assert {(tmp_path / item).read_text() for item in items} == {str(parent)}


def test_one_processor_or_one_item_is_done_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done: list[tuple[int, int]] = []

    def work(some: Sequence[str]) -> None:
        done.append((len(some), os.getpid()))

    def also() -> None:
        done.append((0, os.getpid()))

    monkeypatch.setattr(shards, "processors", lambda: 1)
    shards.in_two(["a", "b"], work, forking=lambda: None, forked=lambda: None, also=also)
    monkeypatch.setattr(shards, "processors", lambda: 2)
    shards.in_two(["a"], work, forking=lambda: None, forked=lambda: None, also=also)
    here = os.getpid()
    assert done == [(2, here), (0, here), (1, here), (0, here)]


def listed_in_two(ledger: ActionLedger, folder: Path, forking: Callable[[], object]) -> str:
    """The grant's rows as this process and a forked child list them (`in_two`, the ledger
    reopened there); the same text from both, the child's shown to be its own."""

    def work(some: Sequence[str]) -> None:
        for item in some:
            (folder / item).write_text(repr(list(ledger.rows(0, False))))
            (folder / f"{item}.pid").write_text(str(os.getpid()))

    shards.in_two(["here", "there"], work, forking=forking, forked=ledger.reopen)
    assert (folder / "there.pid").read_text() != str(os.getpid())  # the child listed them
    here = (folder / "here").read_text()
    assert here == (folder / "there").read_text()
    return here


def test_a_ledger_reopened_in_a_child_reads_the_rows_stored_before_the_fork(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shards, "processors", lambda: 2)
    ledger = ActionLedger()
    for n in range(3):
        ledger.add((0, False, "storage.googleapis.com", "get", f"r{n}"), False, START)
    assert len(list(ledger.rows(0, False))) == 3  # in the file now
    ledger.add((0, False, "storage.googleapis.com", "get", "r9"), False, START)  # held, unmerged
    assert "r9" in listed_in_two(ledger, tmp_path, ledger.stored)


def test_a_ledger_reopened_in_a_child_reads_the_files_it_absorbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part's file is attached to the whole read's ledger, not merged into it: the report
    child's connection attaches it too, and lists its rows added up with the parent's."""
    monkeypatch.setattr(shards, "processors", lambda: 2)
    ledger, part = ActionLedger(), ActionLedger()
    ledger.add((0, False, "storage.googleapis.com", "get", "r1"), False, START)
    part.add((0, False, "storage.googleapis.com", "get", "r1"), True, START)
    part.add((0, False, "storage.googleapis.com", "get", "r2"), False, START)
    stored = part.stored()
    assert stored is not None
    ledger.absorb(stored)
    listed = listed_in_two(ledger, tmp_path, ledger.settled)
    assert "('storage.googleapis.com', 'get', 'r1', 2, 1," in listed
    assert "'r2', 1, 0," in listed
