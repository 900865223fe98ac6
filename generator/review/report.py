"""Review reports: Markdown for approvers to sign off, JSON for machines and auditors.

Both are pure functions of the review (no clock, sorted keys), so a re-run writes the same bytes
and the report pull request shows no churn. Every value that comes from a log entry or a request
file is escaped by `escaping` before it reaches Markdown or Mermaid.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import orjson
from markupsafe import Markup

from generator.core import pages
from generator.core.model import Finding
from generator.review.action_rows import fold, folded, json_rows
from generator.review.analysis import SEVERITY_ORDER, ActionCount, Review, severity_counts
from generator.review.escaping import code, md, mermaid
from generator.review.ledger import busiest
from generator.review.logins import MfaEvidence
from generator.review.outcome import (
    exit_code,  # noqa: F401 - a report's exit code, defined there
    finding_data,
)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "review"
SCHEMA = "lapse.review/1"
SUMMARY_SCHEMA = "lapse.review-summary/1"
# The Markdown lists this many evidence ids per finding; the JSON report has all of them.
EVIDENCE_SHOWN = 10
# A gantt chart with more bars than this is unreadable; the tables below it list everything.
GANTT_TASKS = 15
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# Which PCI DSS v4.0.1 requirement each part of a report evidences (paraphrased, never quoted).
PCI_DSS: tuple[tuple[str, str, str], ...] = (
    (
        "7.2.4",
        "Request, Approval",
        "access privileges are reviewed: approvers sign off this report",
    ),
    ("10.2.1", "Actions", "individual user actions are captured by Cloud Audit Logs"),
    ("10.4.1", "Actions, Deviations", "audit logs of this access were reviewed against its scope"),
    ("10.4.3", "Deviations", "exceptions and anomalies are identified, with evidence to follow up"),
    ("12.10.x", "Deviations", "CRITICAL and HIGH deviations start the incident response process"),
    ("8.2.6, 8.2.7", "Window", "access ends when no longer needed: expiry and use after it"),
)


def report_path(review: Review, suffix: str, edition: int | None = None) -> PurePosixPath:
    """`reports/<target>/<yyyy-mm of the window end>/<id>.<suffix>`, or `<id>.<edition>.<suffix>`
    for a grant reviewed again after a report of it reached main."""
    request = review.subject.request
    for part in (request.target, request.id, suffix):
        if not _SAFE_NAME.match(part):
            raise ValueError(f"{part!r} cannot be part of a report path")
    month = review.window_end.astimezone(UTC).strftime("%Y-%m")
    number = review.edition if edition is None else edition
    name = f"{request.id}.{suffix}" if number == 1 else f"{request.id}.{number}.{suffix}"
    return PurePosixPath("reports", request.target, month, name)


def next_edition(review: Review, taken: Callable[[str], bool]) -> Review:
    """`review` as the first edition of its report that no file (on main) holds yet."""
    edition = 1
    while any(taken(str(report_path(review, suffix, edition))) for suffix in ("md", "json")):
        edition += 1
    return replace(review, edition=edition)


def reports(review: Review, approval: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """(Markdown, JSON) of one review: `markdown_report` and `json_report`, its actions read
    from the ledger once for both.

    The rows are read as the ledger holds them (`Review.listed`): each JSON row is made from
    one straight away, its times written from their microseconds, and only the rows the
    Markdown shows after folding become `ActionCount`s (`action_rows`). `test_report_paths`
    holds both reports to `markdown_report` and `json_report`."""
    listed = review.listed(after=False), review.listed(after=True)
    data = review_data(review, approval, actions=False)
    data["actions"], data["actions_after"] = (json_rows(busiest(rows)) for rows in listed)
    return _render(review, approval, folded(listed[0]), folded(listed[1])), _dumps(data)


def markdown_report(review: Review, approval: Mapping[str, Any] | None = None) -> str:
    return _markdown(review, approval, review.actions, review.actions_after)


def _markdown(
    review: Review,
    approval: Mapping[str, Any] | None,
    read: Sequence[ActionCount],
    read_after: Sequence[ActionCount],
) -> str:
    return _render(review, approval, fold(read), fold(read_after))


def _render(
    review: Review,
    approval: Mapping[str, Any] | None,
    actions: Sequence[ActionCount],
    actions_after: Sequence[ActionCount],
) -> str:
    """The Markdown of a review whose actions are folded (`fold`)."""
    return _template("report.md.j2").render(
        review=review,
        request=review.subject.request,
        approval=_approval_rows(approval),
        findings=[_finding_view(f) for f in review.findings],
        gantt=_gantt(review, actions, actions_after),
        actions=actions,
        actions_after=actions_after,
        action_rows=_action_rows(actions),
        action_rows_after=_action_rows(actions_after),
        pci=PCI_DSS,
        mfa=mfa_data(review.mfa) if review.mfa is not None else None,
    )


def json_report(review: Review, approval: Mapping[str, Any] | None = None) -> str:
    return _dumps(review_data(review, approval))


def review_data(
    review: Review, approval: Mapping[str, Any] | None = None, *, actions: bool = True
) -> dict[str, Any]:
    """The JSON report as data; without `actions`, its rows per resource are left out."""
    request = review.subject.request
    data = {
        "schema": SCHEMA,
        "request": {
            "id": request.id,
            "target": request.target,
            "path": request.path,
            "requester": request.requester,
            "reason": request.reason,
            "ticket": request.ticket,
            "starts": _iso(request.window.starts),
            "expires": _iso(request.window.expires),
            "grants": [
                {"role": g.role, "kind": g.kind, "resource": g.resource} for g in request.grants
            ],
        },
        "archived": review.subject.archived,
        "approval": dict(approval) if approval is not None else None,
        "window": {
            "start": _iso(review.window_start),
            "start_from": review.subject.start_evidence,
            "end": _iso(review.window_end),
            "grace_seconds": int(review.grace.total_seconds()),
        },
        "complete": review.complete,
        "gaps": list(review.gaps),
        "events": {"in_window": review.count_in_window, "after": review.count_after},
        "findings": [finding_data(f) for f in review.findings],
        "worst": review.worst.value if review.worst else None,
        "pci_dss": [{"requirement": r, "parts": p, "evidence": e} for r, p, e in PCI_DSS],
    }
    if review.mfa is not None:
        data["mfa"] = mfa_data(review.mfa)
    if actions:  # each read is a query of the review's ledger
        data.update(_actions_data(review.actions, review.actions_after))
    return data


def _actions_data(
    actions: Sequence[ActionCount], actions_after: Sequence[ActionCount]
) -> dict[str, Any]:
    return {
        "actions": [_action_data(a) for a in actions],
        "actions_after": [_action_data(a) for a in actions_after],
    }


def mfa_data(evidence: MfaEvidence) -> dict[str, Any]:
    """The MFA evidence as the JSON report writes it."""
    return {
        "read_from": evidence.read_from,
        "since": _iso(evidence.since),
        "until": _iso(evidence.until),
        "actions": evidence.actions,
        "unbacked": evidence.unbacked,
        "methods": list(evidence.methods),
        "logins": [
            {
                "at": _iso(login.at),
                "login_type": login.login_type,
                "methods": list(login.methods),
                "second_factor": login.second_factor,
                "evidence": login.evidence,
            }
            for login in evidence.logins
        ],
    }


def summary_report(reviews: Iterable[Review], since: datetime, until: datetime) -> tuple[str, str]:
    """(Markdown, JSON) for the reviews whose window ended in [since, until)."""
    chosen = sorted(
        (r for r in reviews if since <= r.window_end < until),
        key=lambda r: (r.window_end, r.subject.request.target, r.subject.request.id),
    )
    data = _summary_data(chosen, since, until)
    markdown = _template("summary.md.j2").render(
        reviews=chosen, totals=data["totals"], since=since, until=until
    )
    return markdown, _dumps(data)


def _summary_data(reviews: Sequence[Review], since: datetime, until: datetime) -> dict[str, Any]:
    totals = severity_counts(f for r in reviews for f in r.findings)
    return {
        "schema": SUMMARY_SCHEMA,
        "since": _iso(since),
        "until": _iso(until),
        "totals": {
            "reviews": len(reviews),
            "incomplete": sum(not r.complete for r in reviews),
            **{s.value: totals.get(s, 0) for s in SEVERITY_ORDER},
        },
        "reviews": [_summary_row(r) for r in reviews],
    }


def _summary_row(review: Review) -> dict[str, Any]:
    request = review.subject.request
    counts = severity_counts(review.findings)
    return {
        "id": request.id,
        "target": request.target,
        "requester": request.requester,
        "window_end": _iso(review.window_end),
        "events": review.count_in_window + review.count_after,
        "complete": review.complete,
        "worst": review.worst.value if review.worst else None,
        "findings": {s.value: counts.get(s, 0) for s in SEVERITY_ORDER},
        "report": str(report_path(review, "md")),
    }


def _action_data(action: ActionCount) -> dict[str, Any]:
    return {
        "service": action.service,
        "method": action.method,
        "resource": action.resource,
        "count": action.count,
        "denied": action.denied,
        "first": _iso(action.first),
        "last": _iso(action.last),
    }


def _finding_view(finding: Finding) -> dict[str, Any]:
    shown = finding.evidence[:EVIDENCE_SHOWN]
    return {
        "finding": finding,
        "shown": shown,
        "more": len(finding.evidence) - len(shown),
    }


def _approval_rows(approval: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if approval is None:
        return []
    rows = [(str(key), _approval_value(value)) for key, value in approval.items()]
    return sorted(rows)


def _approval_value(value: Any) -> str:
    if isinstance(value, datetime):
        return _iso(value) or ""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def _gantt(
    review: Review, actions: Sequence[ActionCount], actions_after: Sequence[ActionCount]
) -> dict[str, Any]:
    """Bars for the window and the busiest (folded) actions; the tables list every action."""
    start = review.window_start or review.first_event_at or review.window_end - timedelta(hours=1)
    rows = [(a, False) for a in actions] + [(a, True) for a in actions_after]
    shown = sorted(rows, key=lambda pair: -pair[0].count)[:GANTT_TASKS]
    tasks = [
        {
            # The number first and the resource's end: labels stay distinct when cut short.
            "name": f"{index} {_short(action.method or action.service)} {_tail(action.resource)}",
            "state": "crit" if after else "done",
            "start": _gantt_time(action.first),
            "end": _gantt_time(max(action.last, action.first + timedelta(minutes=1))),
        }
        for index, (action, after) in enumerate(sorted(shown, key=lambda p: p[0].first), 1)
    ]
    return {
        "start": _gantt_time(start),
        "end": _gantt_time(review.window_end),
        "grace_end": _gantt_time(review.window_end + review.grace),
        "tasks": tasks,
        "lines": _task_lines(tasks),
        "hidden": len(rows) - len(shown),
    }


def _action_rows(actions: Sequence[ActionCount]) -> Markup:
    """The rows of an actions table, as a template loop would write them (one line each,
    identifiers through `code`): joined here, a report's hundreds of rows cost no template
    work each."""
    return Markup(  # noqa: S704 - made of `code` spans, numbers and times
        "\n".join(
            f"| {code(a.service)} | {code(a.method)} | {code(a.resource)} | {a.count} | "
            f"{a.denied} | {_iso(a.first)} | {_iso(a.last)} |"
            for a in actions
        )
    )


def _task_lines(tasks: Sequence[Mapping[str, str]]) -> Markup:
    """The gantt chart's activity lines, each task's name through `mermaid`."""
    return Markup(  # noqa: S704 - made of `mermaid` names, states and times
        "\n".join(
            f"    {mermaid(t['name'])} :{t['state']}, {t['start']}, {t['end']}" for t in tasks
        )
    )


def _short(method: str) -> str:
    return method.rsplit(".", 2)[-2] + "." + method.rsplit(".", 1)[-1] if "." in method else method


def _tail(resource: str) -> str:
    parts = [p for p in resource.split("/") if p]
    return "/".join(parts[-2:]) if len(parts) > 2 else resource


def _gantt_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _iso(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, microseconds only when there are some."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # `...T10:00:00+00:00`, or `...T10:00:00.000001+00:00`: microseconds only when there are
    # some. A report writes two for each of its action rows, by the thousand.
    return f"{moment.isoformat()[:-6]}Z"


def _dumps(data: Mapping[str, Any]) -> str:
    option = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(data, option=option, default=str).decode() + "\n"


@functools.cache
def _template(name: str) -> jinja2.Template:
    """A template loaded once a run: a review renders hundreds of reports from it."""
    return _environment().get_template(name)


@functools.cache
def _environment() -> jinja2.Environment:
    # Autoescape stays on: a value that skipped the Markdown filters is still HTML-escaped.
    env = pages.environment(TEMPLATES)
    env.filters.update(md=md, code=code, mermaid=mermaid, iso=_iso)
    return env
