"""`lapse review`: which grants to review, from which logs, and where the reports go.

A grant is reviewed once its window (plus grace) has ended and until its report is merged:
every run rebuilds the reports that are not on main yet, so the open report pull request
always holds the latest evidence, and a re-run changes nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from generator.checks.plain_reading import quick_expiry
from generator.checks.rules.audit import scope_of
from generator.checks.validate import read_requests
from generator.core import resource_kinds
from generator.core.git import is_shallow, mainline_additions
from generator.core.model import Limits, Policy, Problem, Request
from generator.core.repo import Repo
from generator.core.request_paths import archive_month, parse_request_path
from generator.gcp.roles import RolesLock
from generator.review.analysis import (
    Review,
    ReviewSubject,
    fetch_window,
    review_all,
    review_collected,
)
from generator.review.logins import LoginReader
from generator.review.mfa import CarriedLogins, NotRead, judged
from generator.review.report_on_disk import OnDisk, read_report
from generator.review.scope import grant_name
from generator.review.shards import Track, collect_read
from generator.review.sources import EventSource
from generator.review.subjects import mainline_addition
from generator.terraform.audit_coverage import AuditCoverage, read_coverage

if TYPE_CHECKING:
    from generator.gcp.descendants import Descendants  # a Google client: for the types only


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime
    until: datetime
    grace: timedelta


# How long the audit logs a review reads are kept, unless the policy says otherwise.
RETENTION = timedelta(days=Limits().audit_log_retention_days)
# Grants that crossed the retention's edge this long ago are still listed, for their
# INCOMPLETE report: a review that did not run for a few days still writes it.
_PAST_RETENTION_BAND = timedelta(days=31)


def due(
    repo: Repo, period: Period, *, force: bool = False, retention: timedelta = RETENTION
) -> Due:
    """The grants to review now, the complete reports of the period, and the archive's problems.

    A grant is due once its window (plus grace) has ended and until a complete report for it
    is on disk, however long ago it ended: one that ended in the period is listed as
    `reported` when its complete report is there (its findings are shown again, not reviewed
    again, unless `force`); one that ended before the period is due only while its report is
    missing or INCOMPLETE. Audit logs are kept for `retention`: a grant that ended longer ago
    than that with no report at all is `past_retention`, for an INCOMPLETE report that says so.

    Only the archive's month folders from the retention's edge to the period's end are
    listed; a file whose `expires` the fast path reads outside them is not parsed, nor one
    from before the period whose complete report is there: the cost of a review follows the
    retention, not the size of archive/ (LAPSE134 keeps every archived file in the month it
    ended, which is also its report's).
    """
    earliest = min(period.since, period.until - retention - _PAST_RETENTION_BAND)
    active, problems = read_requests(repo, repo.request_files())
    recent = _months(period.since - _SLACK, period.until + _SLACK)
    listed = repo.archive_files_of(_months(earliest - _SLACK, period.until + _SLACK))
    candidates = [
        path
        for path in listed
        if _may_end_in(str(path), earliest, period.until)
        and not _finished_before(repo, path, recent)
    ]
    archived, archive_problems = read_requests(repo, candidates)
    found = [(r, False) for r in active] + [(r, True) for r in archived]
    todo, reported, past = [], [], []
    for request, was in sorted(found, key=lambda item: (item[0].window.expires, item[0].id)):
        ended = request.window.expires
        if ended < earliest or ended + period.grace > period.until:
            continue
        month = request.window.expires.strftime("%Y-%m")
        editions = _editions(repo, request.target, month, request.id)
        problems += [problem for report in editions for problem in report.problems]
        complete = [report.path for report in editions if report.complete]
        if ended < period.until - retention:
            if not editions:
                past.append((request, was))
        elif not complete or (force and period.since <= ended):
            todo.append((request, was))
        elif period.since <= ended:
            reported.append(complete[-1])
    return Due(todo, reported, [*problems, *archive_problems], past)


@dataclass(frozen=True, slots=True)
class Due:
    items: list[tuple[Request, bool]]
    reported: list[Path]  # complete reports already on disk for grants of the period
    problems: list[Problem]
    # Ended longer ago than the audit logs are kept, with no report: INCOMPLETE, saying so.
    past_retention: list[tuple[Request, bool]] = field(default_factory=list)


def _finished_before(repo: Repo, path: Path, recent: set[str]) -> bool:
    """Whether an archived file of a month before the period's has its complete report.

    Its reports lie at `reports/<target>/<its month>/<id>[.N].json`: the folder names the month
    its window ended (LAPSE134), so the request need not be parsed to find it.
    """
    where = parse_request_path(repo.relative(path))
    if where is None or where.folder != "archive" or where.month in recent:
        return False
    return any(report.complete for report in _editions(repo, where.target, where.month, where.id))


def _editions(repo: Repo, target: str, month: str, request_id: str) -> list[OnDisk]:
    """Every JSON report of a grant on disk, oldest edition first (`<id>.json`, `<id>.2.json`).

    A grant is done once any edition is complete: a report on main is never rewritten, so a
    grant reviewed again after an INCOMPLETE report gets the next edition (LAPSE151).
    """
    folder = repo.reports / target / month
    found, edition = [], 1
    while (report := read_report(repo, folder / _edition_name(request_id, edition))).exists:
        found.append(report)
        edition += 1
    return found


def _edition_name(request_id: str, edition: int) -> str:
    return f"{request_id}.json" if edition == 1 else f"{request_id}.{edition}.json"


# A day of slack either side: the full read decides near the edges.
_SLACK = timedelta(days=1)


def _months(first: datetime, last: datetime) -> set[str]:
    """Every YYYY-MM (UTC) from `first` to `last`, both included."""
    year, month = first.astimezone(UTC).year, first.astimezone(UTC).month
    end = archive_month(last)
    found = set()
    while (name := f"{year:04d}-{month:02d}") <= end:
        found.add(name)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _may_end_in(path: str, earliest: datetime, until: datetime) -> bool:
    """False only when the fast path reads an `expires` outside [earliest, until]."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except OSError:
        return True  # read again, and reported, by read_requests
    quick = quick_expiry(raw)
    return quick is None or earliest - _SLACK <= quick[0] <= until + _SLACK


def subjects(
    repo: Repo,
    policy: Policy,
    lock: RolesLock | None,
    items: Sequence[tuple[Request, bool]],
    below: Descendants | None = None,
) -> list[ReviewSubject]:
    permissions = {name: frozenset(info.permissions) for name, info in (lock or {}).items()}
    additions = mainline_additions(repo.root, "requests") if items else {}
    found = []
    for request, archived in items:
        added = mainline_addition(request, additions)
        found.append(
            ReviewSubject(
                request=request,
                archived=archived,
                permissions_by_role=permissions,
                merged_at=added.at if added else None,
                merge_commit=added.sha if added else "",
                project_of=policy.targets[request.target].bucket_projects
                if request.target in policy.targets
                else {},
                folder_of=folders_of(policy, request, below),
            )
        )
    return found


def folders_of(policy: Policy, request: Request, below: Descendants | None) -> dict[str, str]:
    """project ID -> the folder granted above it: the projects Resource Manager listed below
    each granted folder, else the target's own projects below a folder of its `hierarchy`."""
    target = policy.targets.get(request.target)
    folders = [grant_name(g) for g in request.grants if g.kind == "folder"]
    found: dict[str, str] = {}
    for folder in folders:
        listed = below.projects.get(folder) if below is not None else None
        if listed is None and target is not None and folder in target.hierarchy:
            listed = list(target.resources.get("project", ()))
        for project in listed or ():
            found.setdefault(project, folder)
    return found


def listing_gaps(request: Request, below: Descendants | None) -> list[str]:
    """Why the projects below the request's folder or organization grants were not all read."""
    if below is None:
        return []
    parents = {grant_name(g) for g in request.grants if g.kind in ("folder", "organization")}
    return [gap for parent, gap in below.gaps if parent in parents]


def history_gaps(repo: Repo) -> list[str]:
    """Why the checkout's history cannot date the windows, if it cannot."""
    if is_shallow(repo.root):
        return [
            "the checkout is shallow, so windows without `starts` cannot be dated from main's "
            "history: check out the full history"
        ]
    return []


def resource_names(policy: Policy, items: Sequence[tuple[Request, bool]]) -> list[str]:
    """Every project, folder and organization whose audit logs can hold the grantees' actions."""
    names = set()
    for request, _ in items:
        buckets = (
            policy.targets[request.target].bucket_projects
            if request.target in policy.targets
            else {}
        )
        for grant in request.grants:
            scope = scope_of(grant, buckets)
            if scope is not None:
                kind, name = scope
                names.add(resource_kinds.get(kind).audit.name(name))
    return sorted(names)


def coverage_gaps(subject: ReviewSubject, policy: Policy, audit: AuditCoverage) -> list[str]:
    """Data Access logs that are off where the grant reached: the review cannot be complete."""
    target = policy.targets.get(subject.request.target)
    if target is None:
        return [f"target {subject.request.target} is no longer in the policy"]
    gaps = []
    for grant in subject.request.grants:
        scope = scope_of(grant, target.bucket_projects)
        missing = audit.gaps(scope, target.audit_services) if scope else list(target.audit_services)
        if missing:
            where = f"{scope[0]} {scope[1]}" if scope else f"{grant.kind} {grant.resource}"
            gaps.append(f"Data Access logs are off at {where} for {', '.join(missing)}")
    return gaps


def run(
    repo: Repo,
    policy: Policy,
    lock: RolesLock | None,
    source: EventSource,
    period: Period,
    *,
    longest: timedelta,
    items: Sequence[tuple[Request, bool]],
    track: Track | None = None,
    below: Descendants | None = None,
    reports: LoginReader | None = None,
) -> list[Review]:
    """The reviews of `items`; with the policy's `mfa`, each with its MFA evidence, its logins
    read through `reports` (the Reports API) or from the Login Audit entries of `source`."""
    found = subjects(repo, policy, lock, items, below)
    if not found:
        return []
    principals, start, end = fetch_window(found, until=period.until, longest=longest)
    # The source's gaps are known once it is all read.
    # Only the MFA check reads when each action was; no report reads an event again.
    collected = collect_read(
        source,
        found,
        principals,
        start,
        end,
        grace=period.grace,
        keep_events=False,
        times=policy.mfa is not None,
        track=track,
    )
    audit = read_coverage(repo.terraform)
    history = history_gaps(repo) if any(s.window_start is None for s in found) else []
    reviews = review_collected(
        collected,
        gaps=(*source.gaps, *history),
        principal_gaps=source.principal_gaps,
    )
    reviews = [
        replace(r, gaps=(*r.gaps, *listed))
        if (listed := listing_gaps(r.subject.request, below))
        else r
        for r in reviews
    ]
    reviews = [_with_coverage(r, policy, audit) for r in reviews]
    if policy.mfa is None:
        return reviews
    reader: LoginReader = CarriedLogins(collected.logins)
    if policy.mfa.login_audit == "reports":
        reader = reports or NotRead("no session for the Reports API")
    return [judged(r, reader, policy.mfa) for r in reviews]


def past_retention(
    repo: Repo,
    policy: Policy,
    lock: RolesLock | None,
    items: Sequence[tuple[Request, bool]],
    *,
    grace: timedelta,
    retention: timedelta,
) -> list[Review]:
    """INCOMPLETE reviews of grants whose audit logs are no longer kept: no log is read."""
    why = (
        f"the audit logs of this window are no longer kept (the policy's "
        f"limits.audit_log_retention_days is {retention.days}) and no report was written before: "
        "review it from an archive of the logs, if one was kept, and record the outcome"
    )
    found = subjects(repo, policy, lock, items)
    return review_all(found, iter(()), grace=grace, gaps=(why,)) if found else []


def _with_coverage(item: Review, policy: Policy, audit: AuditCoverage) -> Review:
    missing = coverage_gaps(item.subject, policy, audit)
    if not missing:
        return item
    return replace(item, gaps=(*item.gaps, *missing))
