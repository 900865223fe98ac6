"""Which columns a BigQuery query reads of a sink's table, by the SQL's own parse.

`whole_columns` resolves every column the SQL names against the table's schema: a star, a whole
row, a whole record (other than the small ones read whole on purpose), a JSON text column
handed over as it is, or a name the schema does not have, is a finding.
"""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp

# The LogEntry columns of a sink table besides the payload and the resource.
ENTRY_COLUMNS = [
    {"name": name, "type": kind, "mode": "NULLABLE"}
    for name, kind in (
        ("logName", "STRING"),
        ("timestamp", "TIMESTAMP"),
        ("receiveTimestamp", "TIMESTAMP"),
        ("severity", "STRING"),
        ("insertId", "STRING"),
        ("trace", "STRING"),
        ("_TABLE_SUFFIX", "STRING"),  # the wildcard's pseudo column
    )
] + [
    {"name": "jsonPayload", "type": "RECORD", "mode": "NULLABLE", "fields": []},
    {"name": "httpRequest", "type": "RECORD", "mode": "NULLABLE", "fields": []},
]
# Small records read whole on purpose: a BigQuery job's extract and copy settings, whose
# being NULL says the job is of another kind (`copies`).
_READ_WHOLE = {
    f"protopayload_auditlog.servicedata_v1_bigquery.{job}.jobconfiguration.{kind}"
    for job in ("jobinsertrequest.resource", "jobcompletedevent.job")
    for kind in ("extract", "tablecopy")
}
_JSON_READERS = (exp.JSONExtract, exp.JSONExtractScalar, exp.Is)


def whole_columns(sql: str, table: list[dict[str, Any]]) -> list[str]:
    """Each way `sql` reads more of a table with columns `table` than single fields."""
    tree = sqlglot.parse_one(sql, read="bigquery")
    found = ["*" for _ in tree.find_all(exp.Star)]
    aliases = {t.alias_or_name.lower() for t in tree.find_all(exp.Table) if t.alias}
    # Columns a subquery in FROM makes itself (payloadJson), not a STRUCT's field names.
    derived = {
        item.alias.lower()
        for query in tree.find_all(exp.Subquery)
        if isinstance(query.this, exp.Select)
        for item in query.this.expressions
        if isinstance(item, exp.Alias)
    } | {u.args["offset"].name.lower() for u in tree.find_all(exp.Unnest) if u.args.get("offset")}
    for column in tree.find_all(exp.Column):
        if isinstance(column.parent, exp.Dot) or isinstance(column.this, exp.Star):
            continue  # the outermost part of a dotted name is judged; a star is found above
        outer, parts = _dotted(column)
        problem = _judge(outer, parts, table, aliases, derived)
        if problem:
            found.append(problem)
    return found


def _dotted(column: exp.Column) -> tuple[exp.Expression, list[str]]:
    parts = [part.name.lower() for part in column.parts]
    node: exp.Expression = column
    while isinstance(node.parent, exp.Dot) and node.parent.this is node:
        node = node.parent
        parts.append(node.expression.name.lower())
    return node, parts


def _judge(
    node: exp.Expression,
    parts: list[str],
    table: list[dict[str, Any]],
    aliases: set[str],
    derived: set[str],
) -> str:
    text = ".".join(parts)
    unnested = _unnested(node, parts[0])
    if unnested is not None:
        if unnested.expressions and isinstance(unnested.expressions[0], exp.Column):
            _, base = _dotted(unnested.expressions[0])
            parts = [*base, *parts[1:]]  # a table column's elements: judged as that column
        else:
            return ""  # elements of a parameter or of JSON text
    elif parts[0] in aliases:
        parts = parts[1:]
        if not parts:
            return f"the whole row ({text})"
    elif parts[0] in derived and len(parts) == 1:
        return ""  # a column the query made itself (payloadJson)
    field = _field(table, parts)
    if field is None:
        return f"{text}: not a column of the table"
    path = ".".join(parts)
    if field["type"] == "RECORD":
        if isinstance(node.parent, exp.Unnest) or path in _READ_WHOLE:
            return ""
        return f"{path}: a whole record"
    if path.endswith("json") and not isinstance(node.parent, _JSON_READERS):
        return f"{path}: JSON text handed over whole"
    return ""


def _unnested(node: exp.Expression, name: str) -> exp.Unnest | None:
    """The UNNEST that names `name` in a query around `node`, nearest first."""
    scope = node.parent
    while scope is not None:
        if isinstance(scope, exp.Select):
            for unnest in scope.find_all(exp.Unnest):
                alias = unnest.args.get("alias")
                named = {c.name.lower() for c in alias.columns} if alias else set()
                if name in named and unnest.find_ancestor(exp.Select) is scope:
                    return unnest
        scope = scope.parent
    return None


def _field(fields: list[dict[str, Any]], parts: list[str]) -> dict[str, Any] | None:
    field: dict[str, Any] | None = None
    for part in parts:
        by_name = {f["name"].lower(): f for f in fields}
        field = by_name.get(part)
        if field is None:
            return None
        fields = field.get("fields", [])
    return field
