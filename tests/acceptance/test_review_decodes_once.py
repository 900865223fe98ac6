"""`lapse review` decodes each audit entry once: no report reads an event back.

Every `Event` the three functions that make one make (from a plain line of the export in one
typed decode, from any other entry, and from the spool where events wait for the end of the
read) is counted by the event's insertId.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from generator.core.audit_event import Event
from generator.review import file_source, spool
from tests.acceptance.cli import lapse
from tests.acceptance.test_review_cli import UNTIL, entry, export
from tests.support import make_repo

ACCOUNT = "deployer@pci-prod-payments.iam.gserviceaccount.com"
REPORT = "reports/pci-prod/2026-12/inc-4512-settlement-batch.json"


def counted(monkeypatch: pytest.MonkeyPatch) -> tuple[Counter[str], Counter[str]]:
    """(entries decoded, events read back from the spool), by insertId, while lapse runs."""
    monkeypatch.setenv("LAPSE_CLI_IN_PROCESS", "1")
    from_entries: Counter[str] = Counter()
    from_spool: Counter[str] = Counter()
    read_plain, read_entry, from_disk = file_source.read_plain, file_source.read_entry, spool._event

    def line_decoded(line: bytes) -> Event | None:
        found = read_plain(line)
        if found is not None:
            from_entries[found.insert_id] += 1
        return found

    def entry_decoded(value: Any) -> Event | str:
        from_entries[str(value.get("insertId"))] += 1
        return read_entry(value)

    def spooled(data: list[Any]) -> Event:
        from_spool[str(data[0])] += 1
        return from_disk(data)

    monkeypatch.setattr(file_source, "read_plain", line_decoded)
    monkeypatch.setattr(file_source, "read_entry", entry_decoded)
    monkeypatch.setattr(spool, "_event", spooled)
    return from_entries, from_spool


def test_each_event_of_a_window_with_starts_is_decoded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    ids = [f"use-{n}" for n in range(40)]
    entries = [
        entry(insert_id, f"2026-12-01T{10 + n // 20}:{n % 60:02d}:00Z")
        for n, insert_id in enumerate(ids)
    ]
    entries += [entry("late", "2026-12-01T15:00:00Z")]
    log = export(tmp_path / "audit.jsonl", entries)
    from_entries, from_spool = counted(monkeypatch)

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert run.code == 1, run.err  # the late use is CRITICAL
    assert from_entries == Counter({i: 1 for i in [*ids, "late"]})
    assert not from_spool
    report = json.loads((root / REPORT).read_text())
    assert report["events"] == {"in_window": 40, "after": 1}
    assert [(a["count"], a["first"], a["last"]) for a in report["actions"]] == [
        (40, "2026-12-01T10:00:00Z", "2026-12-01T11:39:00Z")
    ]
    assert [a["count"] for a in report["actions_after"]] == [1]


def test_a_minted_credentials_use_waits_in_the_spool_and_is_read_back_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whose a service account's call is depends on mintings anywhere in the log: the call is
    parked until the whole log is read, then read back once; the person's own are not."""
    root = make_repo(tmp_path / "repo", with_requests=True)
    mint = entry("mint", "2026-12-01T10:00:00Z", method="GenerateAccessToken")
    payload: dict[str, Any] = mint["protoPayload"]  # type: ignore[assignment]
    payload.update(
        serviceName="iamcredentials.googleapis.com",
        resourceName=f"projects/-/serviceAccounts/{ACCOUNT}",
        authorizationInfo=[],
    )
    used = entry("as-deployer", "2026-12-01T10:05:00Z", principal=ACCOUNT)
    log = export(tmp_path / "audit.jsonl", [mint, used, entry("own", "2026-12-01T10:10:00Z")])
    from_entries, from_spool = counted(monkeypatch)

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert run.code == 1, run.err
    assert from_entries == Counter({"mint": 1, "as-deployer": 1, "own": 1})
    assert from_spool == Counter({"as-deployer": 1})
    report = json.loads((root / REPORT).read_text())
    assert report["events"] == {"in_window": 3, "after": 0}
    delegated = [f for f in report["findings"] if f["kind"] == "delegation"]
    assert [f["evidence"] for f in delegated] == [["as-deployer"]]
