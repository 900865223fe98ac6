"""Audit entries from a BigQuery log sink, in one parameterized query per round of reads.

The sink writes `cloudaudit_googleapis_com_activity` and `..._data_access`, either as date-sharded
tables (`_YYYYMMDD`) or as one partitioned table; a wildcard over each prefix reads both layouts,
and `_TABLE_SUFFIX` bounds keep the scan to the days of the window. Principals and times travel as
query parameters: no value from a request is ever written into the SQL text.

An entry is read when a wanted principal is its caller, the first party of its delegation chain
or its `principalSubject` (each principal from its own start: a minted account from its
minting), or when it adds or removes a binding whose condition lapse wrote (whoever made it: it
dates a window). Only the fields the review reads are selected (`sink_fields`), as JSON text
that `sink_rows` turns back into a log entry; the filter reads the same text by JSON path, where
an absent field is NULL.

Each scan is priced first by a dry run (free): its bytes are reported, a read above the limit
(`--max-bytes`, or the policy's `review.max_bytes`) is refused before it runs (`ScanRefused`:
a decision, not a failed read, so it stops the review rather than leaving a gap), and the job
carries the limit as `maximumBytesBilled`, so BigQuery itself refuses to bill more. The
accounts a round of reads finds minted are read together in the next round, one scan.

One blind spot stays: a wildcard query takes the schema of the newest matching table, so with
date-sharded tables a field that no entry of the newest day carried is not seen in older shards
either. A sink writing one partitioned table (`--use-partitioned-tables`) has one schema and no
such blind spot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from generator.core.audit_event import Event
from generator.core.errors import (
    PROGRAMMING_ERRORS,
    ConfigError,
    ServiceError,
    show_when_debugging,
)
from generator.core.retry import call_with_retry, describe
from generator.review.events import read_entry
from generator.review.following import Reads, entry_key
from generator.review.logging_source import is_transient
from generator.review.sink_fields import AUDIT_TABLES, Field, json_text, schema_probe, table_fields
from generator.review.sink_rows import row_entry
from generator.review.sources import GapRecord, utc, wanted_principals, window_text

# Project IDs (optionally domain-scoped, `example.com:proj`) and dataset IDs, nothing else:
# the dataset is the one name that has to be written into the SQL text.
_DATASET = re.compile(r"^(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]\.[A-Za-z0-9_]{1,1024}$")

# The schema's names: `serviceAccountDelegationInfo` is a repeated record whose
# `firstPartyPrincipal.principalEmail` names who started the chain; `principalSubject` is
# `user:EMAIL` or `serviceAccount:EMAIL`; IAM's binding deltas are in
# `servicedata_v1_iam.policyDelta.bindingDeltas`, newer services' in the `metadataJson` text
# (`policyDelta.bindingDeltas`; BigQuery's own `datasetChange` holds no deltas, see `events`).
_BRANCH = """SELECT timestamp, insertId, logName, resourceJson, payloadJson
FROM (
  SELECT
    timestamp,
    insertId,
    logName,
    {resource} AS resourceJson,
    {payload} AS payloadJson
  FROM `{table}*`
  WHERE (
      _TABLE_SUFFIX = ''
      OR _TABLE_SUFFIX BETWEEN FORMAT_DATE('_%Y%m%d', DATE(@start))
        AND FORMAT_DATE('_%Y%m%d', DATE(@end))
    )
    AND timestamp >= @start
    AND timestamp < @end
)
WHERE
  {caller}
  OR EXISTS (
    SELECT 1
    FROM UNNEST(
      JSON_QUERY_ARRAY(payloadJson, '$.authenticationInfo.serviceAccountDelegationInfo')
    ) AS link
    WHERE {first_party}
  )
  OR {subject}
  OR EXISTS (
    SELECT 1
    FROM UNNEST(ARRAY_CONCAT(
      IFNULL(JSON_QUERY_ARRAY(payloadJson, '$.servicedata_v1_iam.policyDelta.bindingDeltas'), []),
      IFNULL(
        JSON_QUERY_ARRAY(JSON_VALUE(payloadJson, '$.metadataJson'), '$.policyDelta.bindingDeltas'),
        []
      )
    )) AS delta
    WHERE STARTS_WITH(JSON_VALUE(delta, '$.condition.title'), 'lapse/')
  )"""
_SUBJECT = (
    "REGEXP_REPLACE(LOWER(JSON_VALUE(payloadJson, '$.authenticationInfo.principalSubject')), "
    "r'^(user|serviceaccount):', '')"
)


def _wanted(name: str) -> str:
    """SQL: `name` is a wanted principal, and the entry is from that principal's start on."""
    # `name` is one of the fixed JSON paths above; the principals are a parameter.
    return (
        "EXISTS (SELECT 1 FROM UNNEST(@principals) AS wanted "  # noqa: S608
        f"WHERE wanted.principal = {name} AND timestamp >= wanted.since)"
    )


