"""What `lapse doctor` may read in Google Cloud: one custom role, and each refusal named.

Every call the Google Cloud checks make needs one permission of `DOCTOR_PERMISSIONS`; the
docs/setup.md creates the role from this list (`gcloud iam roles create lapseDoctor ...`). A call
refused with 403 becomes a `PermissionMissing` naming the permission and the resource, and the
checks that needed it say so as one missing item each instead of ending the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import requests

from generator.core.checklist import CheckItem, missing
from generator.core.errors import ServiceError

DOCTOR_ROLE = "lapseDoctor"
# (method, URL pattern, permission): every Google Cloud call the checks make.
_IAM = r"iam\.googleapis\.com/v1/"
_CRM = r"cloudresourcemanager\.googleapis\.com/"
_BQ = r"bigquery\.googleapis\.com/bigquery/v2/"
_SM = r"secretmanager\.googleapis\.com/v1/projects/[^/]+/secrets/"
_CALLS: tuple[tuple[str, str, str], ...] = (
    ("GET", _IAM + r".+/providers/[^/:]+$", "iam.workloadIdentityPoolProviders.get"),
    ("GET", _IAM + r"projects/[^/]+/serviceAccounts/[^/:]+$", "iam.serviceAccounts.get"),
    ("POST", _IAM + r".+/serviceAccounts/[^/]+:getIamPolicy$", "iam.serviceAccounts.getIamPolicy"),
    ("GET", _CRM + r"v3/projects:search$", "resourcemanager.projects.get"),
    ("GET", _CRM + r"v3/folders/[^/:]+$", "resourcemanager.folders.get"),
    ("POST", _CRM + r"v[13]/projects/[^/]+:getIamPolicy$", "resourcemanager.projects.getIamPolicy"),
    ("POST", _CRM + r"v3/folders/[^/]+:getIamPolicy$", "resourcemanager.folders.getIamPolicy"),
    (
        "POST",
        _CRM + r"v[13]/organizations/[^/]+:getIamPolicy$",
        "resourcemanager.organizations.getIamPolicy",
    ),
    ("GET", r"storage\.googleapis\.com/storage/v1/b/[^/]+$", "storage.buckets.get"),
    ("GET", r"storage\.googleapis\.com/storage/v1/b/[^/]+/iam$", "storage.buckets.getIamPolicy"),
    ("GET", _SM + r"[^/:]+$", "secretmanager.secrets.get"),
    ("GET", _SM + r"[^/]+:getIamPolicy$", "secretmanager.secrets.getIamPolicy"),
    ("GET", _BQ + r"projects/[^/]+/datasets/[^/]+$", "bigquery.datasets.get"),
)
DOCTOR_PERMISSIONS = tuple(sorted({permission for _, _, permission in _CALLS}))
_MATCHERS = tuple((method, re.compile(pattern), permitted) for method, pattern, permitted in _CALLS)


class PermissionMissing(ServiceError):
    """Google refused a call (403): `permission` on `resource` is not the doctor's."""

    def __init__(self, permission: str, resource: str, detail: str) -> None:
        super().__init__(f"{permission} on {resource} was refused: {detail}")
        self.permission = permission
        self.resource = resource


def permission_of(method: str, url: str) -> str:
    """The permission the call needs; "" for a call the checks do not make."""
    where = url.split("://", 1)[-1].split("?", 1)[0]
    for known, pattern, permission in _MATCHERS:
        if known == method.upper() and pattern.search(where):
            return permission
    return ""


def resource_of(url: str) -> str:
    path = url.split("://", 1)[-1].split("?", 1)[0]
    return path.split("/v1/", 1)[-1].split("/v2/", 1)[-1].split("/v3/", 1)[-1]


class DoctorSession(requests.Session):
    """Sends through `inner`; a 403 raises `PermissionMissing` naming what was refused."""

    def __init__(self, inner: requests.Session) -> None:
        super().__init__()
        self._inner = inner

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        response = self._inner.request(method, url, *args, **kwargs)
        if response.status_code == 403:
            permission = permission_of(method, url) or f"{method} {resource_of(url)}"
            raise PermissionMissing(permission, resource_of(url), response.reason or "403")
        return response


def refused(exc: BaseException) -> PermissionMissing | None:
    """The refusal behind `exc` (itself, or what a retried call was ended by), if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, PermissionMissing):
            return seen
        seen = seen.__cause__
    return None


def guarded(unit: Callable[[], Iterable[CheckItem]]) -> list[CheckItem]:
    """The unit's items; a refused call ends it with an item naming the missing permission."""
    found: list[CheckItem] = []
    try:
        found.extend(unit())
    except ServiceError as exc:
        denied = refused(exc)
        if denied is None:
            raise
        found.append(missing_permission(denied))
    return found


def missing_permission(denied: PermissionMissing) -> CheckItem:
    return missing(
        "Google Cloud",
        f"lapse doctor may use {denied.permission}",
        f"refused on {denied.resource}: what needs it was not checked",
        f"grant the identity running lapse doctor the {DOCTOR_ROLE} custom role"
        " (docs/setup.md, 15. Check everything with `lapse doctor`)",
    )
