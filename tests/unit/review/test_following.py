"""Reads after a minting, and the sink rows turned back into log entries (pure parts)."""

from __future__ import annotations

import json
from datetime import datetime

from msgspec.structs import replace

from generator.review.events import read_entry
from generator.review.following import Read, Reads
from generator.review.sink_rows import log_entry_payload, row_entry

from .attribution_entries import PERSON, RUNNER
from .bigquery_rows import sink_payload
from .conftest import at, event, load_entry

START = at("2026-12-01T09:00:00")
LEDGER = "ledger@pci-prod-payments.iam.gserviceaccount.com"
AUDITOR = "auditor@pci-prod-payments.iam.gserviceaccount.com"


def test_each_minted_account_is_read_once_from_its_earliest_minting() -> None:
    minted: dict[str, datetime] = {}
    reads = Reads([PERSON], START)
    seen = []
    for read in reads.each(minted):
        seen.append(read)
        if read.principals == {PERSON}:
            minted.update({RUNNER: at("2026-12-01T10:00:00"), LEDGER: at("2026-12-01T10:30:00")})
        elif read.principals == {RUNNER}:
            minted[AUDITOR] = at("2026-12-01T11:00:00")  # the runner mints in turn
            minted[PERSON] = at("2026-12-01T11:05:00")  # already read: not again
    assert seen == [
        Read(START, frozenset({PERSON})),
        Read(at("2026-12-01T10:00:00"), frozenset({RUNNER})),
        Read(at("2026-12-01T10:30:00"), frozenset({LEDGER})),
        Read(at("2026-12-01T11:00:00"), frozenset({AUDITOR})),
    ]


def test_accounts_minted_at_one_moment_share_a_read() -> None:
    minted = {RUNNER: at("2026-12-01T10:00:00"), LEDGER: at("2026-12-01T10:00:00")}
    reads = list(Reads([PERSON], START).each(minted))
    assert reads[1:] == [Read(at("2026-12-01T10:00:00"), frozenset({RUNNER, LEDGER}))]


def test_an_entry_is_handed_out_once_whichever_read_returns_it() -> None:
    reads = Reads([PERSON], START)
    reads.asking([PERSON])
    delegated = replace(event(principal=PERSON, insert_id="d"), chain=(RUNNER,))
    own = event(principal=PERSON, insert_id="own")
    key_d, key_own = (delegated.log_name, "d"), (own.log_name, "own")
    assert reads.first_time(key_d, delegated) and reads.first_time(key_own, own)
    reads.asking([RUNNER])
    assert not reads.first_time(key_d, delegated)  # it names the runner: kept, known again
    assert reads.first_time(("log", "bad"), "no timestamp")
    assert not reads.first_time(("log", "bad"), "no timestamp")
    assert reads.first_time(("log", ""), "no insertId") and reads.first_time(("log", ""), "x")


def test_sink_payload_names_become_log_entry_names() -> None:
    legacy = load_entry("bigquery_legacy_jobcompleted")
    sink = sink_payload(legacy["protoPayload"])
    sink["responseJson"] = json.dumps({"big": "x" * 1000})
    payload = log_entry_payload(sink)
    assert payload["serviceData"] == {
        k: v for k, v in legacy["protoPayload"]["serviceData"].items() if k != "@type"
    }
    assert "responseJson" not in payload and "response" not in payload
    assert "servicedata_v1_iam" not in payload and "metadataJson" not in payload
    assert "metadata" not in payload  # null in the row: absent, as in a log entry


def test_struct_text_that_is_not_json_or_too_deep_reads_as_absent() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    payload = log_entry_payload(
        {"methodName": "m", "metadataJson": "{not json", "requestJson": deep}
    )
    assert payload == {"methodName": "m"}


def test_row_entry_reads_back_into_the_same_event_as_the_log_entry() -> None:
    entry = load_entry("set_iam_policy")
    row = {
        "timestamp": entry["timestamp"],
        "insertId": entry["insertId"],
        "logName": entry["logName"],
        "resourceJson": json.dumps(entry["resource"]),
        "payloadJson": json.dumps(sink_payload(entry["protoPayload"])),
    }
    from_row = row_entry(row)
    assert isinstance(from_row, dict)
    assert read_entry(from_row) == read_entry(entry)
