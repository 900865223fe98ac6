"""Audit entries from a BigQuery log sink, in one parameterized query per read.

The sink writes `cloudaudit_googleapis_com_activity` and `..._data_access`, either as date-sharded
tables (`_YYYYMMDD`) or as one partitioned table; a wildcard over each prefix reads both layouts,
and `_TABLE_SUFFIX` bounds keep the scan to the days of the window. Principals and times travel as
query parameters: no value from a request is ever written into the SQL text.

An entry is read when the person is its caller, the first party of its delegation chain or its
`principalSubject`, or when it adds or removes a binding whose condition lapse wrote (whoever
made it: it dates a window). Google's "BigQuery schema for logs": "BigQuery table schemas for
data received from Cloud Logging are based on the structure of the LogEntry type and the contents
of the log entry payloads": a column appears once an entry carrying the field was written
(`servicedata_v1_iam`, `authenticationInfo.serviceAccountDelegationInfo`,
`principalSubject`, `metadataJson`, resource labels such as `unique_id`), so a query naming one
fails on a dataset that never saw it. The payload and the resource are therefore read whole, as
`TO_JSON_STRING` text, and the optional fields are reached by JSON path, where an absent one is
NULL; `sink_rows` turns the text back into a log entry. This bills every payload column of the
window's rows. One blind spot stays: a wildcard query takes the schema of the newest matching
table, so with date-sharded tables a field that no entry of the newest day carried is not seen
in older shards either. A sink writing one partitioned table (`--use-partitioned-tables`) has
one schema and no such blind spot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from typing import Any, Protocol

from generator.core.errors import (
    PROGRAMMING_ERRORS,
    ConfigError,
    ServiceError,
    show_when_debugging,
)
from generator.core.model import Event
from generator.core.retry import call_with_retry, describe
from generator.review.events import read_entry
from generator.review.following import Read, Reads, entry_key
from generator.review.logging_source import is_transient
from generator.review.sink_rows import row_entry
from generator.review.sources import GapRecord, utc, wanted_principals, window_text

AUDIT_TABLES = ("cloudaudit_googleapis_com_activity", "cloudaudit_googleapis_com_data_access")
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
    TO_JSON_STRING(resource) AS resourceJson,
    TO_JSON_STRING(protopayload_auditlog) AS payloadJson
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
  LOWER(JSON_VALUE(payloadJson, '$.authenticationInfo.principalEmail')) IN UNNEST(@principals)
  OR EXISTS (
    SELECT 1
    FROM UNNEST(
      JSON_QUERY_ARRAY(payloadJson, '$.authenticationInfo.serviceAccountDelegationInfo')
    ) AS link
    WHERE LOWER(JSON_VALUE(link, '$.firstPartyPrincipal.principalEmail')) IN UNNEST(@principals)
  )
  OR REGEXP_REPLACE(
    LOWER(JSON_VALUE(payloadJson, '$.authenticationInfo.principalSubject')),
    r'^(user|serviceaccount):',
    ''
  ) IN UNNEST(@principals)
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


class BigQueryClient(Protocol):
    """The part of `google.cloud.bigquery.Client` this source uses."""

    def query_and_wait(self, _query: str, /, **options: Any) -> Any: ...


def audit_query(dataset: str) -> str:
    """The SQL over both audit tables of `dataset` ("PROJECT.DATASET"), ordered by time."""
    if not _DATASET.match(dataset):
        raise ConfigError(
            f"BigQuery dataset {dataset!r} is not PROJECT.DATASET "
            "(for example pci-audit-logs.cloudaudit)"
        )
    branches = "\nUNION ALL\n".join(
        _BRANCH.format(table=f"{dataset}.{table}") for table in AUDIT_TABLES
    )
    # Ordered so that two copies of an entry come one after the other (see `_read`).
    return f"{branches}\nORDER BY timestamp, insertId, logName\n"


def query_parameters(principals: Collection[str], start: datetime, end: datetime) -> list[Any]:
    from google.cloud import bigquery  # noqa: PLC0415 - heavy, only when used

    return [
        bigquery.ArrayQueryParameter("principals", "STRING", sorted(principals)),
        bigquery.ScalarQueryParameter("start", "TIMESTAMP", start),
        bigquery.ScalarQueryParameter("end", "TIMESTAMP", end),
    ]


class BigQuerySource(GapRecord):
    """Events of a BigQuery log sink dataset ("PROJECT.DATASET")."""

    def __init__(
        self,
        client: BigQueryClient,
        dataset: str,
        *,
        attempts: int = 5,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.dataset = dataset
        self.sql = audit_query(dataset)
        self._attempts = attempts
        self._sleep = sleep

    def events(
        self, principals: Collection[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        wanted = set(wanted_principals(principals))
        start, end = utc(start), utc(end)
        self.minted = {}  # this read's mintings call for its further reads
        reads = Reads(wanted, start)
        for read in reads.each(self.minted):
            reads.asking(read.principals)
            yield from self._read(read, reads, wanted, start, end)

    def _read(
        self, read: Read, reads: Reads, wanted: set[str], start: datetime, end: datetime
    ) -> Iterator[Event]:
        where = f"{self.dataset} {window_text(read.start, end)}"
        try:
            rows = self._run(read.principals, read.start, end)
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
                event = self.account(found, where, wanted, start, end)
                if event is not None:
                    yield event
        except PROGRAMMING_ERRORS:
            raise
        except Exception as exc:  # a page the service failed to give is a gap, never a crash
            show_when_debugging(exc)
            self.record_gap(f"{where}: reading the results stopped: {describe(exc)}")

    def _run(self, wanted: Collection[str], start: datetime, end: datetime) -> Any:
        from google.cloud import bigquery  # noqa: PLC0415 - heavy, only when used

        config = bigquery.QueryJobConfig(query_parameters=query_parameters(wanted, start, end))
        options: dict[str, Any] = {"attempts": self._attempts}
        if self._sleep is not None:
            options["sleep"] = self._sleep
        # The client's own retries would sleep on their own clock; generator.core.retry is the one
        # policy here, so both of the client's are off.
        return call_with_retry(
            lambda: self.client.query_and_wait(
                self.sql, job_config=config, retry=None, job_retry=None
            ),
            what=f"querying audit logs in {self.dataset}",
            is_transient=is_transient,
            **options,
        )


def _row_key(row: Any) -> tuple[str, str]:
    return entry_key({"logName": row.get("logName"), "insertId": row.get("insertId")})
