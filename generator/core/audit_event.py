"""`Event`: one audit log entry, normalized, as every source of a review makes it; and the
`Login` a Login Audit entry records.

A review makes one Event per entry of the people it reviews, so it is a frozen msgspec Struct
rather than a dataclass like the other values of `model`: built several times faster, compared,
hashed and pickled field by field all the same (`msgspec.structs.replace` makes a changed
copy). Both live apart from `model` because every command's help loads `model` and none should
load msgspec: what reads or makes events imports them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import msgspec


@dataclass(frozen=True, slots=True)
class Login:
    """A session opened with Google, as the Login Audit records it (`login_success`)."""

    at: datetime
    login_type: str  # google_password, saml, reauth, exchange, unknown
    methods: tuple[str, ...]  # login_challenge_method, as Google lists them
    second_factor: bool  # `is_second_factor` as Google sent it (absent: false)
    evidence: str  # the log entry's insertId, or the activity's uniqueQualifier


# Outside the garbage collector (`gc=False`): every field is a string, a number, a datetime, a
# tuple of those or a frozen `Login`, each made before the Event, so no reference cycle can
# pass through one.
class Event(msgspec.Struct, frozen=True, gc=False):
    """One audit log entry, normalized. Absent fields are empty strings."""

    insert_id: str
    timestamp: datetime
    log_name: str
    principal: str
    service: str
    method: str
    resource_name: str
    status_code: int
    permissions: tuple[tuple[str, str, bool], ...]  # (permission, resource, granted)
    binding_deltas: tuple[tuple[str, str, str], ...] = ()  # (action, member, role)
    caller_ip: str = ""
    # The service accounts the person acted through, in delegation order, the caller last
    # (empty for a direct call): `principal` is the person at the start of the chain.
    chain: tuple[str, ...] = ()
    # Condition titles of the binding deltas, in the same order (`lapse/<id>/...` for ours).
    delta_conditions: tuple[str, ...] = ()
    # Where the entry copied data to (an export, extract or copy job, a rewrite); "" if none.
    copied_to: str = ""
    # A Login Audit entry shared to Cloud Logging: the session it opened, not use of a grant.
    login: Login | None = None
