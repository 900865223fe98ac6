"""Whose an exported line is, told without parsing the rest of it.

Most lines of a real export are plain data-access entries of service accounts and other people:
a caller in `principalEmail`, no delegation, no binding change. `others_only` decodes just those
fields (msgspec skips everything else unparsed) and answers only for that plain shape; any
other line is parsed whole and read by `events.read_entry`, so nothing is decided twice:

- anything outside ASCII: a skipped field is not checked for valid UTF-8, and a line the full
  parser refuses must reach it to be counted as unreadable;
- a field of another type than declared below, broken or truncated JSON, nesting past the
  decoder's depth: refused by the decoder;
- a delegation chain, a binding change (`serviceData`/`metadata` with a `policyDelta` or a
  `datasetChange`), a BigQuery sink row, no caller or no timestamp: present, so not plain.

For the plain shape, `events.actor` names the caller and nobody else, and `read_entry` finds
no binding change; `tests/unit/review/test_whose.py` checks that every line this skips is one
the full reading counts as another principal's.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

# Field names are the Cloud Audit Log's, as the JSON spells them. A field declared `Raw` is
# never looked into: its presence alone sends the line to the full reading. A decoded line is a
# tree (no reference cycle), so its Structs stay out of the garbage collector (`gc=False`):
# cheaper to make and to free.


class Authentication(Struct, gc=False):
    """Who made the call: read alike by every plain-shape decoder."""

    principalEmail: str
    serviceAccountDelegationInfo: Raw | UnsetType = UNSET


class _Changes(Struct, gc=False):
    policyDelta: Raw | UnsetType = UNSET
    datasetChange: Raw | UnsetType = UNSET


class _Payload(Struct, gc=False):
    authenticationInfo: Authentication
    serviceData: _Changes | UnsetType = UNSET
    metadata: _Changes | UnsetType = UNSET


class _Entry(Struct, gc=False):
    protoPayload: _Payload
    # RFC 3339 with an offset, read by the decoder. `events.parse_timestamp` reads every such
    # time too, except where the offset carries it past year 1 or 9999: those are parsed whole.
    timestamp: Annotated[datetime, msgspec.Meta(tz=True)]


_DECODER = msgspec.json.Decoder(_Entry)
# What a plain-shape decoder raises for a line that is not of that shape.
REFUSED = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


def others_only(line: bytes, wanted: Collection[str]) -> bool:
    """True only when the review would count the line as another principal's entry.

    `wanted` is in lower case. False means "parse it": the line may be a wanted person's,
    a lapse binding change, unreadable, or simply not of the plain shape.
    """
    if not line.isascii():
        return False
    try:
        entry = _DECODER.decode(line)
    except REFUSED:
        return False
    payload = entry.protoPayload
    auth = payload.authenticationInfo
    return (
        auth.principalEmail != ""
        and auth.principalEmail.lower() not in wanted
        and auth.serviceAccountDelegationInfo is UNSET
        and (payload.serviceData is UNSET or _unchanged(payload.serviceData))
        and (payload.metadata is UNSET or _unchanged(payload.metadata))
        and 1 < entry.timestamp.year < 9999
    )


def _unchanged(changes: _Changes) -> bool:
    return changes.policyDelta is UNSET and changes.datasetChange is UNSET
