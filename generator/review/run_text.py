"""What `lapse review` tells the person at the terminal: findings, accounting, problems.

Pure functions over the JSON reports' data (`report.review_data`), so a report written by an
earlier run reads the same as one written now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from generator.core.model import Problem
from generator.review.sources import Accounting

DEVIATION_LEVELS = ("CRITICAL", "HIGH", "MEDIUM")
# Evidence ids shown per finding in the terminal; the reports list all of them.
_IDS_SHOWN = 3


def exit_code(reports: Sequence[Mapping[str, Any]]) -> int:
    """1 when any report has a deviation (CRITICAL, HIGH or MEDIUM) or is incomplete, else 0."""
    for data in reports:
        if data.get("complete") is not True:
            return 1
        if any(f.get("severity") in DEVIATION_LEVELS for f in _findings(data)):
            return 1
    return 0


def text(
    reports: Sequence[tuple[str, Mapping[str, Any], bool]],
    accounting: Accounting | None,
    problems: Sequence[Problem],
) -> str:
    """(report path, data, already on disk) of each grant, then the accounting and problems."""
    lines = [_problem_line(p) for p in problems]
    for path, data, earlier in reports:
        request = data.get("request") or {}
        worst = data.get("worst") or "no findings"
        state = "complete" if data.get("complete") is True else "INCOMPLETE"
        note = " (reported earlier; --force to review again)" if earlier else ""
        lines.append(f"{request.get('id', '?')}: {worst}, {state} -> {path}{note}")
        for finding in _findings(data):
            evidence = list(finding.get("evidence") or [])
            shown = ", ".join(map(str, evidence[:_IDS_SHOWN]))
            more = f" and {len(evidence) - _IDS_SHOWN} more" if len(evidence) > _IDS_SHOWN else ""
            where = f" [{shown}{more}]" if shown else ""
            severity, kind = finding.get("severity"), finding.get("kind")
            lines.append(f"  {severity} {kind}: {finding.get('message')}{where}")
        for gap in data.get("gaps") or []:
            lines.append(f"  gap: {gap}")
    if accounting is not None:
        lines.append(accounting.summary())
    fresh = sum(1 for _, _, earlier in reports if not earlier)
    lines.append(
        f"{_plural(fresh, 'grant')} reviewed, {_plural(len(reports) - fresh, 'report')} "
        "already on disk"
    )
    return "\n".join(lines) + "\n"


def as_json(
    reports: Sequence[tuple[str, Mapping[str, Any], bool]],
    accounting: Accounting | None,
    problems: Sequence[Problem],
) -> str:
    data = {
        "reviews": [
            {
                "id": (data.get("request") or {}).get("id"),
                "report": path,
                "reported_earlier": earlier,
                "complete": data.get("complete") is True,
                "worst": data.get("worst"),
                "findings": _findings(data),
                "gaps": list(data.get("gaps") or []),
            }
            for path, data, earlier in reports
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
            for p in problems
        ],
        "exit_code": exit_code([data for _, data, _ in reports]),
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def _findings(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = data.get("findings")
    return [f for f in found if isinstance(f, dict)] if isinstance(found, list) else []


def _problem_line(problem: Problem) -> str:
    return f"{problem.path}:{problem.line}:{problem.col}: {problem.rule} {problem.message}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
