"""What a BigQuery read costs: only the fields the review reads, priced before it runs, bounded.

The SQL is held to the sink's schema by `sink_sql.whole_columns`, and the checker to every way
around it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import responses
import sqlglot
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from sqlglot import exp

from generator.review.bigquery_source import BigQuerySource, ScanRefused, audit_query, size_text
from generator.review.sink_fields import table_fields

from .attribution_entries import PERSON, RUNNER, mint_token, secret_read
from .bigquery_rows import (
    DATASET,
    PAYLOAD_SCHEMA,
    RESOURCE_SCHEMA,
    URL,
    dry_run,
    dry_run_response,
    dry_runs,
    probe_fields,
    probe_response,
    query_parameters,
    query_response,
    scans,
    serve,
)
from .conftest import at
from .sink_sql import ENTRY_COLUMNS, whole_columns

START, END = at("2026-12-01T09:00:00"), at("2026-12-01T13:00:00")


def table_of(payload: dict[str, Any] = PAYLOAD_SCHEMA) -> list[dict[str, Any]]:
    return [*ENTRY_COLUMNS, payload, RESOURCE_SCHEMA]


def tables(fields: list[dict[str, Any]]) -> dict[str, Any]:
    return table_fields([bigquery.SchemaField.from_api_repr(f) for f in fields])


def test_the_query_reads_single_fields_only() -> None:
    sql = audit_query(DATASET, tables(probe_fields()))
    assert whole_columns(sql, table_of()) == []
    # It still reads what the review reads (the checker passes an empty select list too).
    for leaf in (
        "protopayload_auditlog.authenticationInfo.principalEmail",
        "protopayload_auditlog.status.code",
        "item0.granted",
        "protopayload_auditlog.requestMetadata.callerIp",
        "resource.labels.unique_id",
        "JSON_QUERY(protopayload_auditlog.requestJson, '$.exportContext.uri')",
    ):
        assert leaf in sql
    assert "responseJson" not in sql and "TO_JSON_STRING(protopayload_auditlog)" not in sql


_FROM = f"FROM `{DATASET}.cloudaudit_googleapis_com_activity*`"


@pytest.mark.parametrize(
    ("sql", "finding"),
    [
        (f"SELECT * {_FROM}", "*"),
        (f"SELECT * EXCEPT (protopayload_auditlog) {_FROM}", "*"),
        (f"SELECT t.* {_FROM} AS t", "*"),
        (f"SELECT x FROM (SELECT * {_FROM})", "*"),
        (f"SELECT protopayload_auditlog {_FROM}", "protopayload_auditlog: a whole record"),
        (f"SELECT `PROTOPAYLOAD_AUDITLOG` {_FROM}", "protopayload_auditlog: a whole record"),
        (f"SELECT t.protopayload_auditlog {_FROM} AS t", "protopayload_auditlog: a whole record"),
        (f"SELECT TO_JSON_STRING(protopayload_auditlog) {_FROM}", "a whole record"),
        (f"SELECT TO_JSON_STRING(t) {_FROM} AS t", "the whole row (t)"),
        (f"SELECT resource {_FROM}", "resource: a whole record"),
        (f"SELECT STRUCT(resource AS resource) {_FROM}", "resource: a whole record"),
        (f"SELECT r FROM (SELECT resource AS r {_FROM})", "resource: a whole record"),
        (f"SELECT jsonPayload {_FROM}", "jsonpayload: a whole record"),
        (f"SELECT protopayload_auditlog.responseJson {_FROM}", "JSON text handed over whole"),
        (f"SELECT LOWER(protopayload_auditlog.metadataJson) {_FROM}", "JSON text handed over"),
        (f"SELECT protopayload_auditlog.servicedata_v1_bigquery {_FROM}", "a whole record"),
        (f"SELECT STRUCT(protopayload_auditlog.authorizationInfo AS a) {_FROM}", "whole record"),
        (
            "SELECT ARRAY(SELECT AS STRUCT item0 FROM "
            f"UNNEST(protopayload_auditlog.authorizationInfo) AS item0) {_FROM}",
            "protopayload_auditlog.authorizationinfo: a whole record",
        ),
        (f"SELECT protopayload_auditlog.status.details {_FROM}", "not a column of the table"),
    ],
)
def test_the_checker_finds_every_way_to_read_a_whole_payload(sql: str, finding: str) -> None:
    assert any(finding in problem for problem in whole_columns(sql, table_of())), sql


def test_repeated_fields_keep_their_order() -> None:
    """UNNEST keeps no order; the first link of a delegation chain names who started it."""
    tree = sqlglot.parse_one(audit_query(DATASET, tables(probe_fields())), read="bigquery")
    arrays = [
        a
        for a in tree.find_all(exp.Array)
        if a.expressions and isinstance(a.expressions[0], exp.Select)
    ]
    assert len(arrays) == 2 * 3  # delegation links, permissions, binding deltas; two tables
    for array in arrays:
        select = array.expressions[0]
        unnest = select.find(exp.Unnest)
        (ordered,) = select.args["order"].expressions
        assert ordered.this.name == unnest.args["offset"].name and not ordered.args.get("desc")


def test_a_sink_without_the_optional_columns_is_queried_by_the_ones_it_has() -> None:
    """A dataset that never saw an IAM change, a Struct, a subject or a conditional binding:
    naming those columns would fail the query, so none is named."""
    optional = {"servicedata_v1_iam", "servicedata_v1_bigquery", "metadataJson", "requestJson"}
    payload = json.loads(json.dumps(PAYLOAD_SCHEMA))
    payload["fields"] = [f for f in payload["fields"] if f["name"] not in optional]
    (auth,) = [f for f in payload["fields"] if f["name"] == "authenticationInfo"]
    auth["fields"] = [f for f in auth["fields"] if f["name"] != "principalSubject"]
    sql = audit_query(DATASET, tables(probe_fields(payload=payload)))
    assert whole_columns(sql, table_of(payload)) == []
    assert "protopayload_auditlog.authenticationInfo.principalSubject" not in sql
    assert "protopayload_auditlog.metadataJson" not in sql


def source(**options: Any) -> tuple[BigQuerySource, list[str]]:
    said: list[str] = []
    client = bigquery.Client(project="pci-audit-logs", credentials=AnonymousCredentials())
    src = BigQuerySource(client, DATASET, attempts=1, say=said.append, **options)
    return src, said


def test_each_scan_is_priced_by_a_dry_run_and_its_bytes_said(
    http: responses.RequestsMock,
) -> None:
    serve(http, query_response(secret_read(PERSON, "2026-12-01T09:30:00Z")), scanned=123_456_789)
    src, said = source()
    assert [e.insert_id for e in src.events([PERSON], START, END)] == ["runner-secret"]
    probe, priced = dry_runs(http)
    (scan,) = scans(http)
    assert "LIMIT 0" in probe["query"] and priced["useQueryCache"] is False
    # The dry run prices the very query that then runs, with the same parameters.
    assert (priced["query"], priced["queryParameters"]) == (scan["query"], scan["queryParameters"])
    assert "dryRun" not in scan and "maximumBytesBilled" not in scan
    assert said == [
        f"BigQuery: reading {DATASET} [2026-12-01T09:00:00Z, 2026-12-01T13:00:00Z) for 1 "
        "principal will scan 123,456,789 bytes (123 MB)"
    ]
    assert src.scanned == [123_456_789]


def test_a_scan_above_the_limit_is_refused_before_it_runs(http: responses.RequestsMock) -> None:
    dry_run(http, probe_response())
    dry_run(http, dry_run_response(250_000_000_001))
    src, said = source(max_bytes=200_000_000_000, limit_name="--max-bytes")
    with pytest.raises(ScanRefused) as refused:
        list(src.events([PERSON], START, END))
    assert str(refused.value) == (
        "BigQuery would scan 250,000,000,001 bytes (250 GB) reading "
        f"{DATASET} [2026-12-01T09:00:00Z, 2026-12-01T13:00:00Z), above --max-bytes "
        "200,000,000,000: nothing was read or billed; review a shorter period (--since) or "
        "raise --max-bytes"
    )
    assert refused.value.exit_code == 2
    assert said[0].endswith("(limit --max-bytes 200,000,000,000)")
    assert (len(dry_runs(http)), scans(http)) == (2, [])  # no scan ran


def test_a_scan_at_the_limit_runs_and_bigquery_is_told_the_limit(
    http: responses.RequestsMock,
) -> None:
    serve(http, query_response(), scanned=200_000_000)
    src, _ = source(max_bytes=200_000_000)
    assert list(src.events([PERSON], START, END)) == []
    (scan,) = scans(http)
    assert scan["maximumBytesBilled"] == "200000000"
    assert src.complete


def test_bigquery_refusing_to_bill_more_is_a_gap(http: responses.RequestsMock) -> None:
    """The dry run's bytes are processed bytes; BigQuery bills at least 10 MiB per table."""
    dry_run(http, probe_response())
    dry_run(http, dry_run_response(10_000_000))
    refusal = "Query exceeded limit for bytes billed: 20000000. 41943040 or higher required."
    error = {"code": 400, "message": refusal, "status": "INVALID_ARGUMENT"}
    http.add(responses.POST, URL, status=400, json={"error": error})
    src, _ = source(max_bytes=20_000_000)
    assert list(src.events([PERSON], START, END)) == []
    (gap,) = src.gaps
    assert "bytes billed" in gap and gap.startswith(f"{DATASET} [2026-12-01T09:00:00Z")


