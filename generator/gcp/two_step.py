"""Whether every person of the policy signs in to Google with 2-Step Verification (PCI DSS 8.4.2).

Read from the Admin SDK Directory API (`users.get`): `isEnforcedIn2Sv` says the person's
organizational unit enforces it, `isEnrolledIn2Sv` that the person has enrolled. Enforced but
not enrolled is the enrollment period, when a password alone still signs in. The call needs the
`admin.directory.user.readonly` scope and an admin role that reads users; refused (403), each
person is "cannot tell", never ok.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from generator.core.checklist import CheckItem, cannot_tell, ok, wrong
from generator.core.errors import ServiceError
from generator.gcp.doctor_access import refused

AREA = "2-Step Verification"
DIRECTORY = "https://admin.googleapis.com/admin/directory/v1"
DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
REPORTS_SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
SECTION = "docs/setup.md, 8. Multi-factor authentication for every grantee"
_FIELDS = "primaryEmail,isEnforcedIn2Sv,isEnrolledIn2Sv,orgUnitPath,suspended"
ENFORCE = (
    "Admin console > Security > Authentication > 2-Step Verification: for the organizational "
    "unit {unit}, 'Allow users to turn on 2-Step Verification' and Enforcement 'On' "
    f"({SECTION})"
)


class JsonGetter(Protocol):
    def get(self, url: str, what: str) -> dict[str, Any] | None: ...


def user_url(email: str) -> str:
    return f"{DIRECTORY}/users/{quote(email, safe='@')}?fields={quote(_FIELDS, safe=',')}"


def two_step_items(api: JsonGetter, people: Mapping[str, str]) -> Iterator[CheckItem]:
    """One item per person; after a refusal the rest are "cannot tell" without asking again."""
    denied = ""
    for login, email in people.items():
        subject = f"{email} (@{login}) signs in with 2-Step Verification"
        if denied:
            yield _cannot_tell(subject, denied)
            continue
        try:
            found = api.get(user_url(email), f"reading the directory user {email}")
        except ServiceError as exc:
            refusal = refused(exc)
            if refusal is None:
                raise
            denied = f"the Directory API answers 403 to users.get on {refusal.resource}"
            yield _cannot_tell(subject, denied)
            continue
        yield judge(subject, email, found)


def judge(subject: str, email: str, user: Mapping[str, Any] | None) -> CheckItem:
    if user is None:
        return wrong(
            AREA,
            subject,
            f"{email} is no user of the directory: its sign-in is not Google's to enforce",
            f"add {email} to Cloud Identity or Google Workspace, or correct policy/policy.yaml",
        )
    unit = str(user.get("orgUnitPath") or "/")
    enforced, enrolled = user.get("isEnforcedIn2Sv"), user.get("isEnrolledIn2Sv")
    if enforced is not True:
        return wrong(
            AREA,
            subject,
            f"not enforced for {email}: a password alone may sign in",
            ENFORCE.format(unit=unit),
        )
    if enrolled is not True:
        return wrong(
            AREA,
            subject,
            f"enforced but {email} has not enrolled: until the enrollment period ends a "
            "password alone signs in",
            f"{email} enrolls at https://myaccount.google.com/signinoptions/two-step-verification"
            " (or an admin shortens the new-user enrollment period)",
        )
    return ok(AREA, subject, f"enforced and enrolled ({unit})")


def _cannot_tell(subject: str, reason: str) -> CheckItem:
    return cannot_tell(
        AREA,
        subject,
        reason,
        "give the identity running lapse doctor an admin role that reads users (User "
        f"Management Admin, or a custom role with Users > Read) and the {DIRECTORY_SCOPE} "
        f"scope ({SECTION})",
    )
