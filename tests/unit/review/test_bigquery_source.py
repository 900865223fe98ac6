"""BigQuerySource: the SQL (checked by a BigQuery-dialect parser) and the REST round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
import sqlglot
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from sqlglot import exp

from generator.core.errors import ConfigError
from generator.review.bigquery_source import BigQuerySource, audit_query
from generator.review.sink_fields import table_fields

from .bigquery_rows import (
    DATASET,
    JOBS_URL,
    URL,
    dry_run,
    dry_run_response,
    probe_fields,
    probe_response,
    query_parameters,
    query_response,
    scans,
    serve,
)
from .conftest import at, load_entry

START, END = at("2026-12-01T09:00:00"), at("2026-12-01T13:00:00")


def entry(
    insert_id: str,
    timestamp: str,
    *,
    status: dict[str, Any] | None = None,
    granted: bool | None = True,
    caller_ip: str | None = "203.0.113.24",
) -> dict[str, Any]:
    """A Cloud Storage read in Cloud Logging's shape; `bigquery_rows` makes the sink's row."""
    data = load_entry("storage_objects_get")
    data["insertId"], data["timestamp"] = insert_id, timestamp
    payload = data["protoPayload"]
    payload["status"] = status or {}
    for info in payload["authorizationInfo"]:
        if granted is None:
            info.pop("granted", None)
        else:
            info["granted"] = granted
    if caller_ip is None:
        payload.pop("requestMetadata", None)
    return data


def source() -> BigQuerySource:
    client = bigquery.Client(project="pci-audit-logs", credentials=AnonymousCredentials())
    return BigQuerySource(client, DATASET, attempts=3, sleep=lambda _: None)


def sink_tables() -> dict[str, Any]:
    """Both tables' columns as the schema probe finds them."""
    fields = probe_fields()
    return table_fields([bigquery.SchemaField.from_api_repr(f) for f in fields])


def sql() -> str:
    return audit_query(DATASET, sink_tables())


def parsed() -> exp.Expression:
    return sqlglot.parse_one(sql(), read="bigquery")


def test_sql_reads_both_audit_tables_with_suffix_bounds() -> None:
    tables = {(t.catalog, t.db, t.name) for t in parsed().find_all(exp.Table)}
    assert tables == {
        ("pci-audit-logs", "cloudaudit", "cloudaudit_googleapis_com_activity*"),
        ("pci-audit-logs", "cloudaudit", "cloudaudit_googleapis_com_data_access*"),
    }
    suffix_columns = [c for c in parsed().find_all(exp.Column) if c.name.upper() == "_TABLE_SUFFIX"]
    assert len(suffix_columns) == 2 * 2
    assert parsed().find(exp.Union) is not None


def test_sql_uses_named_parameters_and_no_interpolated_principal() -> None:
    names = {p.this.name for p in parsed().find_all(exp.Parameter)}
    assert names == {"principals", "start", "end"}
    literals = [lit.this for lit in parsed().find_all(exp.Literal) if lit.is_string]
    assert not any("@" in text for text in literals)
    assert "alice" not in sql()


def _outer_filters() -> list[str]:
    """The alternatives of each branch's outer WHERE, as SQL text (one list per branch)."""
    found = []
    for select in parsed().find_all(exp.Select):
        source = select.args.get("from_") or select.args.get("from")
        where = select.args.get("where")
        if where is None or source is None or not isinstance(source.this, exp.Subquery):
            continue
        found.append([part.sql(dialect="bigquery") for part in where.this.flatten()])
    return [text for branch in found for text in branch]


def test_sql_reads_the_person_as_caller_first_party_or_subject_and_every_lapse_binding() -> None:
    """Each way an entry can concern a review is one alternative of each table's filter."""
    filters = _outer_filters()
    assert len(filters) == 2 * 4  # two tables, four alternatives each
    caller, first_party, subject, lapse_change = filters[:4]
    assert "'$.authenticationInfo.principalEmail'" in caller
    assert "UNNEST(@principals)" in caller and "LOWER(" in caller
    assert "'$.authenticationInfo.serviceAccountDelegationInfo'" in first_party
    assert "'$.firstPartyPrincipal.principalEmail'" in first_party
    assert "UNNEST(@principals)" in first_party
    assert "'$.authenticationInfo.principalSubject'" in subject
    assert "(user|serviceaccount):" in subject and "UNNEST(@principals)" in subject
    for path in (
        "'$.servicedata_v1_iam.policyDelta.bindingDeltas'",
        "'$.policyDelta.bindingDeltas'",
        "'$.metadataJson'",
        "'$.condition.title'",
        "'lapse/'",
    ):
        assert path in lapse_change
    assert "@principals" not in lapse_change  # whoever made the change
    # Not in Google's BigQueryAuditMetadata: a DatasetChange carries the dataset, no deltas.
    assert "datasetChange" not in lapse_change
    assert filters[4:] == filters[:4]


