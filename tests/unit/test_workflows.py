"""The GitHub Actions workflows keep their security rules.

Two linters (zizmor for workflow security, check-jsonschema for the workflow schema) and
structural checks that fail when one of the project's own rules is broken: top-level
`permissions: {}`, actions pinned to full commit SHAs with a version comment, no
`pull_request_target`, no expressions inside `run:`, crons off the top of the hour, an apply that
is never cancelled, a timeout on every job, and checkouts that do not keep the token.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
EXPECTED = {"validate", "apply", "expire", "review", "drift", "ci"}

PINNED_USES = re.compile(
    r"^\s*(?:-\s+)?uses:\s*(?P<action>[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+)"
    r"@(?P<sha>[0-9a-f]{40})\s+#\s*(?P<version>v\d+(?:\.\d+){0,2})\s*$"
)
UNTRUSTED = re.compile(r"github\.event|github\.head_ref|github\.base_ref|inputs\.")
WRITE_ALLOWED_WITH_PR_CODE = {"id-token"}


def tool(name: str) -> str:
    """The executable `name`, next to this interpreter first (a virtualenv), then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install the project with its dev extra")
    return found


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The `on:` block; YAML 1.1 reads the bare key `on` as the boolean True."""
    raw = workflow.get("on", workflow.get(True))
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return dict.fromkeys(raw)
    assert isinstance(raw, dict), "workflow has no `on:` triggers"
    return raw


def jobs(workflow: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    found = workflow.get("jobs")
    assert isinstance(found, dict) and found, "workflow has no jobs"
    return found


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def run_tool(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)


def test_the_project_workflows_are_all_there() -> None:
    assert {p.stem for p in FILES} >= EXPECTED


def test_zizmor_finds_nothing() -> None:
    result = run_tool(
        [
            tool("zizmor"),
            "--offline",
            "--min-severity",
            "medium",
            "--format",
            "json",
            "--no-progress",
            str(WORKFLOWS.relative_to(ROOT)),
        ]
    )
    report = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    try:
        findings = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"zizmor did not print JSON\n{report}")
    assert findings == [], report
    assert result.returncode == 0, report


def test_workflows_match_the_github_schema() -> None:
    result = run_tool(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *(str(p.relative_to(ROOT)) for p in FILES),
        ]
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_top_level_permissions_are_empty(path: Path) -> None:
    workflow = load(path)
    assert "permissions" in workflow, "top-level permissions missing"
    assert workflow["permissions"] == {}, "top-level permissions must be {}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_job_permissions_are_explicit_scopes(path: Path) -> None:
    for name, job in jobs(load(path)).items():
        granted = job.get("permissions")
        assert isinstance(granted, dict), f"{name}: permissions must list scopes"
        for scope, level in granted.items():
            assert level in {"read", "write", "none"}, f"{name}: {scope}: {level}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_every_uses_is_pinned_to_a_commit_with_a_version_comment(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    uses_lines = [line for line in lines if re.match(r"^\s*(?:-\s+)?uses:", line)]
    for line in uses_lines:
        assert PINNED_USES.match(line), f"not pinned to a SHA with a # vX.Y.Z comment: {line}"
    parsed = [
        step["uses"] for job in jobs(load(path)).values() for step in steps(job) if "uses" in step
    ]
    parsed += [job["uses"] for job in jobs(load(path)).values() if "uses" in job]
    assert len(parsed) == len(uses_lines), "a `uses:` is written in a form this test cannot see"


def test_one_commit_per_action_across_workflows() -> None:
    seen: dict[str, set[tuple[str, str]]] = {}
    for path in FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = PINNED_USES.match(line)
            if match:
                pin = (match["sha"], match["version"])
                seen.setdefault(match["action"], set()).add(pin)
    drifting = {action: pins for action, pins in seen.items() if len(pins) > 1}
    assert not drifting, f"actions pinned to more than one commit: {drifting}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_no_pull_request_target(path: Path) -> None:
    assert "pull_request_target" not in triggers(load(path))
    assert "pull_request_target" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_no_expressions_inside_run(path: Path) -> None:
    for name, job in jobs(load(path)).items():
        for step in steps(job):
            script = step.get("run")
            if script is None:
                continue
            where = f"{name}: {step.get('name', script[:40])}"
            untrusted = [e for e in re.findall(r"\$\{\{(.*?)\}\}", script) if UNTRUSTED.search(e)]
            assert not untrusted, f"{where}: untrusted input in run: {untrusted}"
            assert "${{" not in script, f"{where}: pass values to run: through env:"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_schedules_avoid_the_top_of_the_hour(path: Path) -> None:
    for entry in triggers(load(path)).get("schedule") or []:
        minute = entry["cron"].split()[0]
        assert minute.isdigit(), f"cron minute must be one fixed minute: {entry['cron']}"
        assert 0 < int(minute) < 60, f"cron minute must not be 0: {entry['cron']}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_every_job_has_a_timeout(path: Path) -> None:
    for name, job in jobs(load(path)).items():
        timeout = job.get("timeout-minutes")
        assert isinstance(timeout, int) and 0 < timeout <= 360, f"{name}: timeout-minutes"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_checkouts_do_not_keep_the_token(path: Path) -> None:
    for name, job in jobs(load(path)).items():
        for step in steps(job):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                kept = (step.get("with") or {}).get("persist-credentials")
                assert kept in (False, "false"), f"{name}: persist-credentials must be false"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_jobs_running_pull_request_code_cannot_write(path: Path) -> None:
    if "pull_request" not in triggers(load(path)):
        return
    for name, job in jobs(load(path)).items():
        checks_out = any(
            str(step.get("uses", "")).startswith("actions/checkout@") for step in steps(job)
        )
        if not checks_out:
            continue
        writes = {s for s, level in (job.get("permissions") or {}).items() if level == "write"}
        assert writes <= WRITE_ALLOWED_WITH_PR_CODE, f"{name}: writes {writes} with PR code"


def test_apply_is_never_cancelled_and_runs_in_production() -> None:
    workflow = load(WORKFLOWS / "apply.yml")
    concurrency = workflow.get("concurrency")
    assert isinstance(concurrency, dict), "apply needs a concurrency group"
    assert concurrency.get("group") == "terraform-apply"
    assert concurrency.get("cancel-in-progress") is False
    for name, job in jobs(workflow).items():
        job_concurrency = job.get("concurrency")
        if isinstance(job_concurrency, dict):
            assert job_concurrency.get("cancel-in-progress") is False, name
        assert job.get("environment") == "production", f"{name}: environment"
    on = triggers(workflow)
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]


def test_validate_cancels_superseded_runs_and_checks_pull_requests() -> None:
    workflow = load(WORKFLOWS / "validate.yml")
    assert set(triggers(workflow)) == {"pull_request"}
    concurrency = workflow["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is True
    assert "validate" in jobs(workflow), "the required status check is the job `validate`"
