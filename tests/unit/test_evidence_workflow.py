"""The evidence workflow: quarterly and on demand, read-only, the pack kept as an artifact,
and a period typed at dispatch refused unless it is a date, an instant, now or a duration."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO

WORKFLOW = REPO / ".github" / "workflows" / "evidence.yml"


def _workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _steps() -> list[dict[str, Any]]:
    return list(_workflow()["jobs"]["evidence"]["steps"])


def _step(name: str) -> dict[str, Any]:
    (found,) = [s for s in _steps() if s.get("name") == name]
    return found


def test_it_runs_every_quarter_and_on_demand() -> None:
    triggers = _workflow()[True]  # YAML 1.1 reads the key `on` as true
    (schedule,) = triggers["schedule"]
    _minute, _hour, day, months, weekday = schedule["cron"].split()
    assert (day, months, weekday) == ("1", "1,4,7,10", "*")
    assert "workflow_dispatch" in triggers


def test_it_reads_only() -> None:
    workflow = _workflow()
    assert workflow["permissions"] == {}
    assert workflow["jobs"]["evidence"]["permissions"] == {"contents": "read", "issues": "read"}


def test_the_pack_it_builds_is_the_folder_it_keeps() -> None:
    build = _step("Build the evidence pack")["run"]
    keep = _step("Keep the pack")
    assert "python -I -m generator evidence" in build
    assert '"$RUNNER_TEMP/evidence-pack"' in build
    assert keep["uses"].startswith("actions/upload-artifact@")
    assert keep["with"]["path"] == "${{ runner.temp }}/evidence-pack/"
    assert keep["with"]["if-no-files-found"] == "error"


def _check_period(tmp_path: Path, start: str, end: str) -> subprocess.CompletedProcess[str]:
    output = tmp_path / "output"
    output.write_text("")
    env = {**os.environ, "FROM_INPUT": start, "TO_INPUT": end, "GITHUB_OUTPUT": str(output)}
    return subprocess.run(
        ["bash", "-c", _step("Check the period")["run"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("start", "end", "written"),
    [
        ("", "", "from=-92d\nto=now\n"),
        ("2026-07-01", "2026-10-01T00:00:00Z", "from=2026-07-01\nto=2026-10-01T00:00:00Z\n"),
    ],
)
def test_a_period_of_dates_instants_or_defaults_is_passed_on(
    tmp_path: Path, start: str, end: str, written: str
) -> None:
    done = _check_period(tmp_path, start, end)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "output").read_text() == written


@pytest.mark.parametrize(
    "value",
    ["$(id)", "2026-07-01; rm -rf /", "2026-07-01\nfrom=1999-01-01", "yesterday", "-92d x"],
)
def test_a_period_that_is_not_one_is_refused(tmp_path: Path, value: str) -> None:
    for start, end in ((value, ""), ("", value)):
        done = _check_period(tmp_path, start, end)
        assert done.returncode == 2
        assert (tmp_path / "output").read_text() == ""
