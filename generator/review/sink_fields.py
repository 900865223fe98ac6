"""The fields of a BigQuery sink row the review reads, and the SQL that selects only those.

BigQuery bills a query by the columns it references: `TO_JSON_STRING(protopayload_auditlog)`
bills every leaf of the payload (request and response bodies, BigQuery's job configurations
with their query text, resource states), most of which no review reads. The query names each
leaf `events.read_entry` and `copies` read instead, and nothing else.

A sink adds a column once an entry carrying the field was written (`servicedata_v1_iam`,
`principalSubject`, `metadataJson`, a label such as `unique_id`), and a query naming an absent
one fails. The select list is therefore built from the tables' schema, read first by a dry run
(free: nothing is scanned) of `SCHEMA_PROBE`: a field the schema lacks is left out, and reads as
absent. A wildcard query takes the schema of the newest matching table, which is the one the
probe sees too.

Columns holding a `google.protobuf.Struct` as JSON text (`metadataJson`, `requestJson`) are
billed whole when named; only the JSON paths read inside them are handed over.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, Union

from generator.core.errors import ServiceError

AUDIT_TABLES = ("cloudaudit_googleapis_com_activity", "cloudaudit_googleapis_com_data_access")


class Field(Protocol):
    """The part of `google.cloud.bigquery.SchemaField` the select list reads."""

    @property
    def name(self) -> str: ...

    @property
    def field_type(self) -> str | None: ...

    @property
    def mode(self) -> str | None: ...

    @property
    def fields(self) -> Sequence[Any]: ...


class JsonPaths(tuple[tuple[str, ...], ...]):
    """The JSON paths read inside a column of JSON text."""


WHOLE = None  # the field is read as it is, leaf or small record
Spec = Mapping[str, Union["Spec", JsonPaths, None]]

# `events.read_entry`, `events.actor`, `events.login_of_entry` and `copies.copy_destination`,
# in the sink's names (`sink_rows`): nothing else of the payload is read.
_BINDING_DELTA: Spec = {
    "action": WHOLE,
    "member": WHOLE,
    "role": WHOLE,
    "condition": {"title": WHOLE},
}
# A BigQuery job's extract or copy settings are small records; read whole, a NULL one says
# the job is not of that kind (`copies._bigquery_destination`).
_JOB_CONFIGURATION: Spec = {"extract": WHOLE, "tableCopy": WHOLE}
_JOB_CONFIG = (
    ("type",),
    ("extractConfig", "destinationUris"),
    ("tableCopyConfig", "destinationTable"),
)
PAYLOAD: Spec = {
    "serviceName": WHOLE,
    "methodName": WHOLE,
    "resourceName": WHOLE,
    "status": {"code": WHOLE},
    "authenticationInfo": {
        "principalEmail": WHOLE,
        "principalSubject": WHOLE,
        "serviceAccountDelegationInfo": {
            "firstPartyPrincipal": {"principalEmail": WHOLE},
            "principalSubject": WHOLE,
            "thirdPartyPrincipal": {"principalSubject": WHOLE},
        },
    },
    "authorizationInfo": {"permission": WHOLE, "resource": WHOLE, "granted": WHOLE},
    "requestMetadata": {"callerIp": WHOLE},
    "servicedata_v1_iam": {"policyDelta": {"bindingDeltas": _BINDING_DELTA}},
    "servicedata_v1_bigquery": {
        "jobInsertRequest": {"resource": {"jobConfiguration": _JOB_CONFIGURATION}},
        "jobCompletedEvent": {"job": {"jobConfiguration": _JOB_CONFIGURATION}},
    },
    "metadataJson": JsonPaths(
        (
            ("policyDelta", "bindingDeltas"),
            ("event",),  # Login Audit's events and their parameters
            *(("jobInsertion", "job", "jobConfig", *path) for path in _JOB_CONFIG),
            *(("jobChange", "job", "jobConfig", *path) for path in _JOB_CONFIG),
        )
    ),
    "requestJson": JsonPaths(
        (
            ("exportContext", "uri"),
            ("body", "exportContext", "uri"),
            ("outputUriPrefix",),
            ("outputUrl",),
            ("destinationBucket",),
            ("destination", "bucket"),
        )
    ),
}
# `events.NameResolver`: the labels that name a project or a service account.
RESOURCE: Spec = {"labels": {"project_id": WHOLE, "email_id": WHOLE, "unique_id": WHOLE}}
RECORDS = {"protopayload_auditlog": PAYLOAD, "resource": RESOURCE}


def schema_probe(dataset: str) -> str:
    """SQL whose dry run answers with both audit tables' payload and resource schema.

    `dataset` is checked first (`bigquery_source.checked_dataset`); the rest is fixed names.
    """
    columns = ", ".join(RECORDS)
    arrays = (
        f"  ARRAY(SELECT AS STRUCT {columns} FROM `{dataset}.{table}*` LIMIT 0) AS {table}"  # noqa: S608
        for table in AUDIT_TABLES
    )
    return "SELECT\n" + ",\n".join(arrays)


def table_fields(probe_schema: Sequence[Field]) -> dict[str, dict[str, Field]]:
    """{table: {column: its schema}} from the probe's answer."""
    return {
        table.name.lower(): {column.name.lower(): column for column in table.fields}
        for table in probe_schema
        if table.name.lower() in AUDIT_TABLES
    }


