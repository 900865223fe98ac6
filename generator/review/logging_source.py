"""Audit entries from the Cloud Logging API (`entries:list` over HTTP JSON).

Every query names its time window explicitly: without a `timestamp` clause the client library
silently narrows the read to the last 24 hours, which would make an old window look empty.

Credentials minted during the read: see `following`; every read after the first asks for the
service accounts a wanted person minted credentials for, from the minting on.

Retrying: entries arrive in ascending timestamp order, so after a failed page the read is reopened
from the timestamp of the last entry handed out, skipping the entries already handed out at exactly
that timestamp. No page is fetched twice (the quota is about 60 reads a minute) and no entry is
yielded twice, without relying on page tokens outliving an error.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

import requests
from google.api_core import exceptions as api_exceptions

from generator.core.audit_event import Event
from generator.core.errors import ServiceError, show_when_debugging
from generator.core.retry import TRANSIENT_STATUS, call_with_retry, cut_short
from generator.review.events import read_entry
from generator.review.following import Read, Reads, entry_key
from generator.review.sources import (
    GapRecord,
    rfc3339,
    utc,
    wanted_principals,
    window_text,
)

PAGE_SIZE = 1000
ASCENDING = "timestamp asc"
# The API refuses filters longer than 20,000 characters; principals are split to stay well under.
_PRINCIPALS_BUDGET = 15_000


class LogEntryLike(Protocol):
    def to_api_repr(self) -> dict[str, Any]: ...


class LoggingClient(Protocol):
    """The part of `google.cloud.logging.Client` this source uses."""

    def list_entries(
        self,
        *,
        resource_names: Sequence[str] | None = ...,
        filter_: str | None = ...,
        order_by: str | None = ...,
        page_size: int | None = ...,
    ) -> Iterator[LogEntryLike]: ...


def logging_client(project: str, credentials: Any = None) -> Any:
    """A Cloud Logging client that speaks HTTP JSON (mockable, and `serviceData` stays a dict)."""
    from google.cloud import logging as cloud_logging  # noqa: PLC0415 - heavy, only when used

    client = cloud_logging.Client(  # type: ignore[no-untyped-call]
        project=project, credentials=credentials, _use_grpc=False
    )
    _refuse_repeated_page_tokens(client._connection)
    return client


class RepeatedPageToken(ServiceError):
    """The API handed back a page token it had already given: following it would never end."""


def _refuse_repeated_page_tokens(connection: Any) -> None:
    """Watch the page tokens the client sends; a token asked for twice means the pages loop.

    The client's pager follows tokens without looking, and hides them behind a generator, so
    the connection it sends them through is the one place to see them.
    """
    send = connection.api_request
    seen: set[str] = set()

    def api_request(*args: Any, **kwargs: Any) -> Any:
        data = kwargs.get("data")
        token = data.get("pageToken") if isinstance(data, dict) else None
        if token is None:
            seen.clear()  # a new listing starts
        elif token in seen:
            raise RepeatedPageToken(f"the Logging API repeated page token {str(token)[:20]!r}")
        else:
            seen.add(token)
        return send(*args, **kwargs)

    connection.api_request = api_request


def audit_filter(principals: Collection[str], start: datetime, end: datetime) -> str:
    """The Logging query for audit entries of `principals` in [start, end)."""
    emails = " OR ".join(_quoted(p) for p in sorted(principals))
    subjects = " OR ".join(_quoted(subject_of(p)) for p in sorted(principals))
    # The person may be the caller, the first link of a delegation chain, or named by subject.
    auth = "protoPayload.authenticationInfo"
    # Whoever applied it, the SetIamPolicy adding a lapse binding dates a window.
    ours = 'protoPayload.serviceData.policyDelta.bindingDeltas.condition.title:"lapse/"'
    who = (
        f"({auth}.principalEmail=({emails})"
        f" OR {auth}.serviceAccountDelegationInfo.firstPartyPrincipal.principalEmail=({emails})"
        f" OR {auth}.principalSubject=({subjects})"
        f" OR {ours})"
    )
    return " AND ".join(
        (
            'logName:"cloudaudit.googleapis.com"',
            who,
            f'timestamp>="{rfc3339(start)}"',
            f'timestamp<"{rfc3339(end)}"',
        )
    )


def subject_of(principal: str) -> str:
    """How `principalSubject` names the principal: a followed service account is not a user."""
    kind = "serviceAccount" if principal.endswith(".gserviceaccount.com") else "user"
    return f"{kind}:{principal}"


def principal_batches(principals: Collection[str]) -> list[list[str]]:
    """Principals in sorted groups whose part of the filter stays under the API's length limit."""
    batches: list[list[str]] = [[]]
    size = 0
    for principal in sorted(principals):
        # Each principal appears three times (caller, delegation, subject).
        cost = 3 * (len(_quoted(principal)) + len(" OR ")) + len("serviceAccount:")
        if batches[-1] and size + cost > _PRINCIPALS_BUDGET:
            batches.append([])
            size = 0
        batches[-1].append(principal)
        size += cost
    return [batch for batch in batches if batch]


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        return exc.code in TRANSIENT_STATUS
    return isinstance(exc, requests.ConnectionError | requests.Timeout) or cut_short(exc)


