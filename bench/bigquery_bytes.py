"""The bytes a `lapse review --source bigquery:...` read scans per 100M entries, before and after.

BigQuery bills a query by the columns it names, over the rows of the tables (or partitions) it
reads, whatever the WHERE clause keeps. Sizes per BigQuery's data-size table ("Data size
calculation"): STRING 2 bytes + the UTF-8 length, INT64 and TIMESTAMP 8, BOOL 1, a STRUCT or an
ARRAY nothing beyond its fields and elements, NULL 0. The columns are those of the audit-log
export ("BigQuery schema for logs": the LogEntry fields, `protopayload_auditlog` with Struct
fields as `...Json` text and `serviceData` as `servicedata_v1_*`).

Each leaf below carries the typical length of its value and the share of entries that have it,
for a mix of Admin Activity and Data Access entries (Cloud Storage, Secret Manager, Cloud SQL,
BigQuery, IAM): those are stated assumptions, not measurements; change them to a sink's own
figures (`bq show --format=prettyjson` gives a table's bytes and rows).

  before: TO_JSON_STRING(protopayload_auditlog), TO_JSON_STRING(resource), and the entry's
          timestamp, insertId and logName (every leaf of both records);
  after:  the leaves `generator/review/sink_fields.py` names (its PAYLOAD and RESOURCE), read
          from the same model, so the figure follows the code.

    python bench/bigquery_bytes.py [--entries N] [--price USD_PER_TIB]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generator.review.sink_fields import RECORDS, WHOLE, JsonPaths


@dataclass(frozen=True)
class Leaf:
    kind: str  # STRING, INT64, TIMESTAMP, BOOL
    length: int = 0  # typical UTF-8 length of a STRING
    share: float = 1.0  # of the entries that have the field
    items: float = 1.0  # elements per entry, in a repeated record

    def bytes(self) -> float:
        size = {"STRING": 2 + self.length, "INT64": 8, "TIMESTAMP": 8, "BOOL": 1}[self.kind]
        return size * self.share * self.items


def _s(length: int, share: float = 1.0) -> Leaf:
    return Leaf("STRING", length, share)


_TABLE = {"projectId": _s(18), "datasetId": _s(12), "tableId": _s(20)}
_JOB = {
    "query": {"query": _s(900), "destinationTable": _TABLE, "createDisposition": _s(14)},
    "extract": {"destinationUris": _s(50, 0.01), "sourceTable": _TABLE},
    "tableCopy": {"sourceTables": _TABLE, "destinationTable": _TABLE},
}


def _scaled(record: Mapping[str, Any], share: float) -> dict[str, Any]:
    return {
        name: _scaled(value, share)
        if isinstance(value, Mapping)
        else Leaf(value.kind, value.length, value.share * share, value.items)
        for name, value in record.items()
    }


# One typical entry; `share` and `items` are per entry of the whole mix.
ENTRY: dict[str, Any] = {
    "timestamp": Leaf("TIMESTAMP"),
    "insertId": _s(14),
    "logName": _s(74),
    "resource": {
        "type": _s(20),
        "labels": {
            "project_id": _s(18),
            "email_id": _s(45, 0.03),
            "unique_id": _s(21, 0.03),
            "bucket_name": _s(24, 0.4),
            "location": _s(10, 0.6),
            "method": _s(45, 0.2),
            "service": _s(25, 0.2),
        },
    },
    "protopayload_auditlog": {
        "serviceName": _s(25),
        "methodName": _s(45),
        "resourceName": _s(85),
        "resourceLocation": {"currentLocations": _s(10, 0.3)},
        "numResponseItems": Leaf("INT64", share=0.1),
        "status": {"code": Leaf("INT64", share=0.05), "message": _s(60, 0.05)},
        "authenticationInfo": {
            "principalEmail": _s(40),
            "principalSubject": _s(46, 0.2),
            "serviceAccountKeyName": _s(130, 0.1),
            "authoritySelector": _s(20, 0.01),
            "serviceAccountDelegationInfo": {
                "firstPartyPrincipal": {"principalEmail": _s(45, 0.1)},
                "principalSubject": _s(50, 0.02),
            },
        },
        "authorizationInfo": _scaled(
            {
                "resource": _s(85),
                "permission": _s(32),
                "granted": Leaf("BOOL"),
                "permissionType": _s(10, 0.8),
                "resourceAttributes": {"service": _s(25), "name": _s(85), "type": _s(40)},
            },
            1.5,  # permissions checked per entry
        ),
        "requestMetadata": {
            "callerIp": _s(14),
            "callerSuppliedUserAgent": _s(120, 0.9),
            "callerNetwork": _s(70, 0.3),
            "requestAttributes": {"time": Leaf("TIMESTAMP", share=0.7), "auth": _s(2, 0.7)},
            "destinationAttributes": {"ip": _s(14, 0.1)},
        },
        "requestJson": _s(450, 0.35),
        "responseJson": _s(900, 0.25),
        "metadataJson": _s(1400, 0.2),  # BigQuery jobs carry their query text and statistics
        "resourceOriginalStateJson": _s(1200, 0.03),
        "servicedata_v1_iam": {
            "policyDelta": {
                "bindingDeltas": _scaled(
                    {
                        "action": _s(3),
                        "role": _s(30),
                        "member": _s(40),
                        "condition": {"title": _s(40), "expression": _s(120)},
                    },
                    0.002,
                )
            }
        },
        "servicedata_v1_bigquery": _scaled(
            {
                "jobInsertRequest": {"resource": {"jobConfiguration": _JOB}},
                "jobCompletedEvent": {
                    "eventName": _s(20),
                    "job": {"jobConfiguration": _JOB, "jobStatistics": {"bytes": Leaf("INT64")}},
                },
            },
            0.05,  # legacy BigQuery AuditData, still written next to BigQueryAuditMetadata
        ),
    },
}


def whole(node: Mapping[str, Any] | Leaf) -> float:
    if isinstance(node, Leaf):
        return node.bytes()
    return sum(whole(child) for child in node.values())


def selected(node: Mapping[str, Any] | Leaf, spec: Any) -> float:
    """The bytes the query names of `node` when it selects `spec` of it (`sink_fields`)."""
    if spec is WHOLE or isinstance(spec, JsonPaths) or isinstance(node, Leaf):
        return whole(node)  # a JSON text column is billed whole, whatever path is read
    return sum(selected(node[name], wanted) for name, wanted in spec.items() if name in node)


def rows() -> Iterator[tuple[str, float, float]]:
    for name in ("timestamp", "insertId", "logName"):
        yield name, whole(ENTRY[name]), whole(ENTRY[name])
    for record, spec in RECORDS.items():
        for name, node in ENTRY[record].items():
            after = selected(node, spec[name]) if name in spec else 0.0
            yield f"{record}.{name}", whole(node), after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000_000)
    parser.add_argument("--price", type=float, default=6.25, help="US$ per TiB (on-demand)")
    args = parser.parse_args()
    table = list(rows())
    before = sum(b for _, b, _ in table)
    after = sum(a for _, _, a in table)
    print(f"{'column':<48} {'before B/entry':>15} {'after B/entry':>14}")
    for name, was, now in table:
        print(f"{name:<48} {was:>15.1f} {now:>14.1f}")
    print(f"{'per entry':<48} {before:>15.1f} {after:>14.1f}")
    for label, size in (("before", before), ("after", after)):
        scanned = size * args.entries
        cost = scanned / 2**40 * args.price
        print(
            f"{label}: {scanned / 1e9:,.1f} GB per {args.entries:,} entries, "
            f"US${cost:.2f} at US${args.price}/TiB"
        )
    print(f"after / before: {after / before:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
