"""BigQuery `jobs.query` answers as the REST API gives them, for the sink query's columns.

A row is built from a log entry the way the sink and the query would write it: the sink renames
`protoPayload` to `protopayload_auditlog`, keeps `google.protobuf.Struct` fields as JSON text
under a `Json` suffix (`metadataJson`, `requestJson`, `responseJson`), puts `serviceData` in a
column named after its type (`servicedata_v1_iam`), and `TO_JSON_STRING` writes every column of
the table's schema, null where the entry has no such field.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

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
            cell(json.dumps(entry.get("resource"))),
            cell(json.dumps(sink_payload(entry["protoPayload"]))),
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
    """{name: value} of a `jobs.query` request's parameters (arrays as lists)."""
    found: dict[str, Any] = {}
    for parameter in body["queryParameters"]:
        value = parameter["parameterValue"]
        if "arrayValues" in value:
            found[parameter["name"]] = [v["value"] for v in value["arrayValues"]]
        else:
            found[parameter["name"]] = value.get("value")
    return found
