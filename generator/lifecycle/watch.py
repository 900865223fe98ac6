"""`lapse watch`: each control of `core.controls` checked, and one incident issue per failure.

A control is ok, failing (since when, why), cannot tell (a read failed: never ok) or silenced
by a maintenance window of the policy, which covers only the control it names and only between
its dates (a silenced control is not checked, and its issue is left as it is).

Incidents (PCI DSS 10.7.2, 10.7.3): a failing control gets one open issue, found again by the
marker in its body; its body is kept current while the failure lasts and keeps the start time
it was opened with; the run that finds the control ok again closes it with the end time, the
duration and the evidence. A control that cannot be told opens an issue only once it has been
so for `watch.cannot_tell_limit`, counted from the run that first could not tell it (the
`Memory` the workflow keeps between runs), and never closes one.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from generator.core.controls import REGISTRY, Control, State, Status, cannot_tell
from generator.core.errors import LapseError
from generator.core.times import format_utc, parse_instant
from generator.core.writing import write_file
from generator.github.watch_reads import Item
from generator.lifecycle import watch_text
from generator.lifecycle.watch_checks import Watched, Watching

LABELS = ("lapse-control-failure", "security-incident")
Memory = dict[str, tuple[State, datetime]]  # control -> (its not-ok state, since when)


class Issues(Protocol):
    def own_open_issues(self, label: str) -> list[Item]: ...
    def open_once(self, key: str, title: str, body: str, labels: Sequence[str]) -> int: ...
    def set_body(self, number: int, key: str, body: str) -> None: ...
    def close(self, number: int, key: str, comment: str) -> None: ...


def check_controls(w: Watching, memory: Memory, only: Sequence[str] = ()) -> list[Watched]:
    """Every control (or those named in `only`), checked or silenced."""
    found = []
    for control in REGISTRY.values():
        if only and control.name not in only:
            continue
        window = w.policy.watch.window_for(control.name, w.now)
        if window is not None:
            silenced = Status(State.SILENCED, cause=window.reason)
            found.append(Watched(control, silenced, None, window))
            continue
        status = checked(control, w)
        remembered = memory.get(control.name)
        since = status.since
        if since is None and status.state is not State.OK:
            since = remembered[1] if remembered and remembered[0] is status.state else w.now
        found.append(Watched(control, status, since))
    return found


def checked(control: Control, w: Watching) -> Status:
    module, _, name = control.check.partition(":")
    check: Callable[[Watching], Status] = getattr(importlib.import_module(module), name)
    try:
        return check(w)
    except LapseError as exc:  # a read that failed, or git that could not answer
        return cannot_tell(str(exc))


def reconcile(
    watched: list[Watched], issues: Issues, now: datetime, unknown_limit: timedelta
) -> list[Watched]:
    """Open, update or close each control's incident issue; the controls with what was done."""
    open_issues: dict[str, Item] = {}
    for item in issues.own_open_issues(LABELS[0]):
        for name in watch_text.controls_named(item.body):
            open_issues.setdefault(name, item)
    done = []
    for each in watched:
        issue = open_issues.get(each.control.name)
        done.append(_reconcile_one(each, issue, issues, now, unknown_limit))
    return done


def _reconcile_one(
    each: Watched, issue: Item | None, issues: Issues, now: datetime, limit: timedelta
) -> Watched:
    name, state = each.control.name, each.status.state
    key = watch_text.issue_key(name)
    if state is State.SILENCED:
        return replace(each, issue=issue.number if issue else None)
    if state is State.OK:
        if issue is None:
            return each
        started = watch_text.since_in(issue.body) or issue.created_at
        issues.close(issue.number, key, watch_text.closing_comment(each, started, now))
        return replace(each, issue=issue.number, action="closed")
    since = (watch_text.since_in(issue.body) if issue else None) or each.since or now
    each = replace(each, since=since)
    body = watch_text.incident_body(each, now)
    if issue is not None:
        issues.set_body(issue.number, key, body)  # the cause as now, and when it was checked
        return replace(each, issue=issue.number, action="updated")
    if state is State.UNKNOWN and now - since < limit:
        return each
    number = issues.open_once(key, watch_text.incident_title(name), body, LABELS)
    return replace(each, issue=number, action="opened")


# --- the memory kept between runs --------------------------------------------------------


def read_memory(path: Path | None) -> Memory:
    """The states a previous run remembered; a missing or unreadable file remembers nothing
    (an unknown state's clock then starts again: later, never sooner, an issue)."""
    if path is None or not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            str(name): (State(entry["state"]), parse_instant(entry["since"]))
            for name, entry in raw["controls"].items()
            if entry["state"] in (State.FAILING, State.UNKNOWN)
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def write_memory(path: Path, watched: list[Watched], before: Memory) -> None:
    """This run's not-ok states; a control this run did not check keeps what it had."""
    checked = {each.control.name for each in watched}
    kept = {
        name: {"state": state.value, "since": format_utc(since)}
        for name, (state, since) in before.items()
        if name not in checked
    }
    for each in watched:
        if each.since is not None and each.status.state in (State.FAILING, State.UNKNOWN):
            kept[each.control.name] = {
                "state": each.status.state.value,
                "since": format_utc(each.since),
            }
    write_file(path, json.dumps({"controls": kept}, indent=2, sort_keys=True) + "\n")