def mint(account: str, unique_id: str, timestamp: str) -> dict[str, Any]:
    entry = mint_token(timestamp)
    entry["insertId"] = f"mint-{unique_id}"
    entry["protoPayload"]["resourceName"] = f"projects/-/serviceAccounts/{unique_id}"
    entry["resource"]["labels"].update(email_id=account, unique_id=unique_id)
    return entry


def test_accounts_minted_at_different_moments_are_read_in_one_scan(
    http: responses.RequestsMock,
) -> None:
    """Two accounts minted at 10:00 and 10:20 were two follow-up scans; now one, each account
    from its own minting on."""
    other = "etl@pci-prod-payments.iam.gserviceaccount.com"
    first = query_response(
        mint(RUNNER, "104722530651733214409", "2026-12-01T10:00:00Z"),
        mint(other, "117280998311223344556", "2026-12-01T10:20:00Z"),
    )
    second = query_response(secret_read(RUNNER, "2026-12-01T10:05:00Z"), job="job_Rf2")
    serve(http, first, second)
    src, said = source()
    events = list(src.events([PERSON], START, END))
    assert [e.insert_id for e in events] == [
        "mint-104722530651733214409",
        "mint-117280998311223344556",
        "runner-secret",
    ]
    person, minted = (query_parameters(body) for body in scans(http))
    assert list(person["principals"]) == [PERSON]
    assert minted["principals"] == {
        other: "2026-12-01 10:20:00+00:00",
        RUNNER: "2026-12-01 10:00:00+00:00",
    }
    assert minted["start"] == "2026-12-01 10:00:00+00:00"  # the earliest minting
    assert len(said) == 2 and "for 2 principals" in said[1]


