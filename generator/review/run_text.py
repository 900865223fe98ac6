"""What `lapse review` tells the person at the terminal: findings, accounting, problems.

Pure functions of the run's typed report (`outcome.ReviewRun`), so a report written by an
earlier run reads the same as one written now.
"""

from __future__ import annotations

import orjson

from generator.core.formats import Formats
from generator.core.model import Problem
from generator.core.tables import fit_lines
from generator.review.outcome import ReviewRun, finding_data

# Evidence ids shown per finding in the terminal; the reports list all of them.
_IDS_SHOWN = 3


def text(run: ReviewRun) -> str:
    """Each grant's report (path, findings, gaps), then the accounting and problems, folded to
    the terminal's width."""
    lines = [_problem_line(p) for p in run.problems]
    for grant in run.grants:
        worst = grant.worst.value if grant.worst else "no findings"
        state = "complete" if grant.complete else "INCOMPLETE"
        note = " (reported earlier; --force to review again)" if grant.reported_earlier else ""
        lines.append(f"{grant.request_id or '?'}: {worst}, {state} -> {grant.path}{note}")
        for finding in grant.findings:
            evidence = finding.evidence
            shown = ", ".join(evidence[:_IDS_SHOWN])
            more = f" and {len(evidence) - _IDS_SHOWN} more" if len(evidence) > _IDS_SHOWN else ""
            where = f" [{shown}{more}]" if shown else ""
            severity, kind = finding.severity.value, finding.kind
            lines.append(f"  {severity} {kind}: {finding.message}{where}")
        for gap in grant.gaps:
            lines.append(f"  gap: {gap}")
    if run.accounting is not None:
        lines.append(run.accounting.summary())
    fresh = sum(1 for g in run.grants if not g.reported_earlier)
    lines.append(
        f"{_plural(fresh, 'grant')} reviewed, {_plural(len(run.grants) - fresh, 'report')} "
        "already on disk"
    )
    return fit_lines("\n".join(lines) + "\n")


def as_json(run: ReviewRun) -> str:
    accounting = run.accounting
    data = {
        "reviews": [
            {
                "id": grant.request_id,
                "report": grant.path,
                "reported_earlier": grant.reported_earlier,
                "complete": grant.complete,
                "worst": grant.worst.value if grant.worst else None,
                "findings": [finding_data(f) for f in grant.findings],
                "gaps": list(grant.gaps),
            }
            for grant in run.grants
        ],
        "accounting": None
        if accounting is None
        else {
            "read": accounting.read,
            "events": accounting.events,
            "other_principals": accounting.other_principals,
            "out_of_period": accounting.out_of_period,
            "unreadable": [{"where": w, "reason": r} for w, r in accounting.unreadable],
        },
        "problems": [
            {"path": p.path, "line": p.line, "col": p.col, "rule": p.rule, "message": p.message}
            for p in run.problems
        ],
        "exit_code": run.reports_exit_code,
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


FORMATS: Formats[ReviewRun] = Formats({"text": text, "json": as_json})


def _problem_line(problem: Problem) -> str:
    return f"{problem.path}:{problem.line}:{problem.col}: {problem.rule} {problem.message}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
