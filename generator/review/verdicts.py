"""What one event of a grantee shows, given the phase of the grant it falls in. Pure functions.

| what the event shows                                           | phase         | severity |
|----------------------------------------------------------------|---------------|----------|
| a successful IAM policy change or service-account key          | any           | CRITICAL |
| a permission used within the grant's scope                     | after         | CRITICAL |
| a copy out of the granted resources, or a snapshot             | any           | HIGH     |
| a permission used outside the granted resources or role        | any           | HIGH     |
| an action in scope whose permission cannot be determined       | window, grace | MEDIUM   |
| a denied attempt (status 7 or `granted` false)                 | any           | MEDIUM   |

An entry without `authorizationInfo` is judged by the permission its method names
(`v1.compute.instances.stop` needs `compute.instances.stop`) when the method names one. When
it names none, the resource alone cannot explain the action: it is `unverifiable`, never
passed as explained. An event counts once: a copy out (or a snapshot) is that finding, not
also an unexplained use of the permission the copy needed (a use after expiry is still named).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum

from generator.core.audit_event import Event
from generator.core.findings import FindingKind
from generator.core.model import Grant
from generator.review.copies import UNKNOWN, is_snapshot
from generator.review.scope import covering
from generator.review.subjects import ReviewSubject

# IAM policy changes: method names end this way whichever service logs them (`SetIamPolicy`,
# `google.iam.admin.v1.SetIAMPolicy`, `google.iam.v1.IAMPolicy.SetIamPolicy`), except Cloud
# Storage, which logs bucket policy changes as `storage.setIamPermissions`.
_SET_IAM_POLICY = "setiampolicy"
_POLICY_METHODS = frozenset({"storage.setIamPermissions"})
_KEY_METHODS = frozenset(
    {
        "google.iam.admin.v1.CreateServiceAccountKey",
        "google.iam.admin.v1.UploadServiceAccountKey",
    }
)
PERMISSION_DENIED = 7
# The reason `_used` gives for an action in scope whose permission no field of the entry names.
UNVERIFIABLE = "unverifiable"
_API_VERSION = re.compile(r"^(?:v\d+\w*|beta|alpha)\.")
_PERMISSION_SHAPE = re.compile(r"^[a-z][a-z0-9]*\.[a-zA-Z]+\.[a-zA-Z]+$")
# REST verbs whose permission has another verb.
_VERB_PERMISSION = {"insert": "create", "patch": "update"}

# What one event shows: the kind of finding and its message.
Observation = tuple[FindingKind, str]


class Phase(Enum):
    WINDOW = "window"
    GRACE = "grace"
    AFTER = "after"


def event_findings(subject: ReviewSubject, event: Event, phase: Phase) -> Iterator[Observation]:
    if is_persistence(event):
        yield FindingKind.PERSISTENCE, _persistence_message(event)
        return
    for permission, resource in _denied_checks(event):
        yield FindingKind.DENIED, f"{_what(event, permission)} on {resource or '?'} denied"
    if event.status_code == PERMISSION_DENIED:
        return
    copies = list(_copies(subject, event)) if succeeded(event) else []
    yield from copies
    for permission, resource, reason in _used(subject, event):
        if reason == UNVERIFIABLE and phase is not Phase.AFTER:
            if copies:
                continue
            yield (
                FindingKind.UNVERIFIABLE,
                f"{_what(event, permission)} on {resource}: the entry names no permission and"
                " its method maps to none, so this grant cannot be shown to allow it",
            )
        elif phase is Phase.AFTER and (not reason or reason == UNVERIFIABLE):
            yield (
                FindingKind.BINDING_NOT_EXPIRED,
                f"{_what(event, permission)} on {resource} succeeded after the grant expired"
                " (and its grace period): the binding did not expire",
            )
        elif reason and not copies:
            when = " after the grant expired" if phase is Phase.AFTER else ""
            yield (
                FindingKind.UNEXPLAINED,
                f"{_what(event, permission)} on {resource or '?'}{when} is not explained by this"
                f" grant: {reason}",
            )


def succeeded(event: Event) -> bool:
    return event.status_code == 0 and all(granted for _, _, granted in event.permissions)


def is_persistence(event: Event) -> bool:
    if not succeeded(event):
        return False
    method = event.method
    return (
        method.lower().endswith(_SET_IAM_POLICY)
        or method in _POLICY_METHODS
        or method in _KEY_METHODS
    )


def permission_of_method(event: Event) -> str:
    """The permission a method name stands for, when it says (`v1.compute.instances.stop`)."""
    name = _API_VERSION.sub("", event.method)
    if not _PERMISSION_SHAPE.match(name):
        return ""
    service, collection, verb = name.split(".")
    if not event.service.startswith(f"{service}."):
        return ""
    return f"{service}.{collection}.{_VERB_PERMISSION.get(verb, verb)}"


def _copies(subject: ReviewSubject, event: Event) -> Iterator[Observation]:
    what = event.method or "a copy"
    if is_snapshot(event.method):
        yield (
            FindingKind.EXFILTRATION,
            f"{what} on {event.resource_name or '?'} copies data into a snapshot or image that"
            " outlives the window and can be moved out of the environment",
        )
        return
    destination = event.copied_to
    if not destination:
        return
    if destination == UNKNOWN:
        yield (
            FindingKind.EXFILTRATION,
            f"{what} on {event.resource_name or '?'} copied data to a destination the entry"
            " does not show: possibly out of the environment",
        )
        return
    name = _destination_name(destination)
    if not _covering(subject, name, event.log_name):
        yield (
            FindingKind.EXFILTRATION,
            f"{what} copied data from {event.resource_name or '?'} to {destination}, outside"
            " the granted resources: a copy out of the environment, whatever the role allows",
        )


def _destination_name(destination: str) -> str:
    """The resource name a copy's destination is judged by.

    A Cloud Storage destination (`gs://bucket/path`, or the bare bucket name a rewrite or
    transfer gives) is its bucket's name: grants reach buckets, never objects, and a path
    could spell another resource (`.../serviceAccounts/<a granted account>/...`) while a bare
    name would read as a name inside the log's own project. Other destinations (BigQuery
    tables) are full names already.
    """
    if destination.startswith("gs://"):
        destination = destination[5:].partition("/")[0]
    elif "/" in destination:
        return destination
    return f"projects/_/buckets/{destination}"


def _persistence_message(event: Event) -> str:
    target = event.resource_name or "?"
    if event.method in _KEY_METHODS:
        return f"{event.method} on {target}: a key outlives the window"
    deltas = ", ".join(f"{a} {m} {r}" for a, m, r in event.binding_deltas) or "no delta recorded"
    return f"{event.method} on {target} ({deltas}): a policy change can outlive the window"


def _denied_checks(event: Event) -> list[tuple[str, str]]:
    denied = [(p, r or event.resource_name) for p, r, granted in event.permissions if not granted]
    if not denied and event.status_code == PERMISSION_DENIED:
        denied.append(("", event.resource_name))
    return denied


def _used(subject: ReviewSubject, event: Event) -> Iterator[tuple[str, str, str]]:
    """(permission, resource, why it is out of scope or "") for what the event actually used."""
    if not event.permissions:
        permission = permission_of_method(event)
        if permission:
            name = event.resource_name
            yield permission, name, scope_reason(subject, permission, name, event.log_name)
        else:
            reason = _resource_reason(subject, event)
            yield "", event.resource_name, reason or UNVERIFIABLE
        return
    for permission, resource, granted in event.permissions:
        if granted:
            name = resource or event.resource_name
            yield permission, name, scope_reason(subject, permission, name, event.log_name)


def _resource_reason(subject: ReviewSubject, event: Event) -> str:
    if not event.resource_name:
        return "the entry names no resource and no permission"
    if _covering(subject, event.resource_name, event.log_name):
        return ""
    return "resource outside the granted resources"


def scope_reason(subject: ReviewSubject, permission: str, resource: str, log_name: str) -> str:
    covering = _covering(subject, resource, log_name)
    if not covering:
        return "resource outside the granted resources"
    if any(_allows(subject, g, permission) for g in covering):
        return ""
    roles = ", ".join(sorted({g.role for g in covering}))
    # Every role of the grant is named: those that cover the resource, then the others.
    elsewhere = sorted({g.role for g in subject.request.grants} - {g.role for g in covering})
    beyond = f"; {', '.join(elsewhere)} not granted on it" if elsewhere else ""
    return f"permission not in {roles}{beyond}"


def _covering(subject: ReviewSubject, resource: str, log_name: str) -> list[Grant]:
    return covering(subject.request.grants, resource, subject.hierarchy, log_name)


def _allows(subject: ReviewSubject, grant: Grant, permission: str) -> bool:
    permissions = subject.permissions_by_role.get(grant.role)
    # A role missing from the lock is reported once (INFO) rather than flagging every action.
    return permissions is None or permission in permissions


def _what(event: Event, permission: str) -> str:
    return permission or event.method or event.service or "an action"