def test_sizes_are_said_in_bytes_and_decimal_units() -> None:
    assert size_text(0) == "0 bytes (0 B)"
    assert size_text(999) == "999 bytes (999 B)"
    assert size_text(1_500) == "1,500 bytes (1.5 kB)"
    assert size_text(10 * 2**20) == "10,485,760 bytes (10.5 MB)"
    assert size_text(3 * 10**15) == "3,000,000,000,000,000 bytes (3 PB)"


def test_the_estimate_follows_the_fields_the_query_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/bigquery_bytes.py prices the leaves `sink_fields` names, from the export schema."""
    path = Path(__file__).resolve().parents[3] / "bench" / "bigquery_bytes.py"
    spec = importlib.util.spec_from_file_location("bigquery_bytes", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bigquery_bytes", bench)  # its dataclass looks itself up
    spec.loader.exec_module(bench)
    rows = {name: (before, after) for name, before, after in bench.rows()}
    assert rows["protopayload_auditlog.responseJson"][1] == 0
    assert rows["protopayload_auditlog.requestMetadata"][1] == bench.Leaf("STRING", 14).bytes()
    assert (
        rows["protopayload_auditlog.metadataJson"][0]
        == rows["protopayload_auditlog.metadataJson"][1]
    )
    before = sum(b for b, _ in rows.values())
    after = sum(a for _, a in rows.values())
    assert after < 0.6 * before


def test_a_schema_answer_without_the_payload_is_a_gap_not_an_empty_read(
    http: responses.RequestsMock,
) -> None:
    """Every row would read as no one's if the payload's columns were left out: a gap."""
    answer = probe_response()
    schema = answer["statistics"]["query"]["schema"]
    schema["fields"] = schema["fields"][:1]  # the activity table only
    dry_run(http, answer)
    src, said = source()
    assert list(src.events([PERSON], START, END)) == []
    (gap,) = src.gaps
    assert "describes no protopayload_auditlog" in gap and said == []


def _payload_with(column: str, **changes: Any) -> dict[str, Any]:
    payload = json.loads(json.dumps(PAYLOAD_SCHEMA))
    for field in payload["fields"]:
        if field["name"] == column:
            field.update(changes)
    return payload


def test_a_column_spelled_in_another_case_is_still_read() -> None:
    """BigQuery's names are case-insensitive: `METHODNAME` is `methodName`, not an absent one."""
    payload = _payload_with("methodName", name="METHODNAME")
    sql = audit_query(DATASET, tables(probe_fields(payload=payload)))
    assert "protopayload_auditlog.methodName AS methodName" in sql
    assert whole_columns(sql, table_of(payload)) == []


