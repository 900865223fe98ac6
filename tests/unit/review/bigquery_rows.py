"""BigQuery `jobs.query` answers as the REST API gives them, for the sink query's columns.

A row is built from a log entry the way the sink and the query would write it: the sink renames
`protoPayload` to `protopayload_auditlog`, keeps `google.protobuf.Struct` fields as JSON text
under a `Json` suffix (`metadataJson`, `requestJson`, `responseJson`), puts `serviceData` in a
column named after its type (`servicedata_v1_iam`). The query hands over only the fields the
review reads (`sink_fields`), as `TO_JSON_STRING` of STRUCTs built from the tables' schema:
`query_json` builds the same text from the sink's row, null where the entry has no such field.

Each read's answer comes after two dry runs (`jobs.insert`): the schema probe's (once per
review) and the query's own (once per scan), see `serve`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import responses

from generator.review.sink_fields import AUDIT_TABLES, PAYLOAD, RESOURCE, JsonPaths, Spec

DATASET = "pci-audit-logs.cloudaudit"
URL = "https://bigquery.googleapis.com/bigquery/v2/projects/pci-audit-logs/queries"

# What the query returns: the payload and the resource as TO_JSON_STRING text.
SCHEMA = {
    "fields": [
        {"name": "timestamp", "type": "TIMESTAMP", "mode": "NULLABLE"},
        {"name": "insertId", "type": "STRING", "mode": "NULLABLE"},
        {"name": "logName", "type": "STRING", "mode": "NULLABLE"},
        {"name": "resourceJson", "type": "STRING", "mode": "NULLABLE"},
        {"name": "payloadJson", "type": "STRING", "mode": "NULLABLE"},
    ]
}

_SERVICE_DATA_COLUMNS = {
    "type.googleapis.com/google.iam.v1.logging.AuditData": "servicedata_v1_iam",
    "type.googleapis.com/google.cloud.bigquery.logging.v1.AuditData": "servicedata_v1_bigquery",
}
# Columns a sink table has once any entry carried them; TO_JSON_STRING writes them as null.
_SCHEMA_NULLS = {
    "metadataJson": None,
    "requestJson": None,
    "responseJson": None,
    "servicedata_v1_iam": None,
    "servicedata_v1_bigquery": None,
    "numResponseItems": None,
}


def sink_payload(proto_payload: dict[str, Any]) -> dict[str, Any]:
    """`protoPayload` as `TO_JSON_STRING(protopayload_auditlog)` gives it back."""
    sink: dict[str, Any] = dict(_SCHEMA_NULLS)
    for name, value in proto_payload.items():
        if name in ("metadata", "request", "response"):
            sink[f"{name}Json"] = json.dumps(value)
        elif name == "serviceData":
            sink[_SERVICE_DATA_COLUMNS[value["@type"]]] = {
                k: v for k, v in value.items() if k != "@type"
            }
        elif name != "@type":
            sink[name] = value
    auth = dict(sink.get("authenticationInfo") or {})
    auth.setdefault("principalEmail", None)
    auth.setdefault("principalSubject", None)
    auth.setdefault("serviceAccountDelegationInfo", [])
    sink["authenticationInfo"] = auth
    return sink


def _leaf(name: str, kind: str = "STRING", mode: str = "NULLABLE") -> dict[str, Any]:
    return {"name": name, "type": kind, "mode": mode}


def _record(name: str, *fields: dict[str, Any], mode: str = "NULLABLE") -> dict[str, Any]:
    return {"name": name, "type": "RECORD", "mode": mode, "fields": list(fields)}


_TABLE = _record("t", _leaf("projectId"), _leaf("datasetId"), _leaf("tableId"))
_JOB_CONFIGURATION = _record(
    "jobConfiguration",
    _record(
        "query", _leaf("query"), {**_TABLE, "name": "destinationTable"}, _leaf("createDisposition")
    ),
    _record(
        "extract", _leaf("destinationUris", mode="REPEATED"), {**_TABLE, "name": "sourceTable"}
    ),
    _record(
        "tableCopy",
        {**_TABLE, "name": "sourceTables", "mode": "REPEATED"},
        {**_TABLE, "name": "destinationTable"},
    ),
    _leaf("dryRun", "BOOLEAN"),
)
# The columns a sink's audit table has once entries of every kind the tests use were written
# (Google's "BigQuery schema for logs": LogEntry's fields, the AuditLog payload renamed).
PAYLOAD_SCHEMA = _record(
    "protopayload_auditlog",
    _leaf("serviceName"),
    _leaf("methodName"),
    _leaf("resourceName"),
    _record("resourceLocation", _leaf("currentLocations", mode="REPEATED")),
    _leaf("numResponseItems", "INTEGER"),
    _record("status", _leaf("code", "INTEGER"), _leaf("message")),
    _record(
        "authenticationInfo",
        _leaf("principalEmail"),
        _leaf("authoritySelector"),
        _leaf("serviceAccountKeyName"),
        _record(
            "serviceAccountDelegationInfo",
            _record("firstPartyPrincipal", _leaf("principalEmail"), _leaf("serviceMetadataJson")),
            _record("thirdPartyPrincipal", _leaf("thirdPartyClaimsJson")),
            _leaf("principalSubject"),
            mode="REPEATED",
        ),
        _leaf("principalSubject"),
    ),
    _record(
        "authorizationInfo",
        _leaf("resource"),
        _leaf("permission"),
        _leaf("granted", "BOOLEAN"),
        _record("resourceAttributes", _leaf("service"), _leaf("name"), _leaf("type")),
        mode="REPEATED",
    ),
    _record(
        "requestMetadata",
        _leaf("callerIp"),
        _leaf("callerSuppliedUserAgent"),
        _leaf("callerNetwork"),
        _record("requestAttributes", _leaf("time", "TIMESTAMP"), _leaf("auth")),
    ),
    _leaf("requestJson"),
    _leaf("responseJson"),
    _leaf("metadataJson"),
    _record(
        "servicedata_v1_iam",
        _record(
            "policyDelta",
            _record(
                "bindingDeltas",
                _leaf("action"),
                _leaf("role"),
                _leaf("member"),
                _record("condition", _leaf("expression"), _leaf("title"), _leaf("description")),
                mode="REPEATED",
            ),
        ),
    ),
    _record(
        "servicedata_v1_bigquery",
        _record("jobInsertRequest", _record("resource", _JOB_CONFIGURATION)),
        _record(
            "jobCompletedEvent",
            _leaf("eventName"),
            _record(
                "job",
                _JOB_CONFIGURATION,
                _record("jobStatistics", _leaf("totalProcessedBytes", "INTEGER")),
            ),
        ),
    ),
)
RESOURCE_SCHEMA = _record(
    "resource",
    _leaf("type"),
    _record(
        "labels",
        _leaf("project_id"),
        _leaf("email_id"),
        _leaf("unique_id"),
        _leaf("bucket_name"),
        _leaf("method"),
        _leaf("service"),
    ),
)


JOBS_URL = "https://bigquery.googleapis.com/bigquery/v2/projects/pci-audit-logs/jobs"


def probe_response(*, payload: dict[str, Any] = PAYLOAD_SCHEMA) -> dict[str, Any]:
    """The schema probe's dry run: both tables' payload and resource columns, nothing scanned."""
    tables = [_record(table, payload, RESOURCE_SCHEMA, mode="REPEATED") for table in AUDIT_TABLES]
    return dry_run_response(0, {"fields": tables})


def probe_fields(**options: Any) -> list[dict[str, Any]]:
    """The columns the schema probe's answer describes, one repeated record per table."""
    schema: dict[str, Any] = probe_response(**options)["statistics"]["query"]["schema"]
    return list(schema["fields"])


