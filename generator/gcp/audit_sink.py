"""The audit-log sink the review reads: it exists, is enabled, its writer identity may write to
its BigQuery dataset, and the newest Admin Activity entry there is recent.

Admin Activity entries are always written, so a dataset whose newest one is old has stopped
receiving: the sink, its filter or its writer broke. The query reads one column of the days
in question (`_TABLE_SUFFIX` for date-sharded tables, the timestamp for a partitioned one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from generator.core.checklist import State
from generator.core.controls import Status, cannot_tell, failing, ok
from generator.core.errors import ServiceError
from generator.core.model import Policy
from generator.core.retry import call_with_retry
from generator.core.times import format_duration, format_utc
from generator.gcp.iam_policies import (
    TIMEOUT_SECONDS,
    HttpStatusError,
    IamPolicyReader,
    is_transient,
)
from generator.gcp.setup_check import GcpCheck, GoogleJson

LOGGING = "https://logging.googleapis.com/v2"
BIGQUERY = "https://bigquery.googleapis.com/bigquery/v2"
# Roles that carry bigquery.tables.create and tables.updateData on a dataset.
WRITER_ROLES = frozenset(
    {"roles/bigquery.dataEditor", "roles/bigquery.dataOwner", "roles/bigquery.admin"}
)
_DESTINATION = re.compile(
    r"^bigquery\.googleapis\.com/projects/([a-z][a-z0-9-]{4,28}[a-z0-9])/datasets/(\w{1,1024})$"
)
_NEWEST = (
    "SELECT MAX(timestamp) AS newest FROM `{project}.{dataset}.cloudaudit_googleapis_com_activity*`"
    " WHERE (_TABLE_SUFFIX = '' OR _TABLE_SUFFIX >= @day) AND timestamp >= @since"
)


class SinkCheck:
    """One reading of the sink; every call retried on transient failures."""

    def __init__(
        self, session: requests.Session, *, sleep: Callable[[float], None] | None = None
    ) -> None:
        self._session = session
        self._sleep = sleep
        self._policies = IamPolicyReader(session, sleep=sleep)

    def status(self, sink: str, now: datetime, max_age: timedelta) -> Status:
        found = self._json("GET", f"{LOGGING}/{sink}", None, f"reading the sink {sink}")
        if found is None:
            return failing(f"the sink {sink} does not exist")
        if found.get("disabled") is True:
            return failing(f"the sink {sink} is disabled")
        destination = str(found.get("destination") or "")
        writer = str(found.get("writerIdentity") or "")
        where = _DESTINATION.match(destination)
        if where is None:
            return cannot_tell(
                f"the sink {sink} writes to {destination!r}: only a BigQuery dataset is checked"
            )
        project, dataset = where.groups()
        if not self._may_write(writer, project, dataset):
            return failing(
                f"the sink's writer identity {writer or '(none)'} holds no role that writes to"
                f" {project}.{dataset} (bigquery.dataEditor on the dataset or its project)"
            )
        newest = self._newest(project, dataset, now - 2 * max_age)
        if newest is None or now - newest > max_age:
            said = "none" if newest is None else format_utc(newest)
            since = (newest or now - 2 * max_age) + max_age
            return failing(
                f"the newest Admin Activity entry in {project}.{dataset} is {said}, older than"
                f" {format_duration(max_age)}",
                since=since,
            )
        return ok(
            f"sink {sink} enabled, {writer} writes to {project}.{dataset}, newest entry"
            f" {format_utc(newest)}"
        )

    def _may_write(self, writer: str, project: str, dataset: str) -> bool:
        policies = (
            self._policies.get_policy("dataset", f"{project}.{dataset}"),
            self._policies.get_policy("project", project),
        )
        return any(
            binding.get("role") in WRITER_ROLES
            and "condition" not in binding
            and writer in (binding.get("members") or ())
            for policy in policies
            for binding in policy.get("bindings") or ()
        )

    def _newest(self, project: str, dataset: str, since: datetime) -> datetime | None:
        body = {
            "query": _NEWEST.format(project=project, dataset=dataset),
            "useLegacySql": False,
            "parameterMode": "NAMED",
            "timeoutMs": 60000,
            "queryParameters": [
                _parameter("day", "STRING", since.strftime("%Y%m%d")),
                _parameter("since", "TIMESTAMP", format_utc(since)),
            ],
        }
        url = f"{BIGQUERY}/projects/{project}/queries"
        answer = self._json("POST", url, body, f"querying the newest entry in {dataset}")
        if not answer or answer.get("jobComplete") is not True:
            raise HttpStatusError(504, "the query of the newest entry did not complete in time")
        return _first_value(answer.get("rows") or [])

    def _json(self, method: str, url: str, body: Any, what: str) -> dict[str, Any] | None:
        def send() -> dict[str, Any] | None:
            response = self._session.request(method, url, json=body, timeout=TIMEOUT_SECONDS)
            if response.status_code == 404:
                return None
            if response.status_code >= 400:
                raise HttpStatusError(response.status_code, response.reason or "")
            answer = response.json()
            return answer if isinstance(answer, dict) else {}

        return call_with_retry(send, what=what, is_transient=is_transient, sleep=self._sleep)


def _first_value(rows: list[Any]) -> datetime | None:
    """The one TIMESTAMP cell (seconds since the epoch, as text); None for SQL NULL."""
    cells = rows[0].get("f") if rows and isinstance(rows[0], dict) else None
    value = cells[0].get("v") if isinstance(cells, list) and cells else None
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ServiceError(f"BigQuery answered the newest entry as {value!r:.40}") from None


def _parameter(name: str, kind: str, value: str) -> dict[str, Any]:
    return {"name": name, "parameterType": {"type": kind}, "parameterValue": {"value": value}}


class GoogleWatch:
    """What `lapse watch` reads from Google Cloud: audit configs (as `lapse doctor` judges
    them) and the sink."""

    def __init__(
        self, session: requests.Session, *, sleep: Callable[[float], None] | None = None
    ) -> None:
        self._api = GoogleJson(session, sleep=sleep)
        self._sink = SinkCheck(session, sleep=sleep)

    def audit_items_failing(self, policy: Policy) -> list[str]:
        """What is not logged, one line each; a node that cannot be read raises."""
        check = GcpCheck(self._api, policy, "", {})
        items = [item for target in policy.targets.values() for item in check.audit(target)]
        return [f"{item.subject}: {item.detail}" for item in items if item.state is not State.OK]

    def sink_status(self, sink: str, now: datetime, max_age: timedelta) -> Status:
        return self._sink.status(sink, now, max_age)