class BigQueryClient(Protocol):
    """The part of `google.cloud.bigquery.Client` this source uses: `query` for dry runs
    (`jobs.insert`, whose answer is the job with its statistics), `query_and_wait` for reads."""

    def query(self, _query: str, /, **options: Any) -> Any: ...

    def query_and_wait(self, _query: str, /, **options: Any) -> Any: ...


class ScanRefused(ConfigError):
    """A read would scan more than the limit allows: nothing was billed."""


def checked_dataset(dataset: str) -> str:
    if not _DATASET.match(dataset):
        raise ConfigError(
            f"BigQuery dataset {dataset!r} is not PROJECT.DATASET "
            "(for example pci-audit-logs.cloudaudit)"
        )
    return dataset


def audit_query(dataset: str, tables: Mapping[str, Mapping[str, Field]]) -> str:
    """The SQL over both audit tables of `dataset` ("PROJECT.DATASET"), ordered by time.

    `tables` is each table's columns as `schema_probe` found them (`sink_fields.table_fields`).
    """
    checked_dataset(dataset)
    branches = "\nUNION ALL\n".join(
        _BRANCH.format(
            table=f"{dataset}.{table}",
            resource=json_text(tables.get(table, {}), "resource"),
            payload=json_text(tables.get(table, {}), "protopayload_auditlog"),
            caller=_wanted("LOWER(JSON_VALUE(payloadJson, '$.authenticationInfo.principalEmail'))"),
            first_party=_wanted("LOWER(JSON_VALUE(link, '$.firstPartyPrincipal.principalEmail'))"),
            subject=_wanted(_SUBJECT),
        )
        for table in AUDIT_TABLES
    )
    # Ordered so that two copies of an entry come one after the other (see `_read`).
    return f"{branches}\nORDER BY timestamp, insertId, logName\n"


def query_parameters(since: Mapping[str, datetime], start: datetime, end: datetime) -> list[Any]:
    """@principals (each principal with its own start), @start (the earliest) and @end."""
    from google.cloud import bigquery  # noqa: PLC0415 - heavy, only when used

    # The client's parameter types are untyped; an empty array still needs its element type.
    wanted = bigquery.StructQueryParameterType(  # type: ignore[no-untyped-call]
        bigquery.ScalarQueryParameterType("STRING", name="principal"),  # type: ignore[no-untyped-call]
        bigquery.ScalarQueryParameterType("TIMESTAMP", name="since"),  # type: ignore[no-untyped-call]
    )
    return [
        bigquery.ArrayQueryParameter(
            "principals",
            wanted,
            [
                bigquery.StructQueryParameter(
                    None,
                    bigquery.ScalarQueryParameter("principal", "STRING", principal),
                    bigquery.ScalarQueryParameter("since", "TIMESTAMP", since[principal]),
                )
                for principal in sorted(since)
            ],
        ),
        bigquery.ScalarQueryParameter("start", "TIMESTAMP", start),
        bigquery.ScalarQueryParameter("end", "TIMESTAMP", end),
    ]


def size_text(count: int) -> str:
    """`1,234,567,890 bytes (1.23 GB)`: the exact count, and in decimal units as BigQuery bills."""
    scaled, unit = float(count), "B"
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):  # noqa: B007 - the last unit is kept
        if scaled < 1000:
            break
        scaled /= 1000
    return f"{count:,} bytes ({scaled:.3g} {unit})"


