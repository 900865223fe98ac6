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

from generator.core.audit_event import Event
from generator.review.copies import names_a_copy
from generator.review.events import NameResolver, may_rename, parse_timestamp
from generator.review.whose import REFUSED, Authentication

# Field names are the Cloud Audit Log's, as the JSON spells them; a default stands for an absent
# field, as `read_entry` reads one. A field declared `Raw` is never looked into: its presence
# alone sends the line to the full reading. As in `whose`, a decoded line is a tree: its Structs
# stay out of the garbage collector.

# orjson reads an integer below -2**63 or above 2**64 - 1 as a float, which `read_entry` does
# not take for a status code: such a line (and, as msgspec bounds only int64, any above
# 2**63 - 1) is not plain.
_Code = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class _Labels(Struct, gc=False):
    project_id: str = ""
    email_id: str = ""
    unique_id: str = ""


class _Resource(Struct, gc=False):
    labels: _Labels | UnsetType = UNSET


class _Status(Struct, gc=False):
    code: _Code = 0


class _Authorization(Struct, gc=False):
    permission: str = ""
    resource: str = ""
    granted: bool = False


class _RequestMetadata(Struct, gc=False):
    callerIp: str = ""


class _Payload(Struct, gc=False):
    authenticationInfo: Authentication
    serviceName: str = ""
    methodName: str = ""
    resourceName: str = ""
    status: _Status | UnsetType = UNSET
    authorizationInfo: tuple[_Authorization, ...] = ()
    requestMetadata: _RequestMetadata | UnsetType = UNSET
    serviceData: Raw | UnsetType = UNSET
    metadata: Raw | UnsetType = UNSET


class _Entry(Struct, gc=False):
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
    resource = entry.resource
    labels = _NO_LABELS if resource is UNSET or resource.labels is UNSET else resource.labels
    name = payload.resourceName
    # Most names have neither marker (an instance's) and are their own resolution.
    resource_name = (
        _resolved(name, labels) if "projects/" in name or "serviceAccounts/" in name else name
    )
    metadata = payload.requestMetadata
    status = payload.status
    checks = payload.authorizationInfo
    if len(checks) == 1 and checks[0].permission:  # most entries: one check, of their resource
        (check,) = checks
        named = check.resource
        permissions: tuple[tuple[str, str, bool], ...] = (
            (
                sys.intern(check.permission),
                resource_name if named == resource_name else _resolved(named, labels),
                check.granted,
            ),
        )
    else:
        permissions = tuple(
            [
                (
                    sys.intern(a.permission),
                    resource_name if a.resource == resource_name else _resolved(a.resource, labels),
                    a.granted,
                )
                for a in checks
                if a.permission
            ]
        )
    # By position, in the order of Event's fields: `test_plain_entry` holds each to its name.
    return Event(
        entry.insertId,
        timestamp,
        sys.intern(entry.logName),
        sys.intern(caller.principalEmail),
        sys.intern(payload.serviceName),
        sys.intern(payload.methodName),
        resource_name,
        0 if status is UNSET else status.code,
        permissions,
        (),
        sys.intern("" if metadata is UNSET else metadata.callerIp),
    )


def _resolved(name: str, labels: _Labels) -> str:
    """`NameResolver.resolve` of the entry's labels, the resolver made only for a name it may
    rewrite (most names have no number after `projects/` or `serviceAccounts/`)."""
    if not may_rename(name):
        return name
    return NameResolver(labels.project_id, labels.email_id, labels.unique_id).resolve(name)


def _plain(payload: _Payload, caller: Authentication) -> bool:
    return (
        caller.principalEmail != ""
        and caller.serviceAccountDelegationInfo is UNSET
        and payload.serviceData is UNSET
        and payload.metadata is UNSET
        and not names_a_copy(payload.methodName)
    )
