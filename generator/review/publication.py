"""What a review run publishes: report files, the report pull request's body, incident issues.

Every value that comes from a log entry or a request file is escaped (`escaping`) before it
reaches Markdown: an issue body is read on GitHub like a report, and a log entry's text is
written by whoever caused it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from generator.core.model import Request
from generator.core.request_paths import request_path
from generator.core.times import format_duration, format_utc
from generator.review.analysis import Review
from generator.review.escaping import code, md
from generator.review.outcome import DEVIATIONS
from generator.review.report import report_path, reports, summary_report
from generator.review.selection import Period

if TYPE_CHECKING:
    from generator.github.records import ReviewInfo

BRANCH = "lapse/review"
INCIDENT_LABELS = ("security-incident", "lapse-review")


Approvals = Mapping[str, Mapping[str, object]]


class GitHubReader(Protocol):
    def reviews(self, number: int) -> list[ReviewInfo]: ...


def approval_evidence(
    github: GitHubReader,
    pull_of: Callable[[str], int | None],
    request: Request,
    changes_of: Callable[[str], list[int]] | None = None,
) -> dict[str, object]:
    """Who approved the pull request that added the request, on which commit, when; for an
    extended request, also who approved each pull request that extended it."""
    path = request_path(request.target, request.id, emergency=request.emergency)
    number = pull_of(path)
    found: dict[str, object] = extension_evidence(request)
    if number is None:
        return {"pull request": "not found in the history", **found}
    approved = [r for r in github.reviews(number) if r.state == "APPROVED"]
    found |= {
        "pull request": f"#{number}",
        "approved by": sorted({r.user_login or "?" for r in approved}),
        "review ids": [r.id for r in approved],
        "approved on commits": sorted({(r.commit_id or "")[:12] for r in approved}),
        "submitted": [r.submitted_at for r in approved if r.submitted_at is not None],
    }
    if request.extensions and changes_of is not None:
        found["extension approvals"] = [
            _pull_approval(github, later) for later in changes_of(path) if later != number
        ] or ["none found in the history"]
    return found


def extension_evidence(request: Request) -> dict[str, object]:
    """The extensions of one grant's window, as the request file records them."""
    if not request.extensions:
        return {}
    return {
        "first expires": request.first_expires,
        "extensions": [
            f"{format_utc(e.at)}: +{format_duration(e.by)} ({e.reason})" for e in request.extensions
        ],
    }


def _pull_approval(github: GitHubReader, number: int) -> str:
    approved = [r for r in github.reviews(number) if r.state == "APPROVED"]
    if not approved:
        return f"#{number}: no approval"
    who = ", ".join(sorted({r.user_login or "?" for r in approved}))
    commits = ", ".join(sorted({(r.commit_id or "")[:12] for r in approved}))
    return f"#{number} approved by {who} on {commits}"


def report_texts(
    reviews: Sequence[Review],
    period: Period,
    approvals: Approvals | None = None,
    taken: Callable[[str], bool] = lambda _: False,
) -> Iterator[tuple[str, str]]:
    """(repository path, text) of every report of this run, one at a time, summary last.

    A summary never replaces one that is `taken` (on main): a second run of a day after the
    first was merged writes `<day>.2.md`, and so on.
    """
    yield from review_texts(reviews, approvals)
    yield from summary_texts(reviews, period, taken)


def review_texts(
    reviews: Sequence[Review], approvals: Approvals | None = None
) -> Iterator[tuple[str, str]]:
    """(repository path, text) of each review's Markdown and JSON reports."""
    for item in reviews:
        approval = (approvals or {}).get(item.subject.request.id)
        markdown, data = reports(item, approval)
        yield str(report_path(item, "md")), markdown
        yield str(report_path(item, "json")), data


def summary_texts(
    reviews: Sequence[Review], period: Period, taken: Callable[[str], bool] = lambda _: False
) -> Iterator[tuple[str, str]]:
    """(repository path, text) of the run's summary, Markdown and JSON: none without reviews."""
    if reviews:
        markdown, data = summary_report(reviews, reach(reviews, period), period.until)
        day, edition = period.until.strftime("%Y-%m-%d"), 1
        while taken(_summary(day, edition, "md")) or taken(_summary(day, edition, "json")):
            edition += 1
        yield _summary(day, edition, "md"), markdown
        yield _summary(day, edition, "json"), data


def _summary(day: str, edition: int, suffix: str) -> str:
    return (
        f"reports/summary/{day}.{suffix}"
        if edition == 1
        else f"reports/summary/{day}.{edition}.{suffix}"
    )


def reach(reviews: Sequence[Review], period: Period) -> datetime:
    """Where this run's reviews begin: the period's start, or an earlier grant still due."""
    return min([period.since, *(r.window_end for r in reviews)])


def deviations(item: Review) -> bool:
    return any(f.severity in DEVIATIONS for f in item.findings)


def incident_body(item: Review, report: str) -> str:
    request = item.subject.request
    worst = item.worst.value if item.worst else "none"
    lines = [
        f"The post-access review of {code(request.id)} found deviations from the approved scope "
        f"(worst: **{worst}**).",
        "",
        f"- Requester: {md(request.requester)}; ticket {md(request.ticket)}",
        f"- Window: until {format_utc(request.window.expires)}",
        f"- Report: {code(report)}",
        "",
        "| severity | finding | evidence (log entry ids) |",
        "|---|---|---|",
    ]
    lines += [
        f"| {f.severity.value} | {md(f.message)} | {', '.join(code(e) for e in f.evidence[:5])} |"
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


def report_of(item: Review) -> str:
    return str(report_path(item, "md"))


def pr_body(reviews: Sequence[Review], period: Period) -> str:
    lines = [
        f"Post-access reviews of {len(reviews)} grants whose windows ended between "
        f"{format_utc(reach(reviews, period))} and {format_utc(period.until)}.",
        "",
        "Approvers of each target own its reports: read what was done against what was "
        "approved, and merge this pull request as the sign-off (PCI DSS v4.0.1 7.2.4, 10.4.1).",
        "Reports of earlier runs stay on this branch until it is merged; the table lists the "
        "latest run's.",
        "",
        "| request | requester | worst finding | complete |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {code(r.subject.request.id)} ({code(report_of(r))}) | "
        f"{md(r.subject.request.requester)} | "
        f"{r.worst.value if r.worst else 'none'} | {'yes' if r.complete else '**INCOMPLETE**'} |"
        for r in reviews
    ]
    return "\n".join(lines) + "\n"