def test_a_json_typed_struct_column_is_read_by_path() -> None:
    payload = _payload_with("metadataJson", type="JSON")
    sql = audit_query(DATASET, tables(probe_fields(payload=payload)))
    assert (
        "IFNULL(TO_JSON_STRING(JSON_QUERY(protopayload_auditlog.metadataJson, "
        "'$.policyDelta.bindingDeltas')), 'null')"
    ) in sql
    assert "IFNULL(JSON_QUERY(protopayload_auditlog.requestJson, '$.outputUrl'), 'null')" in sql


def test_a_struct_column_of_another_type_is_a_gap_not_a_blind_spot(
    http: responses.RequestsMock,
) -> None:
    """Left out, the binding changes in `metadataJson` would go unseen: the read is a gap."""
    dry_run(http, probe_response(payload=_payload_with("metadataJson", type="BYTES")))
    src, _ = source()
    assert list(src.events([PERSON], START, END)) == []
    (gap,) = src.gaps
    assert "protopayload_auditlog.metadataJson is BYTES, not JSON: it cannot be read" in gap


def test_a_dry_run_without_a_count_is_said_and_bigquery_still_holds_the_limit(
    http: responses.RequestsMock,
) -> None:
    silent = dry_run_response(0)
    del silent["statistics"]["totalBytesProcessed"], silent["statistics"]["query"]
    dry_run(http, probe_response())
    dry_run(http, silent)
    http.add(responses.POST, URL, json=query_response())
    src, said = source(max_bytes=20_971_520)
    assert list(src.events([PERSON], START, END)) == []
    assert said[0].endswith("will scan an unknown number of bytes (limit --max-bytes 20,971,520)")
    assert scans(http)[0]["maximumBytesBilled"] == "20971520"