def test_sql_hands_over_the_whole_payload_and_resource_as_json() -> None:
    """Optional sink columns are never named (a dataset that lacks one would refuse the query):
    the payload and the resource travel as JSON text, optional fields are JSON paths."""
    text = sql()
    assert text.count(") AS payloadJson") == 2 and text.count(") AS resourceJson") == 2
    assert text.rstrip().endswith("ORDER BY timestamp, insertId, logName")


@pytest.mark.parametrize(
    "dataset", ["pci-audit-logs", "p.d; DROP TABLE x", "pci-audit-logs.cloud`audit", "PCI.audit"]
)
def test_dataset_names_are_validated(dataset: str) -> None:
    with pytest.raises(ConfigError, match=r"PROJECT\.DATASET"):
        audit_query(dataset, sink_tables())


def test_rows_become_events(http: responses.RequestsMock) -> None:
    serve(
        http,
        query_response(
            entry("1k9x2fhe3c1q", "2026-12-01T09:14:03.123456Z"),
            entry(
                "denied-1",
                "2026-12-01T09:15:00Z",
                status={"code": 7, "message": "PERMISSION_DENIED"},
                granted=None,
                caller_ip=None,
            ),
        ),
    )
    src = source()
    events = list(src.events(["Alice@example.com"], START, END))
    assert src.complete
    assert [e.insert_id for e in events] == ["1k9x2fhe3c1q", "denied-1"]
    first, denied = events
    assert first.timestamp == at("2026-12-01T09:14:03.123456")
    assert first.permissions[0][2] is True
    assert first.caller_ip == "203.0.113.24"
    assert (denied.status_code, denied.permissions[0][2], denied.caller_ip) == (7, False, "")
    assert src.accounting.balanced and src.accounting.events == 2


def test_a_row_whose_payload_is_not_json_is_counted_unreadable(
    http: responses.RequestsMock,
) -> None:
    answer = query_response(entry("a", "2026-12-01T09:14:03Z"), entry("b", "2026-12-01T09:20:00Z"))
    answer["rows"][1]["f"][4]["v"] = '{"serviceName": "storage.googleapis.com", '
    serve(http, answer)
    src = source()
    assert [e.insert_id for e in src.events(["alice@example.com"], START, END)] == ["a"]
    assert src.accounting.balanced
    assert src.accounting.unreadable == [
        (
            f"{DATASET} [2026-12-01T09:00:00Z, 2026-12-01T13:00:00Z)",
            "protopayload_auditlog is not a JSON object in the query result",
        )
    ]


def test_parameters_travel_in_the_request(http: responses.RequestsMock) -> None:
    serve(http, query_response())
    list(source().events(["bob@example.com", "alice@example.com"], START, END))
    (body,) = scans(http)
    parameters = {p["name"]: p for p in body["queryParameters"]}
    # Each principal with its own start: the review's start for the people asked for.
    assert query_parameters(body)["principals"] == {
        "alice@example.com": query_parameters(body)["start"],
        "bob@example.com": query_parameters(body)["start"],
    }
    assert parameters["start"]["parameterType"]["type"] == "TIMESTAMP"
    assert parameters["start"]["parameterValue"]["value"].startswith("2026-12-01 09:00:00")
    assert parameters["end"]["parameterValue"]["value"].startswith("2026-12-01 13:00:00")
    assert body["useLegacySql"] is False


def test_transient_error_then_success(http: responses.RequestsMock) -> None:
    dry_run(http, probe_response())
    dry_run(http, dry_run_response(1024))
    http.add(responses.POST, URL, status=503, json={"error": {"code": 503, "message": "backend"}})
    http.add(responses.POST, URL, json=query_response(entry("a", "2026-12-01T09:14:03Z")))
    src = source()
    assert [e.insert_id for e in src.events(["alice@example.com"], START, END)] == ["a"]
    assert src.complete


def test_exhausted_retries_record_a_gap(http: responses.RequestsMock) -> None:
    dry_run(http, probe_response())
    dry_run(http, dry_run_response(1024))
    http.add(responses.POST, URL, status=500, json={"error": {"code": 500, "message": "boom"}})
    src = source()
    assert list(src.events(["alice@example.com"], START, END)) == []
    assert len(scans(http)) == 3
    (gap,) = src.gaps
    assert gap.startswith(f"{DATASET} [2026-12-01T09:00:00Z, 2026-12-01T13:00:00Z): ")
    assert "querying audit logs in pci-audit-logs.cloudaudit failed" in gap


