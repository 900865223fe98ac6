"""A reviewed person's exported line read straight into an `Event`, in one typed decode.

Most lines of the people under review are plain data-access entries: a caller in
`principalEmail`, no delegation, no binding change, no copy, every field of the type the Cloud
Audit Log gives it. `read_plain` decodes just the fields `events.read_entry` reads, each
declared with that type, and builds the same `Event` from them. Any other line is answered
with None and read whole (orjson, then `read_entry`), so only the plain shape is read here:

- anything outside ASCII (a skipped field is not checked for valid UTF-8);
- a field of another type than declared below (`null`, a code as text, a `granted` as
  `"true"`, an integer orjson reads as a float), broken JSON, nesting past the decoder's depth;
- a delegation chain, `serviceData` or `metadata` (binding changes, BigQuery jobs, a Login
  Audit entry's session), a copy (its destination is in the request), no caller, no
  timestamp or one `events.parse_timestamp` refuses: present, so not plain.

`tests/unit/review/test_plain_entry.py` holds it equal to `read_entry` over generated lines
and every line of the real audit entries.
"""

from __future__ import annotations

import sys
from typing import Annotated

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from generator.core.model import Event
from generator.review.copies import names_a_copy
from generator.review.events import NameResolver, parse_timestamp
from generator.review.whose import REFUSED, Authentication

# Field names are the Cloud Audit Log's, as the JSON spells them; a default stands for an absent
# field, as `read_entry` reads one. A field declared `Raw` is never looked into: its presence
# alone sends the line to the full reading.

# orjson reads an integer below -2**63 or above 2**64 - 1 as a float, which `read_entry` does
# not take for a status code: such a line (and, as msgspec bounds only int64, any above
# 2**63 - 1) is not plain.
_Code = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class _Labels(Struct):
    project_id: str = ""
    email_id: str = ""
    unique_id: str = ""


class _Resource(Struct):
    labels: _Labels | UnsetType = UNSET


class _Status(Struct):
    code: _Code = 0


class _Authorization(Struct):
    permission: str = ""
    resource: str = ""
    granted: bool = False


class _RequestMetadata(Struct):
    callerIp: str = ""


class _Payload(Struct):
    authenticationInfo: Authentication
    serviceName: str = ""
    methodName: str = ""
    resourceName: str = ""
    status: _Status | UnsetType = UNSET
    authorizationInfo: tuple[_Authorization, ...] = ()
    requestMetadata: _RequestMetadata | UnsetType = UNSET
    serviceData: Raw | UnsetType = UNSET
    metadata: Raw | UnsetType = UNSET


class _Entry(Struct):
    protoPayload: _Payload
    timestamp: str
    insertId: str = ""
    logName: str = ""
    resource: _Resource | UnsetType = UNSET


_DECODER = msgspec.json.Decoder(_Entry)
_NO_LABELS = _Labels()


def read_plain(line: bytes) -> Event | None:
    """The line's Event, as `read_entry` would read it; None when it is not of the plain shape."""
    if not line.isascii():
        return None
    try:
        entry = _DECODER.decode(line)
    except REFUSED:
        return None
    payload = entry.protoPayload
    caller = payload.authenticationInfo
    if not _plain(payload, caller):
        return None
    timestamp = parse_timestamp(entry.timestamp)
    if timestamp is None:
        return None
    labels = _labels(entry.resource)
    names = NameResolver(labels.project_id, labels.email_id, labels.unique_id)
    resource_name = names.resolve(payload.resourceName)
    metadata = payload.requestMetadata
    return Event(
        insert_id=entry.insertId,
        timestamp=timestamp,
        log_name=sys.intern(entry.logName),
        principal=sys.intern(caller.principalEmail),
        service=sys.intern(payload.serviceName),
        method=sys.intern(payload.methodName),
        resource_name=resource_name,
        status_code=0 if payload.status is UNSET else payload.status.code,
        permissions=tuple(
            (
                sys.intern(a.permission),
                resource_name if a.resource == resource_name else names.resolve(a.resource),
                a.granted,
            )
            for a in payload.authorizationInfo
            if a.permission
        ),
        caller_ip=sys.intern("" if metadata is UNSET else metadata.callerIp),
    )


def _plain(payload: _Payload, caller: Authentication) -> bool:
    return (
        caller.principalEmail != ""
        and caller.serviceAccountDelegationInfo is UNSET
        and payload.serviceData is UNSET
        and payload.metadata is UNSET
        and not names_a_copy(payload.methodName)
    )


def _labels(resource: _Resource | UnsetType) -> _Labels:
    if resource is UNSET or resource.labels is UNSET:
        return _NO_LABELS
    return resource.labels
