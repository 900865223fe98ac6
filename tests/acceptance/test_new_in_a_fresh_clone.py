"""`lapse new` as a newcomer runs the requesters' example in a fresh clone: their email is not
one of the policy's people, and the way out is --requester, not an edited policy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.acceptance.cli import lapse
from tests.support import make_repo

NOW = "--at 2026-11-29T12:00:00Z"
EXAMPLE = (
    "new --target pci-prod --duration 2h --ticket INC-4512 "
    "--grant roles/cloudsql.client=project:pci-prod-payments "
    "--grant roles/storage.objectViewer=bucket:settlement-exports "
    "--reason 'Investigate failed settlement batch for merchant 4411'"
)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "access")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "config", "user.email", "newcomer@example.com"], cwd=root, check=True)
    return root


def hint_of(out: str, rule: str) -> str:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if f"[{rule}]" in line)
    return next(line for line in lines[start:] if line.strip().startswith("hint:"))


def test_an_email_from_git_config_not_in_the_policy_is_told_to_use_requester(clone: Path) -> None:
    run = lapse(f"{EXAMPLE} {NOW}", cwd=clone)
    assert run.code == 1
    hint = hint_of(run.out + run.err, "LAPSE201")
    assert "newcomer@example.com (your `git config user.email`)" in hint
    assert "pass --requester" in hint and "alice@example.com" in hint
    assert "ask the security owners (@example-org/security)" in hint
    assert "add the person under `people`" not in run.out + run.err
    assert not (clone / "requests" / "pci-prod").exists() or not any(
        (clone / "requests" / "pci-prod").iterdir()
    ), "nothing is left behind"


def test_the_hint_offers_the_close_spelling_of_a_mistyped_requester(clone: Path) -> None:
    run = lapse(f"{EXAMPLE} {NOW} --requester alice@exmaple.com", cwd=clone)
    assert run.code == 1
    hint = hint_of(run.out + run.err, "LAPSE201")
    assert "alice@exmaple.com (--requester)" in hint
    assert "did you mean 'alice@example.com'?" in hint


def test_with_requester_one_of_the_people_the_example_is_written(clone: Path) -> None:
    run = lapse(f"{EXAMPLE} {NOW} --requester alice@example.com", cwd=clone)
    assert run.code == 0, run.out + run.err
    written = clone / "requests/pci-prod/inc-4512-investigate-failed-settlement-batch.yaml"
    assert yaml.safe_load(written.read_text())["requester"] == "alice@example.com"
