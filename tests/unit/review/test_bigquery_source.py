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

from .conftest import at

URL = "https://bigquery.googleapis.com/bigquery/v2/projects/pci-audit-logs/queries"
DATASET = "pci-audit-logs.cloudaudit"
START, END = at("2026-12-01T09:00:00"), at("2026-12-01T13:00:00")

# The sink's columns as the query returns them: protopayload_auditlog is a nested RECORD.
SCHEMA = {
    "fields": [
        {"name": "timestamp", "type": "TIMESTAMP", "mode": "NULLABLE"},
        {"name": "insertId", "type": "STRING", "mode": "NULLABLE"},
        {"name": "logName", "type": "STRING", "mode": "NULLABLE"},
        {
            "name": "protopayload_auditlog",
            "type": "RECORD",
            "mode": "NULLABLE",
            "fields": [
                {"name": "serviceName", "type": "STRING", "mode": "NULLABLE"},
                {"name": "methodName", "type": "STRING", "mode": "NULLABLE"},
                {"name": "resourceName", "type": "STRING", "mode": "NULLABLE"},
                {
                    "name": "status",
                    "type": "RECORD",
                    "mode": "NULLABLE",
                    "fields": [{"name": "code", "type": "INTEGER", "mode": "NULLABLE"}],
                },
                {
                    "name": "authenticationInfo",
                    "type": "RECORD",
                    "mode": "NULLABLE",
                    "fields": [{"name": "principalEmail", "type": "STRING", "mode": "NULLABLE"}],
                },
                {
                    "name": "requestMetadata",
                    "type": "RECORD",
                    "mode": "NULLABLE",
                    "fields": [{"name": "callerIp", "type": "STRING", "mode": "NULLABLE"}],
                },
                {
                    "name": "authorizationInfo",
                    "type": "RECORD",
                    "mode": "REPEATED",
                    "fields": [
                        {"name": "permission", "type": "STRING", "mode": "NULLABLE"},
                        {"name": "resource", "type": "STRING", "mode": "NULLABLE"},
                        {"name": "granted", "type": "BOOLEAN", "mode": "NULLABLE"},
                    ],
                },
            ],
        },
    ]
}


def cell(value: Any) -> dict[str, Any]:
    return {"v": value}


def row(
    insert_id: str,
    micros: int,
    *,
    status: str | None = None,
    granted: str | None = "true",
    caller_ip: str | None = "203.0.113.24",
) -> dict[str, Any]:
    """One row in the REST `f`/`v` encoding (timestamps as int64 microseconds)."""
    obj = "projects/_/buckets/settlement-exports/objects/2026-11-30/batch-4411.csv"
    permissions = [cell({"f": [cell("storage.objects.get"), cell(obj), cell(granted)]})]
    payload = [
        cell("storage.googleapis.com"),
        cell("storage.objects.get"),
        cell(obj),
        cell({"f": [cell(status)]}),
        cell({"f": [cell("alice@example.com")]}),
        cell({"f": [cell(caller_ip)]}),
        cell(permissions),
    ]
    log = "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Fdata_access"
    return {"f": [cell(str(micros)), cell(insert_id), cell(log), cell({"f": payload})]}


def query_response(*rows: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "bigquery#queryResponse",
        "schema": SCHEMA,
        "jobReference": {"projectId": "pci-audit-logs", "jobId": "job_Qx7", "location": "EU"},
        "totalRows": str(len(rows)),
        "rows": list(rows),
        "totalBytesProcessed": "5242880",
        "jobComplete": True,
        "cacheHit": False,
    }


def source() -> BigQuerySource:
    client = bigquery.Client(project="pci-audit-logs", credentials=AnonymousCredentials())
    return BigQuerySource(client, DATASET, attempts=3, sleep=lambda _: None)


def parsed() -> exp.Expression:
    return sqlglot.parse_one(audit_query(DATASET), read="bigquery")


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
    assert "alice" not in audit_query(DATASET)


