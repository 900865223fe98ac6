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
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from generator.core.errors import ConfigError, ServiceError
from generator.core.retry import TRANSIENT_STATUS, call_with_retry, cut_short
from generator.gcp.dataset_access import policy_of_dataset

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
POLICY_VERSION = 3
TIMEOUT_SECONDS = (10.0, 60.0)  # (connect, read)

CRM = "https://cloudresourcemanager.googleapis.com"
STORAGE = "https://storage.googleapis.com/storage/v1"
SM = "https://secretmanager.googleapis.com/v1"  # Secret Manager
BIGQUERY = "https://bigquery.googleapis.com/bigquery/v2"
IAM = "https://iam.googleapis.com/v1"

# Resource Manager: the options travel in a POST body (GetIamPolicyRequest).
_OPTIONS_BODY: dict[str, Any] = {"options": {"requestedPolicyVersion": POLICY_VERSION}}
# Secret Manager, IAM service accounts: the same options as a query parameter, empty body.
_OPTIONS_QUERY = {"options.requestedPolicyVersion": str(POLICY_VERSION)}
# Cloud Storage's JSON API spells the parameter its own way, and BigQuery's datasets.get its own.
_STORAGE_QUERY = {"optionsRequestedPolicyVersion": str(POLICY_VERSION)}
_DATASET_QUERY = {"accessPolicyVersion": str(POLICY_VERSION)}


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    """The one HTTP call that reads a resource's allow policy."""

    method: str
    url: str
    params: dict[str, str] | None = None
    body: dict[str, Any] | None = None


# ---------------------------------------------------------------------------
# Resource names: one canonical spelling per resource, so that a grant written as
# `P.D` and one written as `projects/P/datasets/D` are checked against one policy.


def canonical_resource(kind: str, resource: str) -> str:
    """The one spelling of `resource` that lapse uses as the policy's identity."""
    normalize = _CANONICAL.get(kind)
    if normalize is None:
        raise ConfigError(f"unknown resource kind {kind!r} for {resource!r}")
    text = resource.strip()
    canonical = normalize(text)
    if not canonical:
        raise ConfigError(f"{kind} {resource!r} is not a resource name lapse can read")
    return canonical


def _project(text: str) -> str:
    name = text.removeprefix("projects/")
    return name if name and "/" not in name else ""


def _folder(text: str) -> str:
    number = text.removeprefix("folders/")
    return f"folders/{number}" if number.isdigit() else ""


def _organization(text: str) -> str:
    number = text.removeprefix("organizations/")
    return number if number.isdigit() else ""


def _bucket(text: str) -> str:
    name = text.removeprefix("gs://").rstrip("/")
    return name if name and "/" not in name else ""


def _secret(text: str) -> str:
    parts = text.split("/")
    ok = len(parts) == 4 and parts[0] == "projects" and parts[2] == "secrets"
    return text if ok and all(parts) else ""


def _dataset(text: str) -> str:
    parts = text.split("/")
    if len(parts) == 4 and parts[0] == "projects" and parts[2] == "datasets" and all(parts):
        return text
    project, dot, dataset = text.partition(".")
    if dot and project and dataset and "/" not in text and "." not in dataset:
        return f"projects/{project}/datasets/{dataset}"
    return ""


def _service_account(text: str) -> str:
    email = text.rpartition("/serviceAccounts/")[2] if text.startswith("projects/") else text
    return email if "@" in email and "/" not in email else ""


_CANONICAL: dict[str, Callable[[str], str]] = {
    "project": _project,
    "folder": _folder,
    "organization": _organization,
    "bucket": _bucket,
    "secret": _secret,
    "dataset": _dataset,
    "service_account": _service_account,
}


# ---------------------------------------------------------------------------
# One request shape per kind, each as documented in the API's REST reference.


def policy_request(kind: str, resource: str) -> PolicyRequest:
    """The call that reads one resource's allow policy, asking for policy version 3."""
    name = canonical_resource(kind, resource)
    return _REQUESTS[kind](name)


def _segments(path: str) -> str:
    # Quote each path segment, keeping the separators the API's URL template expects.
    return "/".join(quote(part, safe="@") for part in path.split("/"))


def _project_request(name: str) -> PolicyRequest:
    # v1 takes the project ID itself in the path (v3 would want projects/{number-or-id}).
    return PolicyRequest(
        "POST", f"{CRM}/v1/projects/{_segments(name)}:getIamPolicy", body=_OPTIONS_BODY
    )


def _folder_request(name: str) -> PolicyRequest:
    return PolicyRequest("POST", f"{CRM}/v3/{_segments(name)}:getIamPolicy", body=_OPTIONS_BODY)


def _organization_request(name: str) -> PolicyRequest:
    return PolicyRequest(
        "POST", f"{CRM}/v3/organizations/{_segments(name)}:getIamPolicy", body=_OPTIONS_BODY
    )


def _bucket_request(name: str) -> PolicyRequest:
    return PolicyRequest("GET", f"{STORAGE}/b/{quote(name, safe='')}/iam", params=_STORAGE_QUERY)


def _secret_request(name: str) -> PolicyRequest:
    return PolicyRequest("GET", f"{SM}/{_segments(name)}:getIamPolicy", params=_OPTIONS_QUERY)


def _dataset_request(name: str) -> PolicyRequest:
    # datasets.get: the access list, conditions included, is part of the dataset resource.
    return PolicyRequest("GET", f"{BIGQUERY}/{_segments(name)}", params=_DATASET_QUERY)


def _service_account_request(name: str) -> PolicyRequest:
    # `-` lets the API infer the project from the account's email.
    return PolicyRequest(
        "POST",
        f"{IAM}/projects/-/serviceAccounts/{_segments(name)}:getIamPolicy",
        params=_OPTIONS_QUERY,
    )


_REQUESTS: dict[str, Callable[[str], PolicyRequest]] = {
    "project": _project_request,
    "folder": _folder_request,
    "organization": _organization_request,
    "bucket": _bucket_request,
    "secret": _secret_request,
    "dataset": _dataset_request,
    "service_account": _service_account_request,
}


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
        read = self._send if kind != "dataset" else self._send_dataset
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


def build_session() -> requests.Session:
    """An authorized session from Application Default Credentials.

    Imported lazily so commands that never talk to Google Cloud do not pay for google-auth.
    """
    import google.auth  # noqa: PLC0415 - lazy on purpose, see above
    import google.auth.exceptions  # noqa: PLC0415
    from google.auth.transport.requests import AuthorizedSession  # noqa: PLC0415

    try:
        credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
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
