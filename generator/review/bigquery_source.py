"""Audit entries from a BigQuery log sink, in one parameterized query.

The sink writes `cloudaudit_googleapis_com_activity` and `..._data_access`, either as date-sharded
tables (`_YYYYMMDD`) or as one partitioned table; a wildcard over each prefix reads both layouts,
and `_TABLE_SUFFIX` bounds keep the scan to the days of the window. Principals and times travel as
query parameters: no value from a request is ever written into the SQL text.

Only columns every audit table has are read. The IAM binding deltas live in a column
(`servicedata_v1_iam`) that the sink creates only once such an entry was written, so a query naming
it would fail on most datasets; the review spots policy changes by their method name instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from generator.core.errors import ConfigError, ServiceError
from generator.core.model import Event
from generator.core.retry import call_with_retry, describe
from generator.review.events import read_entry
from generator.review.logging_source import is_transient
from generator.review.sources import GapRecord, utc, wanted_principals, window_text

AUDIT_TABLES = ("cloudaudit_googleapis_com_activity", "cloudaudit_googleapis_com_data_access")
# Project IDs (optionally domain-scoped, `example.com:proj`) and dataset IDs, nothing else:
# the dataset is the one name that has to be written into the SQL text.
_DATASET = re.compile(r"^(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]\.[A-Za-z0-9_]{1,1024}$")

_BRANCH = """SELECT
  timestamp,
  insertId,
  logName,
  STRUCT(
    protopayload_auditlog.serviceName AS serviceName,
    protopayload_auditlog.methodName AS methodName,
    protopayload_auditlog.resourceName AS resourceName,
    STRUCT(protopayload_auditlog.status.code AS code) AS status,
    STRUCT(
      protopayload_auditlog.authenticationInfo.principalEmail AS principalEmail
    ) AS authenticationInfo,
    STRUCT(protopayload_auditlog.requestMetadata.callerIp AS callerIp) AS requestMetadata,
    ARRAY(
      SELECT AS STRUCT info.permission, info.resource, info.granted
      FROM UNNEST(protopayload_auditlog.authorizationInfo) AS info
    ) AS authorizationInfo
  ) AS protopayload_auditlog
FROM `{table}*`
WHERE (
    _TABLE_SUFFIX = ''
    OR _TABLE_SUFFIX BETWEEN FORMAT_DATE('_%Y%m%d', DATE(@start))
      AND FORMAT_DATE('_%Y%m%d', DATE(@end))
  )
  AND timestamp >= @start
  AND timestamp < @end
  AND LOWER(protopayload_auditlog.authenticationInfo.principalEmail) IN UNNEST(@principals)"""


class BigQueryClient(Protocol):
    """The part of `google.cloud.bigquery.Client` this source uses."""

    def query_and_wait(self, query: str, **options: Any) -> Any: ...


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
    return f"{branches}\nORDER BY timestamp, insertId\n"


def query_parameters(principals: Collection[str], start: datetime, end: datetime) -> list[Any]:
    from google.cloud import bigquery  # noqa: PLC0415 - heavy, only when used

    return [
        bigquery.ArrayQueryParameter("principals", "STRING", sorted(principals)),
        bigquery.ScalarQueryParameter("start", "TIMESTAMP", start),
        bigquery.ScalarQueryParameter("end", "TIMESTAMP", end),
    ]


def row_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """A result row in the shape of a log entry, so one normalizer serves every source."""
    return {
        "timestamp": row.get("timestamp"),
        "insertId": row.get("insertId"),
        "logName": row.get("logName"),
        "protoPayload": row.get("protopayload_auditlog"),
    }


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
        wanted = wanted_principals(principals)
        start, end = utc(start), utc(end)
        where = f"{self.dataset} {window_text(start, end)}"
        try:
            rows = self._run(wanted, start, end)
        except ServiceError as exc:
            self.record_gap(f"{where}: {exc}")
            return
        try:
            wanted_now = set(wanted)
            for row in rows:
                event = self.account(read_entry(row_entry(row)), where, wanted_now, start, end)
                if event is not None:
                    yield event
        except Exception as exc:  # any failed page is a gap, never a crash
            self.record_gap(f"{where}: reading the results stopped: {describe(exc)}")

    def _run(self, wanted: frozenset[str], start: datetime, end: datetime) -> Any:
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
