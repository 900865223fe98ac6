"""`lapse watch` in words: the run's text and JSON, and the incident issues' titles, bodies
and closing comments (start, end, duration, cause and evidence: PCI DSS 10.7.3)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from generator.core.controls import State
from generator.core.formats import Formats
from generator.core.times import format_duration, format_utc, parse_instant
from generator.github.records import hidden_marker
from generator.lifecycle.watch_checks import Watched, WatchReport

_CONTROL = re.compile(r"<!-- lapse:control:([a-z][a-z0-9-]{0,62}) -->")
_SINCE = re.compile(r"<!-- lapse:since:([0-9T:.+Z-]{20,40}) -->")
_CHECKED = "Last checked: "


def issue_key(control: str) -> str:
    return f"control:{control}"


def controls_named(body: str) -> list[str]:
    return _CONTROL.findall(body)


def since_in(body: str) -> datetime | None:
    """The start an incident issue was opened with; None when it holds none that reads."""
    found = _SINCE.search(body)
    try:
        return parse_instant(found.group(1)) if found else None
    except ValueError:
        return None


def incident_title(control: str) -> str:
    return f"Control failure: {control}"


def incident_body(each: Watched, now: datetime) -> str:
    since = each.since or now
    state = "cannot be checked" if each.status.state is State.UNKNOWN else "failing"
    lines = [
        f"The control **{each.control.name}** is {state} (PCI DSS 10.7.2).",
        "",
        f"- What holds when it is ok: {each.control.summary}",
        f"- What lapse reads: {each.control.reads}",
        f"- Started: {format_utc(since)}",
        f"- Cause: {each.status.cause or 'not given'}",
    ]
    if each.status.evidence:
        lines.append(f"- Evidence: {each.status.evidence}")
    lines += [
        "",
        "Restore the control; `lapse watch` closes this issue on the first run that finds it"
        " ok, with the end time and the duration. A planned outage is a dated"
        " `watch.maintenance` entry in policy/policy.yaml (docs/watching.md).",
        "",
        f"{_CHECKED}{format_utc(now)}",
        "",
        hidden_marker(f"since:{format_utc(since)}"),
        hidden_marker(issue_key(each.control.name)),
    ]
    return "\n".join(lines)


def closing_comment(each: Watched, started: datetime, now: datetime) -> str:
    return "\n".join(
        [
            f"Recovered: **{each.control.name}** is ok again.",
            "",
            f"- Started: {format_utc(started)}",
            f"- Ended: {format_utc(now)} (the first run that found it ok)",
            f"- Duration: {format_duration(now - started)}",
            f"- Evidence of recovery: {each.status.evidence or 'the check passed'}",
        ]
    )


def _entry(each: Watched) -> dict[str, Any]:
    window = each.window
    return {
        "control": each.control.name,
        "state": each.status.state.value,
        "since": format_utc(each.since) if each.since else None,
        "cause": each.status.cause or None,
        "evidence": each.status.evidence or None,
        "maintenance": None
        if window is None
        else {
            "from": format_utc(window.starts),
            "until": format_utc(window.ends),
            "reason": window.reason,
        },
        "issue": each.issue,
        "action": each.action or None,
    }


def _json(report: WatchReport) -> str:
    data = {
        "checked_at": format_utc(report.at),
        "failed": report.failed,
        "controls": [_entry(each) for each in report.controls],
    }
    return json.dumps(data, indent=2) + "\n"


def _text(report: WatchReport) -> str:
    lines = [f"lapse watch at {format_utc(report.at)}"]
    for each in report.controls:
        lines.append(f"  {each.status.state.value:<11} {each.control.name}")
        if each.window is not None:
            lines.append(
                f"              maintenance until {format_utc(each.window.ends)}:"
                f" {each.window.reason}"
            )
        elif each.status.state is not State.OK:
            since = f"since {format_utc(each.since)}: " if each.since else ""
            lines.append(f"              {since}{each.status.cause}")
        if each.issue is not None:
            action = f" {each.action}" if each.action else ""
            lines.append(f"              issue #{each.issue}{action}")
    bad = sum(each.status.state in (State.FAILING, State.UNKNOWN) for each in report.controls)
    lines.append(f"{len(report.controls)} controls: {bad} failing or cannot tell")
    return "\n".join(lines) + "\n"


FORMATS: Formats[WatchReport] = Formats({"text": _text, "json": _json})