def json_text(columns: Mapping[str, Field], record: str) -> str:
    """`TO_JSON_STRING` of a STRUCT holding only the read fields of `record` in this table."""
    found = columns.get(record)
    items = list(_items(RECORDS[record], found.fields, record, 0)) if found else []
    return f"TO_JSON_STRING(STRUCT({', '.join(items)}))"


def _items(spec: Spec, fields: Sequence[Field], expression: str, depth: int) -> Iterator[str]:
    # BigQuery's column names are case-insensitive: a field is there however it is spelled.
    present = {field.name.lower(): field for field in fields}
    for name, wanted in spec.items():
        field = present.get(name.lower())
        if field is None:
            continue
        path = f"{expression}.{name}"
        if isinstance(wanted, JsonPaths):
            if field.field_type not in ("STRING", "JSON"):
                # Left out, its paths would read as absent everywhere: a gap instead.
                raise ServiceError(f"{path} is {field.field_type}, not JSON: it cannot be read")
            text = field.field_type == "STRING"
            built = _json_object(path, _trie(wanted), (), text=text)
            yield f"IF({path} IS NULL, NULL, {built}) AS {name}"
        elif wanted is WHOLE or field.field_type not in ("RECORD", "STRUCT"):
            yield f"{path} AS {name}"
        elif field.mode == "REPEATED":
            alias = f"item{depth}"
            inner = list(_items(wanted, field.fields, alias, depth + 1))
            if inner:
                # Names from the fields above (the schema only says which are there). UNNEST
                # keeps no order, and a delegation chain's first link names who started it.
                each = (
                    f"SELECT AS STRUCT {', '.join(inner)} FROM UNNEST({path}) AS {alias} "  # noqa: S608
                    f"WITH OFFSET AS {alias}_at ORDER BY {alias}_at"
                )
                yield f"ARRAY({each}) AS {name}"
        else:
            inner = list(_items(wanted, field.fields, path, depth))
            if inner:
                yield f"STRUCT({', '.join(inner)}) AS {name}"


def _trie(paths: JsonPaths) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in paths:
        node = root
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = None
    return root


def _json_object(
    column: str, node: Mapping[str, Any], prefix: tuple[str, ...], *, text: bool
) -> str:
    """JSON text of an object with only `node`'s paths of `column` (null where absent).

    `JSON_QUERY` gives each value of JSON text back as JSON text, of a JSON column as JSON
    (`TO_JSON_STRING` writes it); keys are the fixed names above.
    """
    parts = []
    for key, child in node.items():
        path = (*prefix, key)
        if child is None:
            found = f"JSON_QUERY({column}, '$.{'.'.join(path)}')"
            value = f"IFNULL({found if text else f'TO_JSON_STRING({found})'}, 'null')"
        else:
            value = _json_object(column, child, path, text=text)
        parts.append(f"'\"{key}\":', {value}")
    return "CONCAT('{', " + ", ',', ".join(parts) + ", '}')"