class LoggingSource(GapRecord):
    """Events read with `list_entries` from each project, folder or organization in scope."""

    def __init__(
        self,
        client: LoggingClient,
        resource_names: Sequence[str],
        *,
        attempts: int = 5,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.resource_names = tuple(resource_names)
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
            for batch in principal_batches(read.principals):
                # Every resource for one batch before the next: an entry naming principals
                # of two batches is known again by the second (see `Reads.first_time`).
                reads.asking(batch)
                for resource in self.resource_names:
                    batch_read = Read(read.start, frozenset(batch))
                    yield from self._resource_events(
                        resource, batch_read, reads, wanted, (start, end)
                    )

    def _resource_events(
        self,
        resource: str,
        read: Read,
        reads: Reads,
        wanted: set[str],
        period: tuple[datetime, datetime],
    ) -> Iterator[Event]:
        """`read` of one resource; events are counted against the review's whole `period`."""
        end = period[1]
        reader = _ResumableRead(self.client, resource, sorted(read.principals), read.start, end)
        options: dict[str, Any] = {"attempts": self._attempts}
        if self._sleep is not None:
            options["sleep"] = self._sleep
        while True:
            try:
                found = call_with_retry(
                    reader.next_event,
                    what=f"reading audit logs of {resource}",
                    is_transient=is_transient,
                    **options,
                )
            except ServiceError as exc:
                show_when_debugging(exc)
                self.record_gap(f"{resource} {window_text(reader.resume_at, end)}: {exc}")
                return
            if found is None:
                return
            key, event = found
            if not reads.first_time(key, event):
                continue
            mine = self.account(event, resource, wanted, *period)
            if mine is not None:
                yield mine


class _ResumableRead:
    """One `list_entries` stream that reopens after the last entry it handed out."""

    def __init__(
        self,
        client: LoggingClient,
        resource: str,
        principals: list[str],
        start: datetime,
        end: datetime,
    ) -> None:
        self.client = client
        self.resource = resource
        self.principals = principals
        self.resume_at = start
        self.end = end
        self._stream: Iterator[LogEntryLike] | None = None
        self._seen_at_resume: set[tuple[str, str]] = set()

    def next_event(self) -> tuple[tuple[str, str], Event | str] | None:
        """(logName, insertId) and the next new audit event (or why an entry is not one), None
        when the window is read.

        Raises what the API raised.
        """
        while True:
            if self._stream is None:
                self._stream = self._open()
            try:
                entry = next(self._stream, None)
            except Exception:
                # A generator that raised is finished: the next call reopens from `resume_at`.
                self._stream = None
                raise
            if entry is None:
                return None
            raw = entry.to_api_repr()
            event = read_entry(raw)
            if isinstance(event, str) or self._is_new(event):
                return entry_key(raw), event

    def _open(self) -> Iterator[LogEntryLike]:
        listing = self.client.list_entries(
            resource_names=[self.resource],
            filter_=audit_filter(self.principals, self.resume_at, self.end),
            order_by=ASCENDING,
            page_size=PAGE_SIZE,
        )
        return iter(listing)

    def _is_new(self, event: Event) -> bool:
        key = (event.log_name, event.insert_id)
        if event.timestamp > self.resume_at:
            self.resume_at = event.timestamp
            self._seen_at_resume = {key}
            return True
        if key in self._seen_at_resume:
            return False
        self._seen_at_resume.add(key)
        return True


def _quoted(text: str) -> str:
    # Logging query strings are double-quoted with backslash escapes.
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
