"""A grantee's Google logins, from the Login Audit: how each session began (PCI DSS 8.4.2).

Two shapes say the same: an activity of the Reports API (`activities.list`, applicationName
`login`: `events[].parameters[]` with `value`, `multiValue`, `boolValue`), and a Login Audit
entry shared to Cloud Logging (`protoPayload.serviceName` login.googleapis.com, the event under
`metadata.event[]`, its parameters with `value`, `multiStrValue`, `boolValue`). Only
`login_success` opens a session; every other Login Audit event (failures, challenges, 2SV
changes) is evidence of nothing here, and none of them is use of a grant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

from generator.core.audit_event import Login
from generator.core.errors import ServiceError
from generator.core.retry import call_with_retry
from generator.review.events import login_from, login_parameters, parse_timestamp

if TYPE_CHECKING:
    import requests

REPORTS = "https://admin.googleapis.com/admin/reports/v1/activity/users"
PAGE_SIZE = 1000  # the Reports API's maximum
MAX_PAGES = 100


@dataclass(frozen=True, slots=True)
class MfaEvidence:
    """What a report shows: where the logins were read, which were, what was not backed."""

    read_from: str
    since: datetime | None  # the first action less the session length
    until: datetime | None  # the last action
    logins: tuple[Login, ...]
    actions: int
    unbacked: int  # actions that follow no login with a second factor

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(sorted({method for login in self.logins for method in login.methods}))


class LoginReader(Protocol):
    """Where a review reads a person's logins between two instants; a failure raises."""

    @property
    def read_from(self) -> str: ...

    def logins(self, email: str, start: datetime, end: datetime) -> list[Login]: ...


def logins_of_activity(activity: Mapping[str, Any]) -> Iterator[Login]:
    """The logins a Reports API activity records."""
    raw = activity.get("id")
    ident: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    at = parse_timestamp(ident.get("time"))
    if at is None:
        return
    events = activity.get("events")
    for event in events if isinstance(events, list) else []:
        if isinstance(event, Mapping) and event.get("name") == "login_success":
            found = login_parameters(event.get("parameters"), "multiValue")
            yield login_from(at, found, str(ident.get("uniqueQualifier") or ""))


class ReportsLogins:
    """A person's `login_success` activities from the Reports API; retried; a failure raises."""

    read_from = "the Reports API (Login Audit)"

    def __init__(
        self,
        session: requests.Session,
        *,
        customer: str = "",
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._session = session
        self._customer = customer
        self._sleep = sleep

    def logins(self, email: str, start: datetime, end: datetime) -> list[Login]:
        # Here: a review that reads no Reports API loads no HTTP library.
        from generator.gcp.iam_policies import is_transient  # noqa: PLC0415

        found: list[Login] = []
        token = ""
        for _ in range(MAX_PAGES):
            page = call_with_retry(
                partial(self._page, email, start, end, token),
                what=f"reading the Login Audit of {email}",
                is_transient=is_transient,
                sleep=self._sleep,
            )
            for activity in page.get("items") or []:
                if isinstance(activity, Mapping):
                    found.extend(logins_of_activity(activity))
            token = str(page.get("nextPageToken") or "")
            if not token:
                return found
        raise ServiceError(f"the Login Audit of {email} has more than {MAX_PAGES} pages")

    def _page(self, email: str, start: datetime, end: datetime, token: str) -> dict[str, Any]:
        query = {
            "eventName": "login_success",
            "startTime": _rfc3339(start),
            "endTime": _rfc3339(end),
            "maxResults": str(PAGE_SIZE),
        }
        if self._customer:
            query["customerId"] = self._customer
        if token:
            query["pageToken"] = token
        from generator.gcp.iam_policies import TIMEOUT_SECONDS, HttpStatusError  # noqa: PLC0415

        url = f"{REPORTS}/{quote(email, safe='@')}/applications/login?{urlencode(query)}"
        response = self._session.get(url, timeout=TIMEOUT_SECONDS)
        if response.status_code >= 400:
            raise HttpStatusError(response.status_code, response.reason or "")
        body = response.json()
        if not isinstance(body, dict):
            raise ServiceError("the Reports API answered with no activity list")
        return body


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
