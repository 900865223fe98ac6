"""The checks of `lapse watch`, one function per control of `core.controls`.

Each takes the run's `Watching` and returns a `Status`. A read that fails (403, a service
down, an answer of the wrong shape, git that cannot answer) raises a `LapseError`, which
`lifecycle.watch` turns into "cannot tell": a check never answers ok for what it could not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from generator.core.controls import Control, State, Status, cannot_tell, failing, ok
from generator.core.errors import ConfigError
from generator.core.git import git, mainline_additions, on_first_parent_line
from generator.core.model import Policy
from generator.core.times import format_duration, format_utc
from generator.core.watch_policy import MaintenanceWindow
from generator.github import last_apply
from generator.github.records import hidden_marker
from generator.github.watch_reads import Item, Run, open_pulls, workflow_runs
from generator.lifecycle.expire import BRANCH as EXPIRE_BRANCH
from generator.lifecycle.expire import LABEL as EXPIRE_LABEL
from generator.review.publication import BRANCH as REVIEW_BRANCH

MAIN = "main"
FAILED = frozenset({"failure", "timed_out", "startup_failure", "action_required"})
RECERTIFICATION = "reports/recertification"
_REPORT = re.compile(r"^reports/recertification/([0-9]{4})-H([12])\.md$")
INCIDENT_LABEL = "security-incident"
DRIFT_LABEL = "lapse-drift"


class GitHub(Protocol):
    def read_json(self, path: str) -> Any: ...
    def open_issues(self, label: str) -> list[Item]: ...
    def own_login(self) -> str: ...


class Google(Protocol):
    def audit_items_failing(self, policy: Policy) -> list[str]: ...
    def sink_status(self, sink: str, now: datetime, max_age: timedelta) -> Status: ...


@dataclass(frozen=True, slots=True)
class Watching:
    github: GitHub
    repository: str
    policy: Policy
    root: Path
    now: datetime
    google: Google | None = None  # None: no Google credentials
    google_missing: str = "no Google Cloud credentials"
    own_issue_marker: str = hidden_marker("control:incident-response")


@dataclass(frozen=True, slots=True)
class Watched:
    control: Control
    status: Status
    since: datetime | None = None  # when the control's failing or unknown state began
    window: MaintenanceWindow | None = None
    issue: int | None = None  # its open incident issue, after `reconcile`
    action: str = ""  # what this run did to that issue: opened, updated, closed


@dataclass(frozen=True, slots=True)
class WatchReport:
    at: datetime
    controls: tuple[Watched, ...]

    @property
    def failed(self) -> bool:
        return any(w.status.state in (State.FAILING, State.UNKNOWN) for w in self.controls)


# --- scheduled workflows -----------------------------------------------------------------


def expire_runs(w: Watching) -> Status:
    return _schedule(w, "expire.yml", timedelta(hours=1))


def drift_runs(w: Watching) -> Status:
    return _schedule(w, "drift.yml", timedelta(days=1))


def review_runs(w: Watching) -> Status:
    return _schedule(w, "review.yml", timedelta(days=1))


def watch_runs(w: Watching) -> Status:
    return _schedule(w, "watch.yml", timedelta(hours=1))


def _schedule(w: Watching, workflow: str, period: timedelta) -> Status:
    runs = [run for run in _runs(w, workflow) if run.status == "completed"]
    broken = _failed_since(runs)
    if broken is not None:
        return failing(f"{workflow}: {broken[1]}", since=broken[0])
    limit = period + w.policy.watch.tolerance
    success = next((run for run in runs if run.conclusion == "success"), None)
    if success is None:
        return failing(f"{workflow} never succeeded on {MAIN} in its {len(runs)} latest runs")
    if w.now - success.created_at > limit:
        return failing(
            f"{workflow} has not succeeded since {format_utc(success.created_at)}: it runs"
            f" every {format_duration(period)} (+{format_duration(w.policy.watch.tolerance)})",
            since=success.created_at + limit,
        )
    return ok(f"{workflow} succeeded at {format_utc(success.created_at)} ({success.url})")


def _runs(w: Watching, workflow: str) -> list[Run]:
    return workflow_runs(w.github, w.repository, workflow, MAIN)


def _failed_since(runs: list[Run]) -> tuple[datetime, str] | None:
    """When the newest completed runs began failing, and how the newest ended; None when the
    newest completed run did not fail (cancelled and skipped runs are passed over)."""
    counted = [run for run in runs if run.conclusion == "success" or run.conclusion in FAILED]
    if not counted or counted[0].conclusion == "success":
        return None
    first = counted[0]
    for run in counted:
        if run.conclusion == "success":
            break
        first = run
    newest = counted[0]
    return first.created_at, f"run {newest.url} ended {newest.conclusion}"


# --- apply ---------------------------------------------------------------------------------


def apply(w: Watching) -> Status:
    runs = [run for run in _runs(w, "apply.yml") if run.status == "completed"]
    broken = _failed_since(runs)
    if broken is not None:
        return failing(f"apply.yml: {broken[1]}", since=broken[0])
    try:
        record = last_apply.last_applied(w.github, w.repository)
    except ConfigError as refused:  # a record only a hand could have written
        return failing(str(refused))
    if record is None:
        return failing(f"no successful apply is recorded ({last_apply.ENVIRONMENT} deployments)")
    if not on_first_parent_line(w.root, record.sha):
        return failing(f"the last apply recorded, {record.sha[:12]}, is not on main's history")
    waiting = _unapplied_since(w.root, record.sha)
    if waiting is None:
        return ok(f"main is applied up to {record.sha[:12]} (deployment {record.deployment})")
    limit = w.policy.watch.unapplied_limit
    if w.now - waiting > limit:
        return failing(
            f"changes merged to main since {format_utc(waiting)} are not applied (the last"
            f" apply is {record.sha[:12]}; limit {format_duration(limit)})",
            since=waiting + limit,
        )
    return ok(f"changes since {format_utc(waiting)} wait for their apply, within the limit")


def _unapplied_since(root: Path, applied: str) -> datetime | None:
    """When the oldest commit on main's first-parent line after `applied` was made."""
    dates = git(root, "log", "--first-parent", "--format=%cI", f"{applied}..HEAD").split()
    return min((datetime.fromisoformat(date) for date in dates), default=None)


