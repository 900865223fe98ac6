"""One Cloud Audit Log entry (as JSON) -> one `Event`, whatever shape the entry is in.

Real entries miss fields: legacy BigQuery `AuditData` entries have no `@type`, console writes no
`requestMetadata`, some no `resourceName` or `authorizationInfo`, and an empty `status` means OK.
Every field is read through a type check, so a wrong type anywhere reads as "absent".
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from generator.core.audit_event import Event, Login
from generator.review.copies import copy_destination
from generator.review.sink_rows import log_entry_payload

# Where services put IAM binding changes. `serviceData` is the classic IAM AuditData; newer
# services carry the same AuditData under `metadata`. BigQuery's BigQueryAuditMetadata has no
# deltas: its `datasetChange` holds the dataset as it is after the change (`dataset.acl.policy`),
# which cannot tell when a binding appeared (it may have been there before), so a dataset
# binding is not dated from it and its window starts from the next source (`starts`, or the
# commit on main that brought the request in).
_DELTA_PATHS: tuple[tuple[str, ...], ...] = (
    ("serviceData", "policyDelta", "bindingDeltas"),
    ("metadata", "policyDelta", "bindingDeltas"),
)


# Login Audit entries shared to Cloud Logging (`google.login.LoginService.*`).
LOGIN_SERVICE = "login.googleapis.com"


def normalize(entry: Mapping[str, Any]) -> Event | None:
    """The entry as an Event; None when it is not an audit entry or cannot be placed in time."""
    read = read_entry(entry)
    return read if isinstance(read, Event) else None


def read_entry(entry: object) -> Event | str:
    """The entry as an Event, or why it cannot be one (for the run's accounting).

    A BigQuery sink row carries the payload as `protopayload_auditlog`; an entry without
    `timestamp` is placed at `receiveTimestamp` (Logging's own clock, seconds later at most).
    """
    placed = _placed(entry)
    if isinstance(placed, str):
        return placed
    entry, payload, timestamp = placed
    person, chain = actor(_mapping(payload.get("authenticationInfo")) or {})
    names = NameResolver.of_resource(_mapping(entry.get("resource")))
    deltas = _binding_deltas(payload)
    resource_name = names.resolve(_text(payload.get("resourceName")))
    # Names that repeat across entries are interned, and a permission's resource that is the
    # entry's own shares its string: a review holds tens of thousands of events.
    return Event(
        insert_id=_text(entry.get("insertId")),
        timestamp=timestamp,
        log_name=sys.intern(_text(entry.get("logName"))),
        principal=sys.intern(person),
        service=sys.intern(_text(payload.get("serviceName"))),
        method=sys.intern(_text(payload.get("methodName"))),
        resource_name=resource_name,
        status_code=_status_code(payload.get("status")),
        permissions=tuple(
            (sys.intern(p), resource_name if r == resource_name else names.resolve(r), g)
            for p, r, g in _permissions(payload.get("authorizationInfo"))
        ),
        binding_deltas=tuple(d[:3] for d in deltas),
        caller_ip=sys.intern(_text(_dig(payload, "requestMetadata", "callerIp"))),
        chain=chain,
        delta_conditions=tuple(d[3] for d in deltas),
        copied_to=copy_destination(_text(payload.get("methodName")), payload),
        login=login_of_entry(entry, payload, timestamp),
    )


def _placed(entry: object) -> tuple[Mapping[str, Any], Mapping[str, Any], datetime] | str:
    """(the entry, its audit payload, its time), or why the entry cannot be an Event."""
    if not isinstance(entry, Mapping):
        return "not a JSON object"
    payload = _mapping(entry.get("protoPayload"))
    if payload is None:
        row = _mapping(entry.get("protopayload_auditlog"))
        # A sink row saved to a file: its Struct fields are JSON text under other names.
        payload = log_entry_payload(row) if row is not None else None
    if payload is None:
        return "no protoPayload: not an audit log entry"
    raw_time = entry.get("timestamp")
    if raw_time is None:
        raw_time = entry.get("receiveTimestamp")
    if raw_time is None:
        return "no timestamp: the entry cannot be placed in time"
    timestamp = parse_timestamp(raw_time)
    if timestamp is None:
        return f"timestamp {str(raw_time)[:40]!r} is not RFC 3339 with a UTC offset"
    return entry, payload, timestamp


def actor(auth: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(the person behind the call, the service accounts between them and the caller).

    `serviceAccountDelegationInfo` lists the delegations in the order they happened, so its
    first entry names whoever started the chain; `principalEmail` is the last link, the caller.
    Entries that name their principal only as `principalSubject` (`user:a@b`) are read too.
    """
    caller = _text(auth.get("principalEmail")) or _subject(auth.get("principalSubject"))
    links = []
    for item in _list(auth.get("serviceAccountDelegationInfo")):
        link = _mapping(item) or {}
        first_party = _mapping(link.get("firstPartyPrincipal")) or {}
        third_party = _mapping(link.get("thirdPartyPrincipal")) or {}
        name = (
            _text(first_party.get("principalEmail"))
            or _subject(link.get("principalSubject"))
            or _subject(third_party.get("principalSubject"))
        )
        if name:
            links.append(name)
    if not links:
        return caller, ()
    chain = tuple(dict.fromkeys([*links[1:], caller])) if caller else tuple(links[1:])
    return links[0], tuple(c for c in chain if c and c != links[0])


def _subject(value: object) -> str:
    # `user:a@b`, `serviceAccount:s@p.iam.gserviceaccount.com`; federated `principal://...` as is.
    text = _text(value)
    kind, colon, rest = text.partition(":")
    return rest if colon and kind in ("user", "serviceAccount") else text


class NameResolver:
    """Project numbers and service-account unique ids named by the entry's own resource labels
    (`project_id`, `email_id`, `unique_id`)."""

    __slots__ = ("account", "project", "unique_id")

    def __init__(self, project: str, account: str, unique_id: str) -> None:
        self.project = project
        self.account = account
        self.unique_id = unique_id

    @classmethod
    def of_resource(cls, resource: Mapping[str, Any] | None) -> NameResolver:
        labels = _mapping((resource or {}).get("labels")) or {}
        return cls(
            _text(labels.get("project_id")),
            _text(labels.get("email_id")),
            _text(labels.get("unique_id")),
        )

    def resolve(self, name: str) -> str:
        if not name or not (self.project or self.account):
            return name
        # Only a number after `projects/` or `serviceAccounts/` is rewritten: most names (an
        # object's, an instance's) have none, and are told so without splitting them.
        if not (self.project and _numbered(name, "projects/")) and not (
            self.account and _numbered(name, "serviceAccounts/")
        ):
            return name
        return self.each_segment(name)

    def each_segment(self, name: str) -> str:
        """`resolve` the long way: every segment of `name` looked at, none skipped."""
        parts = name.split("/")
        for index, part in enumerate(parts[:-1]):
            following = parts[index + 1]
            if part == "projects" and following.isdigit() and self.project:
                parts[index + 1] = self.project
            elif part == "serviceAccounts" and following.isdigit() and self._is_account(following):
                parts[index + 1] = self.account
        return "/".join(parts)

    def _is_account(self, unique_id: str) -> bool:
        return bool(self.account) and (not self.unique_id or unique_id == self.unique_id)


def may_rename(name: str) -> bool:
    """False when no `NameResolver` can rewrite `name`, whatever its labels: no `projects/` but
    a bucket's `projects/_`, and no `serviceAccounts/` (most names: an object's, an instance's).
    Searches in C (two counts only where `projects/` appears), for the names of a plain line,
    before any resolver is made."""
    return (
        "projects/" in name and name.count("projects/") != name.count("projects/_")
    ) or "serviceAccounts/" in name


def _numbered(name: str, marker: str) -> bool:
    """Whether a digit follows `marker` somewhere in `name`: `resolve` rewrites a segment only
    where its name (`projects`) is followed by one of digits alone."""
    found = name.find(marker)
    while found >= 0:
        found += len(marker)
        if name[found : found + 1].isdigit():
            return True
        found = name.find(marker, found)
    return False


def parse_timestamp(value: object) -> datetime | None:
    """RFC 3339 (nanoseconds allowed, truncated to microseconds) -> aware UTC datetime."""
    if isinstance(value, datetime):
        # BigQuery rows arrive as datetimes already; a naive one is not a point in time.
        return value.astimezone(UTC) if value.tzinfo is not None else None
    if not isinstance(value, str) or len(value) < 20:
        return None
    try:
        parsed = datetime.fromisoformat(value.upper())
        # An offset near year 1 or 9999 can push the UTC value out of range.
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def _status_code(status: object) -> int:
    # proto3 JSON leaves out zero values: `{}` or no status at all is code 0 (OK); int32 may
    # arrive as a string (`"code": "7"`).
    code = _mapping(status)
    value = code.get("code") if code is not None else None
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return 0
    return 0


def _granted(value: object) -> bool:
    # The JSON mapping of protobuf accepts "true" for a bool; a missing one is false.
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _permissions(items: object) -> Iterator[tuple[str, str, bool]]:
    for item in _list(items):
        info = _mapping(item)
        if info is None:
            continue
        permission = _text(info.get("permission"))
        if permission:
            # proto3 JSON omits false booleans, so a missing `granted` is a denial.
            yield permission, _text(info.get("resource")), _granted(info.get("granted"))


def _binding_deltas(payload: Mapping[str, Any]) -> tuple[tuple[str, str, str, str], ...]:
    if "serviceData" not in payload and "metadata" not in payload:
        return ()  # most entries: nothing to walk
    return tuple(
        (
            _text(delta.get("action")),
            _text(delta.get("member")),
            _text(delta.get("role")),
            _text(_dig(delta, "condition", "title")),
        )
        for path in _DELTA_PATHS
        for item in _list(_dig(payload, *path))
        if (delta := _mapping(item)) is not None
    )


def _dig(value: object, *keys: str) -> object:
    for key in keys:
        mapping = _mapping(value)
        if mapping is None:
            return None
        value = mapping.get(key)
    return value


def _mapping(value: object) -> Mapping[str, Any] | None:
    # `dict` first: every parsed entry is made of them, and the ABC check costs more.
    return value if isinstance(value, (dict, Mapping)) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def login_of_entry(
    entry: Mapping[str, Any], payload: Mapping[str, Any], at: datetime
) -> Login | None:
    """The session a Login Audit entry records (`login_success`); None for any other entry."""
    if payload.get("serviceName") != LOGIN_SERVICE:
        return None
    events = _dig(payload, "metadata", "event")
    for event in events if isinstance(events, list) else []:
        if isinstance(event, Mapping) and event.get("eventName") == "login_success":
            found = login_parameters(event.get("parameter"), "multiStrValue")
            return login_from(at, found, str(entry.get("insertId") or ""))
    return None


def login_parameters(items: object, many: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            continue
        for key in ("value", many, "boolValue"):
            if key in item:
                found[item["name"]] = item[key]
                break
    return found


def login_from(at: datetime, found: Mapping[str, Any], evidence: str) -> Login:
    methods = found.get("login_challenge_method")
    if isinstance(methods, str):
        methods = [methods]
    second = found.get("is_second_factor")
    return Login(
        at=at,
        login_type=str(found.get("login_type") or ""),
        methods=tuple(str(m) for m in methods) if isinstance(methods, list) else (),
        second_factor=second is True or second == "true",
        evidence=evidence,
    )
