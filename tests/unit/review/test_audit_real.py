"""Every real Cloud Audit Log entry of `tests/data/audit_real/` (written by others; SOURCES.md
there names where each came from) is accounted for. `LAPSE_AUDIT_REAL` may point at another copy.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from generator.review.file_source import FileSource
from generator.review.sources import CombinedSource

REAL = (
    Path(os.environ.get("LAPSE_AUDIT_REAL", ""))
    if os.environ.get("LAPSE_AUDIT_REAL")
    else (Path(__file__).resolve().parents[2] / "data" / "audit_real")
)
EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
PEOPLE = ("test-user@example.com", "example-user@example.com")


def real_files() -> list[Path]:
    if not REAL.is_dir():
        pytest.fail(f"{REAL} is absent: the real audit entries are part of the checkout")
    return sorted(p for p in REAL.iterdir() if p.suffix in (".json", ".jsonl"))


def entry_count(path: Path) -> int:
    # SOURCES.md: JSON lines hold one entry a line; a .json file holds one pretty-printed entry.
    if path.suffix == ".json":
        return 1
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def test_every_real_entry_is_an_event_or_counted_with_its_reason() -> None:
    files = real_files()
    source = CombinedSource([FileSource(p) for p in files])

    events = list(source.events(PEOPLE, *EVER))

    books = source.accounting
    assert books.read == sum(map(entry_count, files)) == 302
    assert books.read == (
        books.events + books.other_principals + books.out_of_period + len(books.unreadable)
    )
    assert books.events == len(events) > 0
    assert all(reason for _, reason in books.unreadable)
    assert source.gaps == []  # every file read to its end
    # An unreadable entry is a gap only in the review of the person it names.
    assert set(source.principal_gaps) <= set(PEOPLE)


def test_real_shapes_read_as_the_json_mapping_of_protobuf_says() -> None:
    files = {p.name: p for p in real_files()}
    everyone = CombinedSource([FileSource(p) for p in files.values()])
    # Read with every principal wanted: nothing is skipped by the principal filter.
    people = {"ops@example.com"}
    for path in files.values():
        for line in path.read_text().splitlines():
            people.update(_emails(line))
    events = list(everyone.events(people, *EVER))
    by_id = {e.insert_id: e for e in events}

    # A BigQuery sink row (protopayload_auditlog, "granted": "true") is an event, granted.
    row = by_id["2ihezydi73o"]
    assert row.permissions and all(granted for _, _, granted in row.permissions)
    # "granted": "true" as a string is a grant, not a denial; "code": "5" a number.
    for insert_id in ("46xft1d29ve", "10cyfzcf1hve2j", "voy2d9edl9sk"):
        assert all(granted for _, _, granted in by_id[insert_id].permissions)
    assert by_id["10cyfzcf1hve2j"].status_code == 5
    # A person acting through a service account is the event's principal; the account is the chain.
    delegated = [e for e in events if e.chain]
    assert delegated
    assert all("@" in e.principal or e.principal.startswith("principal://") for e in delegated)


def _emails(line: str) -> set[str]:
    import re

    return {m.lower() for m in re.findall(r"[\w.+-]+@[\w.-]+\.\w+", line)}