# --- pull requests -------------------------------------------------------------------------


def expire_pull(w: Watching) -> Status:
    return _pulls(w, EXPIRE_BRANCH, EXPIRE_LABEL, w.policy.watch.expire_pull_limit)


def review_pulls(w: Watching) -> Status:
    return _pulls(w, REVIEW_BRANCH, "lapse-review", w.policy.watch.review_pull_limit)


def _pulls(w: Watching, branch: str, label: str, limit: timedelta) -> Status:
    mine = [
        pull
        for pull in open_pulls(w.github, w.repository)
        if pull.head == branch or pull.head.startswith(f"{branch}/") or label in pull.labels
    ]
    return _overdue(w, mine, limit, f"{branch} pull request")


def _overdue(w: Watching, items: list[Item], limit: timedelta, what: str) -> Status:
    late = sorted(
        (item for item in items if w.now - item.created_at > limit),
        key=lambda item: item.created_at,
    )
    if late:
        numbers = ", ".join(f"#{item.number}" for item in late)
        return failing(
            f"{what} {numbers} open longer than {format_duration(limit)}",
            since=late[0].created_at + limit,
        )
    numbers = ", ".join(f"#{item.number}" for item in items)
    return ok(f"{len(items)} {what}(s) open, each within {format_duration(limit)} {numbers}")


# --- incidents -----------------------------------------------------------------------------


def incident_response(w: Watching) -> Status:
    """Every open incident, whoever opened it (review's are the GitHub App's, drift's and
    watch's the workflow token's): a forged one can only make this fail, never pass. The
    watch's own issue for this control is left out, when lapse opened it."""
    own = w.github.own_login().lower()
    issues = [
        issue
        for issue in w.github.open_issues(INCIDENT_LABEL)
        if not (issue.author.lower() == own and w.own_issue_marker in issue.body)
    ]
    return _overdue(w, issues, w.policy.watch.incident_response, "incident issue")


def drift_findings(w: Watching) -> Status:
    issues = sorted(w.github.open_issues(DRIFT_LABEL), key=lambda issue: issue.created_at)
    if issues:
        numbers = ", ".join(f"#{issue.number} {issue.title}" for issue in issues)
        return failing(f"unresolved drift: {numbers}", since=issues[0].created_at)
    return ok("no open lapse-drift incident issue")


# --- Google Cloud --------------------------------------------------------------------------


def data_access_logs(w: Watching) -> Status:
    if w.google is None:
        return cannot_tell(w.google_missing)
    wrong = w.google.audit_items_failing(w.policy)
    if wrong:
        return failing("; ".join(wrong))
    return ok("ADMIN_READ, DATA_READ and DATA_WRITE on for every service in scope")


def audit_sink(w: Watching) -> Status:
    sink = w.policy.watch.audit_sink
    if not sink:
        return cannot_tell("no sink is named: set watch.audit_sink in policy/policy.yaml")
    if w.google is None:
        return cannot_tell(w.google_missing)
    return w.google.sink_status(sink, w.now, w.policy.watch.audit_log_age)


# --- recertification -----------------------------------------------------------------------


def recertification(w: Watching) -> Status:
    found = [
        (addition.at, path)
        for path, addition in mainline_additions(w.root, RECERTIFICATION).items()
        if _current_report(w, path)
    ]
    limit = w.policy.watch.recertification_age
    if not found:
        return failing(f"no {RECERTIFICATION}/<YYYY>-H<1|2>.md on main's history")
    at, path = max(found)
    if w.now - at > limit:
        return failing(
            f"the newest recertification, {path}, was merged {format_utc(at)}: older than"
            f" {format_duration(limit)}",
            since=at + limit,
        )
    return ok(f"{path} merged {format_utc(at)}")


def _current_report(w: Watching, path: str) -> bool:
    """A report named for a half-year that has begun, a regular file in the checkout."""
    named = _REPORT.match(path)
    if named is None:
        return False
    year, half = int(named.group(1)), int(named.group(2))
    begun = (year, half) <= (w.now.year, 1 if w.now.month <= 6 else 2)
    file = w.root / path
    return begun and file.is_file() and not file.is_symlink()
