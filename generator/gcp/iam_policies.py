"""Reading live IAM allow policies from Google Cloud, always as version 3.

A thin adapter: one REST call per resource, through any `requests.Session` (an
`AuthorizedSession` in production, a plain session under `responses` in tests). It only
reads; lapse never writes a policy, so it can never be the version-1 writer that strips
conditions.

Every call asks for policy version 3. Without it the APIs either refuse policies that hold
conditions or hand back bindings with their conditions hidden, and drift detection would
compare against a policy that is not the one in force. A BigQuery dataset has no getIamPolicy
of its own in the documented API: its access list is read with `datasets.get` and
`accessPolicyVersion=3`, and turned into the same policy shape (`dataset_access`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from generator.core import resource_kinds
from generator.core.errors import ConfigError, ServiceError
from generator.core.resource_kinds import ResourceKind
from generator.core.resource_names import (
    POLICY_VERSION,
    PolicyRequest,
)
from generator.core.retry import TRANSIENT_STATUS, call_with_retry, cut_short
from generator.gcp.dataset_access import policy_of_dataset

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
TIMEOUT_SECONDS = (10.0, 60.0)  # (connect, read)

# ---------------------------------------------------------------------------
# Resource names: one canonical spelling per resource, so that a grant written as
# `P.D` and one written as `projects/P/datasets/D` are checked against one policy. Each kind's
# spelling and its request, as documented in the API's REST reference, are its
# `resource_kinds` entry's.


def _kind(kind: str, resource: str) -> ResourceKind:
    try:
        return resource_kinds.get(kind)
    except KeyError:
        raise ConfigError(f"unknown resource kind {kind!r} for {resource!r}") from None


def canonical_resource(kind: str, resource: str) -> str:
    """The one spelling of `resource` that lapse uses as the policy's identity."""
    canonical = _kind(kind, resource).policy.name(resource.strip())
    if not canonical:
        raise ConfigError(f"{kind} {resource!r} is not a resource name lapse can read")
    return canonical


def policy_request(kind: str, resource: str) -> PolicyRequest:
    """The call that reads one resource's allow policy, asking for policy version 3."""
    return _kind(kind, resource).policy.request(canonical_resource(kind, resource))


# ---------------------------------------------------------------------------
# The adapter.


class HttpStatusError(ServiceError):
    """A response with an error status, carrying the status for retry decisions."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status} {detail}".rstrip())
        self.status = status


def is_transient(exc: BaseException) -> bool:
    """Rate limits, server errors and broken connections are worth another try."""
    if isinstance(exc, HttpStatusError):
        return exc.status in TRANSIENT_STATUS
    return isinstance(exc, requests.ConnectionError | requests.Timeout) or cut_short(exc)


class IamPolicyReader:
    """Reads allow policies through `session`; each call retried on transient failures."""

    def __init__(
        self,
        session: requests.Session,
        *,
        attempts: int = 5,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._session = session
        self._attempts = attempts
        self._sleep = sleep

    def get_policy(self, kind: str, resource: str) -> dict[str, Any]:
        """The raw policy JSON (`version`, `etag`, `bindings`) of one resource."""
        request = policy_request(kind, resource)
        access_list = resource_kinds.get(kind).policy.access_list
        read = self._send_dataset if access_list else self._send
        return call_with_retry(
            lambda: read(request),
            what=f"reading the IAM policy of {kind} {canonical_resource(kind, resource)}",
            is_transient=is_transient,
            attempts=self._attempts,
            sleep=self._sleep,
        )

    def _send(self, request: PolicyRequest) -> dict[str, Any]:
        response = self._session.request(
            request.method,
            request.url,
            params=request.params,
            json=request.body,
            timeout=TIMEOUT_SECONDS,
        )
        if response.status_code >= 400:
            raise HttpStatusError(response.status_code, _error_detail(response))
        policy = response.json()
        if not isinstance(policy, dict):
            raise ValueError(f"expected a policy object, got {type(policy).__name__}")
        return policy

    def _send_dataset(self, request: PolicyRequest) -> dict[str, Any]:
        return policy_of_dataset(self._send(request))


def _error_detail(response: requests.Response) -> str:
    """Google's error envelope names the cause (`PERMISSION_DENIED`, ...); keep it short."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return response.reason or ""
    if not isinstance(error, dict):
        return response.reason or ""
    status = str(error.get("status", "")).strip()
    message = str(error.get("message", "")).strip()
    return ": ".join(part for part in (status, message) if part)[:300]


def build_session(*extra_scopes: str) -> requests.Session:
    """An authorized session from Application Default Credentials (Cloud Platform, and the
    Admin SDK scopes `extra_scopes` names for the Directory and Reports APIs).

    Imported lazily so commands that never talk to Google Cloud do not pay for google-auth.
    """
    import google.auth  # noqa: PLC0415 - lazy on purpose, see above
    import google.auth.exceptions  # noqa: PLC0415
    from google.auth.transport.requests import AuthorizedSession  # noqa: PLC0415

    try:
        credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE, *extra_scopes])
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise ConfigError(
            "no Google Cloud credentials: run `gcloud auth application-default login`, "
            "or authenticate the workflow with google-github-actions/auth"
        ) from exc
    # google-auth ships no annotations for AuthorizedSession; it is a requests.Session.
    session: requests.Session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
    return session


__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "POLICY_VERSION",
    "HttpStatusError",
    "IamPolicyReader",
    "PolicyRequest",
    "build_session",
    "canonical_resource",
    "is_transient",
    "policy_request",
]
