"""One Cloud Audit Log entry (as JSON) -> one `Event`, whatever shape the entry is in.

Real entries miss fields: legacy BigQuery `AuditData` entries have no `@type`, console writes no
`requestMetadata`, some no `resourceName` or `authorizationInfo`, and an empty `status` means OK.
Every field is read through a type check, so a wrong type anywhere reads as "absent".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from generator.core.model import Event

# Where services put IAM binding changes. `serviceData` is the classic IAM AuditData; newer
# services carry the same AuditData under `metadata`; BigQuery's BigQueryAuditMetadata reports
# dataset access changes as `metadata.datasetChange.bindingDeltas`.
_DELTA_PATHS: tuple[tuple[str, ...], ...] = (
    ("serviceData", "policyDelta", "bindingDeltas"),
    ("metadata", "policyDelta", "bindingDeltas"),
    ("metadata", "datasetChange", "bindingDeltas"),
)


def normalize(entry: Mapping[str, Any]) -> Event | None:
    """The entry as an Event; None when it is not an audit entry or cannot be placed in time."""
    if not isinstance(entry, Mapping):
        return None
    payload = _mapping(entry.get("protoPayload"))
    if payload is None:
        return None
    timestamp = parse_timestamp(entry.get("timestamp"))
    if timestamp is None:
        return None
    return Event(
        insert_id=_text(entry.get("insertId")),
        timestamp=timestamp,
        log_name=_text(entry.get("logName")),
        principal=_text(_dig(payload, "authenticationInfo", "principalEmail")),
        service=_text(payload.get("serviceName")),
        method=_text(payload.get("methodName")),
        resource_name=_text(payload.get("resourceName")),
        status_code=_status_code(payload.get("status")),
        permissions=tuple(_permissions(payload.get("authorizationInfo"))),
        binding_deltas=tuple(_binding_deltas(payload)),
        caller_ip=_text(_dig(payload, "requestMetadata", "callerIp")),
    )


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
    # proto3 JSON leaves out zero values: `{}` or no status at all is code 0 (OK).
    code = _mapping(status)
    value = code.get("code") if code is not None else None
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return 0
    return 0


def _permissions(items: object) -> Iterator[tuple[str, str, bool]]:
    for item in _list(items):
        info = _mapping(item)
        if info is None:
            continue
        permission = _text(info.get("permission"))
        if permission:
            # proto3 JSON omits false booleans, so a missing `granted` is a denial.
            yield permission, _text(info.get("resource")), info.get("granted") is True


def _binding_deltas(payload: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    for path in _DELTA_PATHS:
        for item in _list(_dig(payload, *path)):
            delta = _mapping(item)
            if delta is not None:
                yield (
                    _text(delta.get("action")),
                    _text(delta.get("member")),
                    _text(delta.get("role")),
                )


def _dig(value: object, *keys: str) -> object:
    for key in keys:
        mapping = _mapping(value)
        if mapping is None:
            return None
        value = mapping.get(key)
    return value


def _mapping(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