class BigQuerySource(GapRecord):
    """Events of a BigQuery log sink dataset ("PROJECT.DATASET").

    `say` is told each scan's price before it runs; `max_bytes` refuses a scan above it,
    `limit_name` says where the limit was set.
    """

    def __init__(
        self,
        client: BigQueryClient,
        dataset: str,
        *,
        attempts: int = 5,
        sleep: Callable[[float], None] | None = None,
        max_bytes: int | None = None,
        limit_name: str = "--max-bytes",
        say: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.dataset = checked_dataset(dataset)
        self.max_bytes = max_bytes
        self.limit_name = limit_name
        self.scanned: list[int] = []  # the dry run's bytes of each scan that ran
        self._say = say or (lambda _: None)
        self._attempts = attempts
        self._sleep = sleep
        self._sql: str | None = None

    def events(
        self, principals: Collection[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        wanted = set(wanted_principals(principals))
        start, end = utc(start), utc(end)
        self.minted = {}  # this read's mintings call for its further reads
        reads = Reads(wanted, start)
        try:
            sql = self._query()
        except ServiceError as exc:
            show_when_debugging(exc)
            self.record_gap(f"{self.dataset} {window_text(start, end)}: {exc}")
            return
        for found in reads.rounds(self.minted):
            since = {principal: read.start for read in found for principal in read.principals}
            reads.asking(since)
            yield from self._read(sql, since, reads, wanted, (start, end))

    def _query(self) -> str:
        """The audit query for the tables' columns, found by a dry run of the schema probe."""
        if self._sql is None:
            probe = self._call(
                schema_probe(self.dataset), [], dry_run=True, what="reading the sink's schema"
            )
            tables = table_fields(probe.schema or [])
            if any("protopayload_auditlog" not in tables.get(t, {}) for t in AUDIT_TABLES):
                # Without the payload's columns every row would read as no one's: say so.
                raise ServiceError(
                    f"reading the sink's schema in {self.dataset}: the answer describes no "
                    f"protopayload_auditlog of {' and '.join(AUDIT_TABLES)}"
                )
            self._sql = audit_query(self.dataset, tables)
        return self._sql

    def _read(
        self,
        sql: str,
        since: Mapping[str, datetime],
        reads: Reads,
        wanted: set[str],
        period: tuple[datetime, datetime],
    ) -> Iterator[Event]:
        first, end = min(since.values(), default=period[0]), period[1]
        where = f"{self.dataset} {window_text(first, end)}"
        parameters = query_parameters(since, first, end)
        try:
            priced = self._call(sql, parameters, dry_run=True, what="pricing the audit query")
            counted = priced.total_bytes_processed
            self._price(None if counted is None else int(counted), where, len(since))
            rows = self._call(sql, parameters, dry_run=False, what="querying audit logs")
        except ServiceError as exc:
            show_when_debugging(exc)
            self.record_gap(f"{where}: {exc}")
            return
        previous = ("", "")
        try:
            for row in rows:
                key = _row_key(row)
                if key[1] and key == previous:
                    # LogEntry.insertId: "there are no guarantees of de-duplication in the
                    # export of logs"; a second copy is neither read again nor counted.
                    continue
                previous = key
                entry = row_entry(row)
                found = read_entry(entry) if isinstance(entry, dict) else entry
                if not reads.first_time(key, found):
                    continue
                event = self.account(found, where, wanted, *period)
                if event is not None:
                    yield event
        except PROGRAMMING_ERRORS:
            raise
        except Exception as exc:  # a page the service failed to give is a gap, never a crash
            show_when_debugging(exc)
            self.record_gap(f"{where}: reading the results stopped: {describe(exc)}")

    def _price(self, scanned: int | None, where: str, principals: int) -> None:
        """Report the scan's bytes; refuse it above the limit, before anything is billed.

        A dry run without a count is said as such; the job's `maximumBytesBilled` still holds.
        """
        limit = "" if self.max_bytes is None else f" (limit {self.limit_name} {self.max_bytes:,})"
        who = f"{principals} principal{'' if principals == 1 else 's'}"
        size = "an unknown number of bytes" if scanned is None else size_text(scanned)
        self._say(f"BigQuery: reading {where} for {who} will scan {size}{limit}")
        if scanned is None:
            return
        if self.max_bytes is not None and scanned > self.max_bytes:
            raise ScanRefused(
                f"BigQuery would scan {size_text(scanned)} reading {where}, above "
                f"{self.limit_name} {self.max_bytes:,}: nothing was read or billed; review a "
                f"shorter period (--since) or raise {self.limit_name}"
            )
        self.scanned.append(scanned)

    def _call(self, sql: str, parameters: list[Any], *, dry_run: bool, what: str) -> Any:
        from google.cloud import bigquery  # noqa: PLC0415 - heavy, only when used

        config = bigquery.QueryJobConfig(query_parameters=parameters)
        if dry_run:
            config.dry_run, config.use_query_cache = True, False
        elif self.max_bytes is not None:
            config.maximum_bytes_billed = self.max_bytes  # BigQuery refuses to bill more
        options: dict[str, Any] = {"attempts": self._attempts}
        if self._sleep is not None:
            options["sleep"] = self._sleep
        # The client's own retries would sleep on their own clock; generator.core.retry is the one
        # policy here, so both of the client's are off. A dry run's job is done when created.
        run = self.client.query if dry_run else self.client.query_and_wait
        return call_with_retry(
            lambda: run(sql, job_config=config, retry=None, job_retry=None),
            what=f"{what} in {self.dataset}",
            is_transient=is_transient,
            **options,
        )


def _row_key(row: Any) -> tuple[str, str]:
    return entry_key({"logName": row.get("logName"), "insertId": row.get("insertId")})
