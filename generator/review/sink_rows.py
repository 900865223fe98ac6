"""A BigQuery log sink's row -> the log entry it was made from, for `events.read_entry`.

Google's "BigQuery schema for logs" renames some audit log fields on export: `protoPayload`
becomes `protopayload_auditlog`; fields of type `google.protobuf.Struct` are exported as JSON
strings under the name with a `Json` suffix (`protoPayload.metadata` ->
`protopayload_auditlog.metadataJson`, `protoPayload.request` -> `...requestJson`,
`protoPayload.response` -> `...responseJson`); `serviceData`, a typed `Any`, becomes a record
named after its type (`servicedata_v1_iam` for IAM's AuditData with its
`policyDelta.bindingDeltas`, `servicedata_v1_bigquery` for BigQuery's). The query hands the
fields of the payload and the resource it reads as `TO_JSON_STRING` text (see `sink_fields`);
this turns them back into the field names of a log entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Struct columns `read_entry` reads (the request names a copy's destination, the metadata
# BigQuery's jobs and dataset policy changes); `responseJson` is left out, it is never read.
_STRUCT_COLUMNS = {"metadataJson": "metadata", "requestJson": "request"}
_SERVICE_DATA_PREFIX = "servicedata_"


def row_entry(row: Mapping[str, Any]) -> dict[str, Any] | str:
    """The log entry a result row holds, or why it holds none."""
    payload = _json_object(row.get("payloadJson"))
    if payload is None:
        return "protopayload_auditlog is not a JSON object in the query result"
    return {
        "timestamp": row.get("timestamp"),
        "insertId": row.get("insertId"),
        "logName": row.get("logName"),
        "resource": _json_object(row.get("resourceJson")),
        "protoPayload": log_entry_payload(payload),
    }


def log_entry_payload(sink_payload: Mapping[str, Any]) -> dict[str, Any]:
    """A sink's `protopayload_auditlog` with the field names of `protoPayload`.

    Columns a row leaves empty are exported as null: they are dropped, as a log entry omits
    them. A Struct whose text is not JSON is dropped too; `read_entry` reads its absence.
    """
    payload: dict[str, Any] = {}
    for name, value in sink_payload.items():
        if value is None:
            continue
        if name in _STRUCT_COLUMNS:
            parsed = _json_object(value)
            if parsed is not None:
                payload[_STRUCT_COLUMNS[name]] = parsed
        elif name.startswith(_SERVICE_DATA_PREFIX):
            # One entry carries one serviceData; the other typed columns are null in its row,
            # or, as the query builds them (`sink_fields`), records of nulls.
            if _holds_a_value(value):
                payload.setdefault("serviceData", value)
        elif not name.endswith("Json"):
            payload[name] = value
    return payload


def _holds_a_value(value: object) -> bool:
    if isinstance(value, Mapping):
        return any(_holds_a_value(item) for item in value.values())
    if isinstance(value, list):
        return bool(value)
    return value is not None


def _json_object(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # a Struct can nest deeper than the parser recurses
        return None
    return value if isinstance(value, dict) else None
