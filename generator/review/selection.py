"""`lapse review`: which grants to review, from which logs, and where the reports go.

A grant is reviewed once its window (plus grace) has ended and until its report is merged:
every run rebuilds the reports that are not on main yet, so the open report pull request
always holds the latest evidence, and a re-run changes nothing else.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import orjson

from generator.checks.rules.audit import scope_of
from generator.checks.validate import archived_requests, readable_requests
from generator.core.model import Event, Policy, Request, Severity
from generator.core.repo import Repo
from generator.core.times import format_utc
from generator.gcp.roles import RolesLock
from generator.review.analysis import Review, ReviewSubject, fetch_window, review_all
from generator.review.report import json_report, markdown_report, report_path, summary_report
from generator.review.sources import EventSource
from generator.terraform.audit_coverage import AuditCoverage, read_coverage

if TYPE_CHECKING:
    from generator.github.records import ReviewInfo

BRANCH = "lapse/review"
INCIDENT_LABELS = ("security-incident", "lapse-review")
DEVIATIONS = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM)
TrackFn = Callable[[Iterator[Event]], Iterator[Event]]


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime
    until: datetime
    grace: timedelta


def due(repo: Repo, period: Period) -> list[tuple[Request, bool]]:
    """(request, archived) whose window ended in the period, grace included, without a report."""
    active = readable_requests(repo, repo.request_files())
    found = [(r, False) for r in active] + [(r, True) for r in archived_requests(repo)]
    return sorted(
        ((request, archived) for request, archived in found if _due(repo, request, period)),
        key=lambda item: (item[0].window.expires, item[0].id),
    )


def _due(repo: Repo, request: Request, period: Period) -> bool:
    ended = request.window.expires
    if not period.since <= ended or ended + period.grace > period.until:
        return False
    month = ended.strftime("%Y-%m")
    return not _complete(repo.reports / request.target / month / f"{request.id}.json")


def _complete(report: Path) -> bool:
    """A complete report is final; an incomplete or unreadable one is reviewed again."""
    try:
        return orjson.loads(report.read_bytes()).get("complete") is True
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return False


def subjects(
    repo: Repo, policy: Policy, lock: RolesLock | None, items: Sequence[tuple[Request, bool]]
) -> list[ReviewSubject]:
    permissions = {name: frozenset(info.permissions) for name, info in (lock or {}).items()}
    return [
        ReviewSubject(
            request=request,
            archived=archived,
            permissions_by_role=permissions,
            merged_at=merged_at(repo.root, request),
            project_of=policy.targets[request.target].bucket_projects
            if request.target in policy.targets
            else {},
        )
        for request, archived in items
    ]


def merged_at(root: Path, request: Request) -> datetime | None:
    """When the request reached main: the commit that added it (None outside git)."""
    try:
        done = subprocess.run(
            ["git", "log", "--diff-filter=A", "--format=%cI", "--", request.path],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    lines = done.stdout.split()
    return datetime.fromisoformat(lines[-1]) if done.returncode == 0 and lines else None


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
                names.add(
                    {"project": f"projects/{name}", "organization": f"organizations/{name}"}.get(
                        kind, name
                    )
                )
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
    track: TrackFn | None = None,
) -> list[Review]:
    items = due(repo, period)
    found = subjects(repo, policy, lock, items)
    if not found:
        return []
    principals, start, end = fetch_window(found, until=period.until, longest=longest)
    stream: Iterator[Event] = source.events(principals, start, end)
    events = list(track(stream) if track else stream)  # gaps are known once fully read
    audit = read_coverage(repo.terraform)
    reviews = review_all(found, events, grace=period.grace, gaps=tuple(source.gaps))
    return [_with_coverage(r, policy, audit) for r in reviews]


def _with_coverage(item: Review, policy: Policy, audit: AuditCoverage) -> Review:
    missing = coverage_gaps(item.subject, policy, audit)
    if not missing:
        return item
    return replace(item, gaps=(*item.gaps, *missing))


Approvals = Mapping[str, Mapping[str, object]]


class GitHubReader(Protocol):
    def reviews(self, number: int) -> list[ReviewInfo]: ...


def approval_evidence(
    github: GitHubReader, pull_of: Callable[[str], int | None], request: Request
) -> dict[str, object]:
    """Who approved the pull request that added the request, on which commit, when."""
    number = pull_of(f"requests/{request.target}/{request.id}.yaml")
    if number is None:
        return {"pull request": "not found in the history"}
    approved = [r for r in github.reviews(number) if r.state == "APPROVED"]
    return {
        "pull request": f"#{number}",
        "approved by": sorted({r.user_login or "?" for r in approved}),
        "review ids": [r.id for r in approved],
        "approved on commits": sorted({(r.commit_id or "")[:12] for r in approved}),
        "submitted": [r.submitted_at for r in approved if r.submitted_at is not None],
    }


def report_files(
    reviews: Sequence[Review], period: Period, approvals: Approvals | None = None
) -> dict[str, str]:
    """Repository path -> text of every report of this run, summary included."""
    files: dict[str, str] = {}
    for item in reviews:
        approval = (approvals or {}).get(item.subject.request.id)
        files[str(report_path(item, "md"))] = markdown_report(item, approval)
        files[str(report_path(item, "json"))] = json_report(item, approval)
    if reviews:
        markdown, data = summary_report(reviews, period.since, period.until)
        day = period.until.strftime("%Y-%m-%d")
        files[f"reports/summary/{day}.md"] = markdown
        files[f"reports/summary/{day}.json"] = data
    return files


def deviations(item: Review) -> bool:
    return any(f.severity in DEVIATIONS for f in item.findings)


def incident_body(item: Review, report: str) -> str:
    request = item.subject.request
    worst = item.worst.value if item.worst else "none"
    lines = [
        f"The post-access review of `{request.id}` found deviations from the approved scope "
        f"(worst: **{worst}**).",
        "",
        f"- Requester: `{request.requester}`; ticket `{request.ticket}`",
        f"- Window: until {format_utc(request.window.expires)}",
        f"- Report: [`{report}`]({report})",
        "",
        "| severity | finding | evidence (log entry ids) |",
        "|---|---|---|",
    ]
    lines += [
        f"| {f.severity.value} | {_cell(f.message)} | {_cell(', '.join(f.evidence[:5]))} |"
        for f in item.findings
        if f.severity in DEVIATIONS
    ]
    lines += [
        "",
        "Follow the incident response plan (PCI DSS v4.0.1 requirement 12.10): confirm with the "
        "requester, contain (revoke anything left behind), and record the outcome here. "
        "Closing this issue without a note leaves the deviation unexplained for the assessor "
        "(10.4.3).",
    ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def report_of(item: Review) -> str:
    return str(report_path(item, "md"))


def pr_body(reviews: Sequence[Review], period: Period) -> str:
    lines = [
        f"Post-access reviews of {len(reviews)} grants whose windows ended between "
        f"{format_utc(period.since)} and {format_utc(period.until)}.",
        "",
        "Approvers of each target own its reports: read what was done against what was "
        "approved, and merge this pull request as the sign-off (PCI DSS v4.0.1 7.2.4, 10.4.1).",
        "",
        "| request | requester | worst finding | complete |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| [`{r.subject.request.id}`]({report_of(r)}) | `{r.subject.request.requester}` | "
        f"{r.worst.value if r.worst else 'none'} | {'yes' if r.complete else '**INCOMPLETE**'} |"
        for r in reviews
    ]
    return "\n".join(lines) + "\n"
