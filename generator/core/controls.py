"""The controls `lapse watch` keeps an eye on (PCI DSS 10.7.2, 10.7.3): one entry each.

An entry names the control (the name maintenance windows and incident issues use), says what
holds when it is ok and what it reads, and points at its check as `module:function`, imported
only when `lapse watch` runs (as `cli.COMMANDS` does): the policy's rules read the names here
without loading the GitHub and Google clients the checks need. A check takes a
`lifecycle.watch_checks.Watching` and returns a `Status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class State(StrEnum):
    OK = "ok"
    FAILING = "failing"
    UNKNOWN = "cannot tell"  # a refused or failed read: never taken as ok
    SILENCED = "silenced"  # inside a maintenance window of the policy


@dataclass(frozen=True, slots=True)
class Status:
    """What one check found: `since` is when the failure began, when the data says it."""

    state: State
    cause: str = ""  # why it is failing or cannot be told
    evidence: str = ""  # what was read, said of an ok control too (the evidence of recovery)
    since: datetime | None = None


def ok(evidence: str) -> Status:
    return Status(State.OK, evidence=evidence)


def failing(cause: str, since: datetime | None = None, evidence: str = "") -> Status:
    return Status(State.FAILING, cause=cause, evidence=evidence, since=since)


def cannot_tell(cause: str) -> Status:
    return Status(State.UNKNOWN, cause=cause)


@dataclass(frozen=True, slots=True)
class Control:
    name: str
    summary: str  # what holds when the control is ok
    reads: str  # what the check reads, and the permission it needs
    check: str  # "module:function"


REGISTRY: dict[str, Control] = {}


def register(control: Control) -> Control:
    if control.name in REGISTRY:
        raise ValueError(f"control {control.name} is registered twice")
    REGISTRY[control.name] = control
    return control


_CHECKS = "generator.lifecycle.watch_checks"

register(
    Control(
        "expire-runs",
        "expire.yml ran on schedule (hourly) and succeeded, within the tolerance",
        "GitHub Actions: runs of expire.yml on main (actions: read)",
        f"{_CHECKS}:expire_runs",
    )
)
register(
    Control(
        "drift-runs",
        "drift.yml ran on schedule (daily) and succeeded, within the tolerance",
        "GitHub Actions: runs of drift.yml on main (actions: read)",
        f"{_CHECKS}:drift_runs",
    )
)
register(
    Control(
        "review-runs",
        "review.yml ran on schedule (daily) and succeeded, within the tolerance",
        "GitHub Actions: runs of review.yml on main (actions: read)",
        f"{_CHECKS}:review_runs",
    )
)
register(
    Control(
        "watch-runs",
        "watch.yml itself ran on schedule (hourly) and succeeded, within the tolerance; drift.yml"
        " checks this one daily, so a watch that stopped is seen",
        "GitHub Actions: runs of watch.yml on main (actions: read)",
        f"{_CHECKS}:watch_runs",
    )
)
register(
    Control(
        "apply",
        "the last apply on main succeeded and no merged change waits unapplied past the limit",
        "GitHub Actions: runs of apply.yml on main and the production deployments the apply"
        " records (actions: read, deployments: read); git: main's commits since that apply",
        f"{_CHECKS}:apply",
    )
)
register(
    Control(
        "expire-pull",
        "the lapse-expire pull request is not open longer than the limit",
        "GitHub: open pull requests (pull-requests: read)",
        f"{_CHECKS}:expire_pull",
    )
)
register(
    Control(
        "review-pulls",
        "no review report pull request is open longer than the limit",
        "GitHub: open pull requests (pull-requests: read)",
        f"{_CHECKS}:review_pulls",
    )
)
register(
    Control(
        "data-access-logs",
        "ADMIN_READ, DATA_READ and DATA_WRITE audit logs are on for every in-scope project,"
        " folder and organization (terraform/audit_logging.tf)",
        "Resource Manager: each node's IAM policy, its auditConfigs"
        " (resourcemanager.*.getIamPolicy, resourcemanager.projects.get, folders.get)",
        f"{_CHECKS}:data_access_logs",
    )
)
register(
    Control(
        "audit-sink",
        "the audit-log sink the review reads exists, is enabled, its writer identity may write"
        " to its BigQuery dataset, and the newest entry there is younger than the limit",
        "Logging: the sink (logging.sinks.get); BigQuery: the dataset's access list"
        " (bigquery.datasets.get) and one query of the newest entry (bigquery.jobs.create)",
        f"{_CHECKS}:audit_sink",
    )
)
register(
    Control(
        "incident-response",
        "no incident issue is open longer than the response time",
        "GitHub: open issues labelled security-incident (issues: read)",
        f"{_CHECKS}:incident_response",
    )
)
register(
    Control(
        "drift-findings",
        "no CRITICAL or HIGH drift finding is unresolved: no open lapse-drift incident issue",
        "GitHub: open issues labelled lapse-drift (issues: read)",
        f"{_CHECKS}:drift_findings",
    )
)
register(
    Control(
        "recertification",
        "the newest reports/recertification/<YYYY>-H<1|2>.md on main is younger than the limit",
        "git: main's first-parent history, the commit that added the report",
        f"{_CHECKS}:recertification",
    )
)