def test_a_schema_that_cannot_be_read_is_a_gap(http: responses.RequestsMock) -> None:
    error = {"code": 404, "message": "Not found: Dataset pci-audit-logs:cloudaudit"}
    http.add(responses.POST, JOBS_URL, status=404, json={"error": error})
    src = source()
    assert list(src.events(["alice@example.com"], START, END)) == []
    (gap,) = src.gaps
    assert gap.startswith(f"{DATASET} [2026-12-01T09:00:00Z, 2026-12-01T13:00:00Z): ")
    assert "reading the sink's schema in pci-audit-logs.cloudaudit failed" in gap
    assert "Not found: Dataset" in gap and scans(http) == []


class FailingRows:
    """Rows that stop with an error after the first, as a failed page fetch would."""

    def __init__(self, first: dict[str, Any]) -> None:
        self.first = first

    def __iter__(self) -> Any:
        yield self.first
        raise ConnectionError("page 2: connection reset")


class DryRun:
    """What `query_and_wait` gives back for a dry run: no rows, a schema and a price."""

    def __init__(self, answer: dict[str, Any]) -> None:
        statistics = answer["statistics"]["query"]
        self.schema = [
            bigquery.SchemaField.from_api_repr(f) for f in statistics["schema"]["fields"]
        ]
        self.total_bytes_processed = int(statistics["totalBytesProcessed"])


class FakeClient:
    def __init__(self, rows: Any) -> None:
        self.rows = rows
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def query(self, query: str, **options: Any) -> Any:
        self.calls.append((query, options))
        assert options["job_config"].dry_run
        return DryRun(probe_response() if len(self.calls) == 1 else dry_run_response(2048))

    def query_and_wait(self, query: str, **options: Any) -> Any:
        self.calls.append((query, options))
        assert not options["job_config"].dry_run
        return self.rows


def test_failed_page_keeps_earlier_rows_and_records_a_gap() -> None:
    first = {
        "timestamp": at("2026-12-01T09:30:00"),
        "insertId": "r1",
        "logName": "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Factivity",
        "resourceJson": json.dumps({"type": "cloudsql_database", "labels": None}),
        "payloadJson": json.dumps(
            {
                "serviceName": "cloudsql.googleapis.com",
                "methodName": "cloudsql.instances.connect",
                "resourceName": "instances/settlement-db",
                "status": {"code": None},
                "authenticationInfo": {"principalEmail": "alice@example.com"},
                "requestMetadata": None,
                "authorizationInfo": [],
            }
        ),
    }
    client = FakeClient(FailingRows(first))
    src = BigQuerySource(client, DATASET)
    assert [e.insert_id for e in src.events(["alice@example.com"], START, END)] == ["r1"]
    assert "reading the results stopped: ConnectionError: page 2" in src.gaps[0]
    (_, options) = client.calls[-1]
    assert options["retry"] is None and options["job_retry"] is None


class BuggyRows:
    """Rows whose reading stops on a mistake of lapse's own, not of BigQuery's."""

    def __iter__(self) -> Any:
        raise TypeError("'NoneType' object is not subscriptable")


def test_a_programming_error_reading_rows_is_raised_not_a_gap() -> None:
    src = BigQuerySource(FakeClient(BuggyRows()), DATASET)
    with pytest.raises(TypeError, match="not subscriptable"):
        list(src.events(["alice@example.com"], START, END))
    assert src.gaps == []


class BuggyClient:
    def __init__(self) -> None:
        self.calls = 0

    def query(self, query: str, **options: Any) -> Any:
        self.calls += 1
        raise AttributeError("'QueryJobConfig' object has no attribute 'labels'")

    query_and_wait = query


def test_a_programming_error_querying_is_raised_at_once_not_a_gap() -> None:
    client = BuggyClient()
    src = BigQuerySource(client, DATASET, attempts=3, sleep=lambda _: None)
    with pytest.raises(AttributeError, match="no attribute"):
        list(src.events(["alice@example.com"], START, END))
    assert (src.gaps, client.calls) == ([], 1)


def test_an_entry_the_sink_wrote_twice_is_counted_once(http: responses.RequestsMock) -> None:
    twice = entry("dup", "2026-12-01T09:14:03Z")
    serve(http, query_response(twice, twice, entry("b", "2026-12-01T09:20:00Z")))
    src = source()
    assert [e.insert_id for e in src.events(["alice@example.com"], START, END)] == ["dup", "b"]
    assert src.accounting.read == 2 and src.accounting.balanced