def test_sql_selects_the_sink_columns() -> None:
    sql = audit_query(DATASET)
    for column in (
        "protopayload_auditlog.serviceName",
        "protopayload_auditlog.methodName",
        "protopayload_auditlog.resourceName",
        "protopayload_auditlog.status.code",
        "protopayload_auditlog.authenticationInfo.principalEmail",
        "protopayload_auditlog.requestMetadata.callerIp",
        "UNNEST(protopayload_auditlog.authorizationInfo)",
    ):
        assert column in sql


@pytest.mark.parametrize(
    "dataset", ["pci-audit-logs", "p.d; DROP TABLE x", "pci-audit-logs.cloud`audit", "PCI.audit"]
)
def test_dataset_names_are_validated(dataset: str) -> None:
    with pytest.raises(ConfigError, match=r"PROJECT\.DATASET"):
        audit_query(dataset)


def test_rows_become_events(http: responses.RequestsMock) -> None:
    http.add(
        responses.POST,
        URL,
        json=query_response(
            row("1k9x2fhe3c1q", 1796116443123456),
            row("denied-1", 1796116500000000, status="7", granted=None, caller_ip=None),
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


def test_parameters_travel_in_the_request(http: responses.RequestsMock) -> None:
    http.add(responses.POST, URL, json=query_response())
    list(source().events(["bob@example.com", "alice@example.com"], START, END))
    body = json.loads(http.calls[0].request.body)
    parameters = {p["name"]: p for p in body["queryParameters"]}
    assert [v["value"] for v in parameters["principals"]["parameterValue"]["arrayValues"]] == [
        "alice@example.com",
        "bob@example.com",
    ]
    assert parameters["start"]["parameterType"]["type"] == "TIMESTAMP"
    assert parameters["start"]["parameterValue"]["value"].startswith("2026-12-01 09:00:00")
    assert parameters["end"]["parameterValue"]["value"].startswith("2026-12-01 13:00:00")
    assert body["useLegacySql"] is False


def test_transient_error_then_success(http: responses.RequestsMock) -> None:
    http.add(responses.POST, URL, status=503, json={"error": {"code": 503, "message": "backend"}})
    http.add(responses.POST, URL, json=query_response(row("a", 1796116443123456)))
    src = source()
    assert [e.insert_id for e in src.events(["alice@example.com"], START, END)] == ["a"]
    assert src.complete


def test_exhausted_retries_record_a_gap(http: responses.RequestsMock) -> None:
    http.add(responses.POST, URL, status=500, json={"error": {"code": 500, "message": "boom"}})
    src = source()
    assert list(src.events(["alice@example.com"], START, END)) == []
    assert len(http.calls) == 3
    (gap,) = src.gaps
    assert gap.startswith(f"{DATASET} [2026-12-01T09:00:00Z, 2026-12-01T13:00:00Z): ")


class FailingRows:
    """Rows that stop with an error after the first, as a failed page fetch would."""

    def __init__(self, first: dict[str, Any]) -> None:
        self.first = first

    def __iter__(self) -> Any:
        yield self.first
        raise ConnectionError("page 2: connection reset")


class FakeClient:
    def __init__(self, rows: Any) -> None:
        self.rows = rows
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def query_and_wait(self, query: str, **options: Any) -> Any:
        self.calls.append((query, options))
        return self.rows


def test_failed_page_keeps_earlier_rows_and_records_a_gap() -> None:
    first = {
        "timestamp": at("2026-12-01T09:30:00"),
        "insertId": "r1",
        "logName": "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Factivity",
        "protopayload_auditlog": {
            "serviceName": "cloudsql.googleapis.com",
            "methodName": "cloudsql.instances.connect",
            "resourceName": "instances/settlement-db",
            "status": {"code": None},
            "authenticationInfo": {"principalEmail": "alice@example.com"},
            "requestMetadata": None,
            "authorizationInfo": [],
        },
    }
    client = FakeClient(FailingRows(first))
    src = BigQuerySource(client, DATASET)
    assert [e.insert_id for e in src.events(["alice@example.com"], START, END)] == ["r1"]
    assert "reading the results stopped: ConnectionError: page 2" in src.gaps[0]
    (_, options) = client.calls[0]
    assert options["retry"] is None and options["job_retry"] is None
