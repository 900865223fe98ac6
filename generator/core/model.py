"""Frozen values that flow between the stages of lapse.

Every stage takes and returns these; nothing here talks to disk, network or clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from generator.core import resource_kinds
from generator.core.watch_policy import WatchPolicy

Level = Literal["error", "warning", "info"]

# The resource kinds lapse grants, in the order the schema lists them (resource_kinds.names()
# also holds any registered since).
RESOURCE_KINDS: tuple[str, ...] = resource_kinds.names()


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with one file, located at a 1-based line and column."""

    path: str
    line: int
    col: int
    rule: str
    level: Level
    message: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Window:
    """When a grant is usable: [starts, expires). `starts` None means from merge."""

    starts: datetime | None
    expires: datetime

    @property
    def duration(self) -> timedelta | None:
        return None if self.starts is None else self.expires - self.starts


@dataclass(frozen=True, slots=True)
class Grant:
    """One role on one named resource."""

    role: str
    kind: str
    resource: str
    line: int = field(default=1, compare=False)
    col: int = field(default=1, compare=False)

    @property
    def canonical(self) -> str:
        """The resource name in one spelling: datasets as PROJECT.DATASET."""
        return resource_kinds.canonical(self.kind, self.resource)

    @property
    def project(self) -> str | None:
        """The project that holds the resource, when the name says so."""
        return resource_kinds.home_project(self.kind, self.resource)


@dataclass(frozen=True, slots=True)
class Extension:
    """One extension of a request's window: `expires` moved later by `by`, at `at`, and why."""

    at: datetime
    by: timedelta
    reason: str
    line: int = field(default=1, compare=False)
    col: int = field(default=1, compare=False)


@dataclass(frozen=True, slots=True)
class ExtensionLimits:
    """How far a target's grants may be extended: each time, in all, and how often."""

    max_extension: timedelta
    max_total_duration: timedelta
    max_count: int


@dataclass(frozen=True, slots=True)
class Request:
    """A validated access request, as read from `requests/<target>/<id>.yaml`."""

    id: str
    target: str
    path: str
    requester: str
    reason: str
    ticket: str
    window: Window
    grants: tuple[Grant, ...]
    # Read from `requests/<target>/emergency/<id>.yaml`: the target's emergency limits apply.
    emergency: bool = False
    # Each approved extension, oldest first; `window.expires` already holds their sum.
    extensions: tuple[Extension, ...] = ()

    @property
    def member(self) -> str:
        return f"user:{self.requester}"

    @property
    def first_expires(self) -> datetime:
        """When the window ended as first approved, before any extension moved it."""
        return self.window.expires - sum((e.by for e in self.extensions), timedelta(0))


@dataclass(frozen=True, slots=True)
class Emergency:
    """A target's break-glass path: other approvers, tighter limits, a review after the fact."""

    approvers: tuple[str, ...]
    max_duration: timedelta
    roles: tuple[str, ...]
    ticket_pattern: str
    normal_approval_within: timedelta  # a person's next emergency this soon needs `approvers`
    max_per_person: int
    max_per_target: int
    window: timedelta  # the rolling window the two counts are taken over
    review_within: timedelta  # a normal approver signs the grant off this soon after expiry


@dataclass(frozen=True, slots=True)
class Target:
    """A policy target: who approves, what may be granted, for how long."""

    name: str
    approvers: tuple[str, ...]
    max_duration: timedelta
    max_lead_time: timedelta
    ticket_pattern: str
    domains: tuple[str, ...]
    roles: tuple[str, ...]
    resources: dict[str, tuple[str, ...]]
    bucket_projects: dict[str, str]
    audit_services: tuple[str, ...]
    persistence_exceptions: dict[str, str]
    # Buckets the policy marks `uniform_bucket_level_access: required`; `lapse doctor` checks
    # each live, and LAPSE222 refuses a bucket listed without the mark.
    uniform_access_buckets: frozenset[str] = frozenset()
    # The organization and folders above the target's projects, from the organization down.
    hierarchy: tuple[str, ...] = ()
    emergency: Emergency | None = None
    extensions: ExtensionLimits | None = None  # None: grants are never extended
    notify: str | None = None  # the channel told of this target's requests


@dataclass(frozen=True, slots=True)
class Limits:
    max_active_requests_per_person: int = 3
    max_conditional_bindings_per_resource: int = 100
    max_bindings_per_role_and_principal: int = 20
    reason_min_length: int = 15
    reason_max_length: int = 500
    # How long the audit logs a review reads are kept (PCI DSS 10.5.1 asks a year or more).
    audit_log_retention_days: int = 400


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    # The most bytes one BigQuery read of `lapse review` may scan (None: no limit).
    max_bytes: int | None = None


# Login Audit's `login_challenge_method` values that are a second factor (Google's "Login
# Audit activity events" reference); a policy may name others as Google adds them.
SECOND_FACTOR_METHODS = (
    "backup_code",
    "google_authenticator",
    "google_prompt",
    "idv_any_phone",
    "idv_preregistered_phone",
    "internal_two_factor",
    "offline_otp",
    "passkey",
    "security_key",
    "security_key_otp",
)


@dataclass(frozen=True, slots=True)
class MfaPolicy:
    """How `lapse review` shows that each grant's sessions began with a second factor.

    `login_audit` is where the grantee's logins are read: `reports` (the Reports API) or
    `audit_logs` (Login Audit entries shared to Cloud Logging, read by the review's source).
    An action counts only within `session_length` of the login it follows.
    """

    login_audit: str = "reports"
    session_length: timedelta = timedelta(hours=16)
    customer: str = ""  # the Workspace / Cloud Identity customer ID; "" is the caller's own
    second_factor_methods: tuple[str, ...] = SECOND_FACTOR_METHODS


@dataclass(frozen=True, slots=True)
class Channel:
    """An incoming webhook: its kind, and the environment variable that holds its URL."""

    name: str
    kind: Literal["slack", "google_chat"]
    url_from: str


@dataclass(frozen=True, slots=True)
class Notifications:
    channels: dict[str, Channel]
    security: str | None = None  # the channel told of deviations, emergencies, control failures


@dataclass(frozen=True, slots=True)
class Policy:
    people: dict[str, str]
    targets: dict[str, Target]
    security_owners: tuple[str, ...]
    limits: Limits = Limits()
    terraform_resource_types: tuple[str, ...] = ()  # beyond lapse's own, allowed in terraform/
    mfa: MfaPolicy | None = None  # None: reviews record no MFA evidence
    notifications: Notifications | None = None
    review: ReviewSettings = ReviewSettings()
    watch: WatchPolicy = field(default_factory=WatchPolicy)

    def login_of(self, email: str) -> str | None:
        for login, known in self.people.items():
            if known == email:
                return login
        return None


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    INFO = "INFO"


@dataclass(frozen=True, slots=True)
class Binding:
    """A conditional IAM member binding, as read back from rendered Terraform."""

    address: str
    source: str
    kind: str
    resource: str
    role: str
    member: str
    title: str
    description: str
    expression: str


@dataclass(frozen=True, slots=True)
class Finding:
    """A deviation found by the post-access review, with the entries that show it."""

    severity: Severity
    kind: str
    message: str
    evidence: tuple[str, ...] = ()
