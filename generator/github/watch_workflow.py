"""`lapse doctor`'s check of `.github/workflows/watch.yml`: it is there, runs hourly, runs
`lapse watch --open-issues`, authenticates to Google Cloud and has the permissions it needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from generator.core.checklist import CheckItem, missing, ok, wrong

AREA = "watch"
FILE = ".github/workflows/watch.yml"
AUTH_ACTION = "google-github-actions/auth@"
# What each read and write of `lapse watch` needs from the job's GITHUB_TOKEN.
PERMISSIONS = {
    "contents": "read",
    "actions": "read",
    "deployments": "read",
    "pull-requests": "read",
    "issues": "write",
    "id-token": "write",
}
_LEVELS = {"none": 0, "read": 1, "write": 2}
_HOURLY = re.compile(r"^\s*[0-9]{1,2}\s+\*\s+\*\s+\*\s+\*\s*$")
_RUNS = re.compile(r"(?:python\s+(?:-I\s+)?-m\s+generator|\blapse)\s+watch\b[^\n]*--open-issues")
FIX = f"copy {FILE} from the lapse repository (docs/watching.md) and merge it to main"


def watch_workflow_items(root: Path) -> list[CheckItem]:
    path = root / FILE
    try:
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [missing(AREA, FILE, "not there: no control failure is detected", FIX)]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [wrong(AREA, FILE, f"cannot be read: {exc}", FIX)]
    if not isinstance(workflow, dict):
        return [wrong(AREA, FILE, "is not a workflow", FIX)]
    job = _watch_job(workflow)
    items = [_schedule(workflow)]
    if job is None:
        items.append(
            wrong(AREA, f"{FILE} runs lapse watch", "no job runs `watch --open-issues`", FIX)
        )
        return items
    items.append(ok(AREA, f"{FILE} runs lapse watch --open-issues"))
    items += [_permission(job, scope, level) for scope, level in PERMISSIONS.items()]
    items.append(_authenticates(job))
    return items


def _schedule(workflow: dict[Any, Any]) -> CheckItem:
    triggers = workflow.get("on", workflow.get(True))
    schedule = triggers.get("schedule") if isinstance(triggers, dict) else None
    crons = [str(e.get("cron", "")) for e in _dicts(schedule)]
    if any(_HOURLY.match(cron) for cron in crons):
        return ok(AREA, f"{FILE} runs hourly", ", ".join(crons))
    return wrong(
        AREA,
        f"{FILE} runs hourly",
        f"its schedule is {', '.join(crons) or 'none'}",
        'on: schedule: - cron: "41 * * * *" (hourly, off the top of the hour)',
    )


def _watch_job(workflow: dict[Any, Any]) -> dict[str, Any] | None:
    jobs = workflow.get("jobs")
    for job in jobs.values() if isinstance(jobs, dict) else ():
        if not isinstance(job, dict):
            continue
        steps = _dicts(job.get("steps"))
        runs = [str(s.get("run", "")).replace("\\\n", " ") for s in steps]
        if any(_RUNS.search(text) for text in runs):
            found: dict[str, Any] = job
            return found
    return None


def _permission(job: dict[str, Any], scope: str, level: str) -> CheckItem:
    granted = job.get("permissions")
    has = str(granted.get(scope, "none")) if isinstance(granted, dict) else str(granted or "")
    if has == "write-all" or _LEVELS.get(has, 0) >= _LEVELS[level]:
        return ok(AREA, f"the watch job may {level} {scope}")
    return wrong(
        AREA,
        f"the watch job may {level} {scope}",
        f"its permissions give {scope}: {has or 'none'}",
        f"add `{scope}: {level}` to the watch job's permissions in {FILE}",
    )


def _authenticates(job: dict[str, Any]) -> CheckItem:
    steps = _dicts(job.get("steps"))
    if any(str(s.get("uses", "")).startswith(AUTH_ACTION) for s in steps):
        return ok(AREA, "the watch job authenticates to Google Cloud")
    return wrong(
        AREA,
        "the watch job authenticates to Google Cloud",
        "without it the audit-log controls cannot tell",
        "a google-github-actions/auth step as the read-only plan identity, as in drift.yml",
    )


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