def dry_run_response(scanned: int, schema: dict[str, Any] = SCHEMA) -> dict[str, Any]:
    """A dry run's statistics as `jobs.insert` answers (`echo` adds the job as it was sent)."""
    processed = str(scanned)
    return {
        "kind": "bigquery#job",
        "status": {"state": "DONE"},
        "statistics": {
            "creationTime": "1764579600000",
            "totalBytesProcessed": processed,
            "query": {
                "totalBytesProcessed": processed,
                "totalBytesProcessedAccuracy": "PRECISE",
                "statementType": "SELECT",
                "schema": schema,
            },
        },
    }


def dry_run(http: responses.RequestsMock, answer: dict[str, Any]) -> None:
    """`jobs.insert` of a dry run: BigQuery gives the job back with its statistics."""

    def echo(request: Any) -> tuple[int, dict[str, str], str]:
        sent = json.loads(request.body)
        job = {**answer, "configuration": sent["configuration"]}
        job["jobReference"] = {**sent["jobReference"], "location": "EU"}
        return 200, {"Content-Type": "application/json"}, json.dumps(job)

    http.add_callback(responses.POST, JOBS_URL, callback=echo)


def serve(http: responses.RequestsMock, *answers: Any, scanned: int = 5_242_880) -> None:
    """The schema probe, then per answer the scan's dry run and the answer itself."""
    dry_run(http, probe_response())
    for answer in answers:
        dry_run(http, dry_run_response(scanned))
        http.add(responses.POST, URL, json=answer)


def query_json(value: Any, spec: Spec, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """What the query's STRUCT of `spec` over columns `fields` holds for the column `value`."""
    present = {field["name"]: field for field in fields}
    found: dict[str, Any] = {}
    for name, wanted in spec.items():
        if name not in present:
            continue
        field = present[name]
        item = value.get(name) if isinstance(value, dict) else None
        if isinstance(wanted, JsonPaths):
            found[name] = (
                None if item is None else json.dumps(_json_paths(json.loads(item), wanted))
            )
        elif wanted is None or field["type"] != "RECORD":
            found[name] = item
        elif field["mode"] == "REPEATED":
            found[name] = [query_json(i, wanted, field["fields"]) for i in item or []]
        else:
            found[name] = query_json(item, wanted, field["fields"])
    return found


def _json_paths(value: Any, paths: JsonPaths) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in paths:
        node, item = found, value
        for key in path[:-1]:
            node = node.setdefault(key, {})
            item = item.get(key) if isinstance(item, dict) else None
        node[path[-1]] = item.get(path[-1]) if isinstance(item, dict) else None
    return found


def cell(value: Any) -> dict[str, Any]:
    return {"v": value}


def micros(timestamp: str) -> str:
    """A TIMESTAMP cell: int64 microseconds since the epoch, as the client asks for them."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return str(int(moment.timestamp()) * 1_000_000 + moment.microsecond)


def sink_row(entry: dict[str, Any]) -> dict[str, Any]:
    """One result row in the REST `f`/`v` encoding."""
    return {
        "f": [
            cell(micros(entry["timestamp"])),
            cell(entry["insertId"]),
            cell(entry["logName"]),
            cell(
                json.dumps(query_json(entry.get("resource"), RESOURCE, RESOURCE_SCHEMA["fields"]))
            ),
            cell(
                json.dumps(
                    query_json(
                        sink_payload(entry["protoPayload"]), PAYLOAD, PAYLOAD_SCHEMA["fields"]
                    )
                )
            ),
        ]
    }


def query_response(*entries: dict[str, Any], job: str = "job_Qx7") -> dict[str, Any]:
    return {
        "kind": "bigquery#queryResponse",
        "schema": SCHEMA,
        "jobReference": {"projectId": "pci-audit-logs", "jobId": job, "location": "EU"},
        "totalRows": str(len(entries)),
        "rows": [sink_row(e) for e in entries],
        "totalBytesProcessed": "5242880",
        "jobComplete": True,
        "cacheHit": False,
    }


def query_parameters(body: dict[str, Any]) -> dict[str, Any]:
    """{name: value} of a `jobs.query` request's parameters (@principals as {principal: since})."""
    found: dict[str, Any] = {}
    for parameter in body["queryParameters"]:
        value = parameter["parameterValue"]
        if "arrayValues" in value:
            found[parameter["name"]] = {
                v["structValues"]["principal"]["value"]: v["structValues"]["since"]["value"]
                for v in value["arrayValues"]
            }
        else:
            found[parameter["name"]] = value.get("value")
    return found


def scans(http: responses.RequestsMock) -> list[dict[str, Any]]:
    """The request bodies of the reads that ran (`jobs.query`; dry runs are `jobs.insert`)."""
    return [json.loads(c.request.body) for c in http.calls if c.request.url.startswith(URL)]


def dry_runs(http: responses.RequestsMock) -> list[dict[str, Any]]:
    """The query configuration of each dry run, the schema probe's first."""
    sent = [json.loads(c.request.body) for c in http.calls if c.request.url.startswith(JOBS_URL)]
    assert all(body["configuration"]["dryRun"] is True for body in sent)
    return [body["configuration"]["query"] for body in sent]
