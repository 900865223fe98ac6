"""`lapse render` and `lapse simulate` on throwaway repositories, like a user at a shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import pytest

from generator import cli
from generator.commands import options
from tests.acceptance.cli import lapse
from tests.support import REPO, make_repo, place


def _repo_with_samples(tmp_path: Path) -> Path:
    return make_repo(tmp_path, with_requests=True)


def _grants(root: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((root / "terraform/grants").glob("*.tf"))}


def test_render_on_the_repository_is_up_to_date() -> None:
    run = lapse("render --check", cwd=REPO)
    assert run.code == 0, run.out + run.err
    requests = len(list((REPO / "requests").rglob("*.yaml")))
    assert run.out == f"{requests} request files checked: terraform/grants/ is up to date\n"


def test_render_writes_prints_the_table_and_is_idempotent(tmp_path: Path) -> None:
    root = _repo_with_samples(tmp_path)

    first = lapse("render", cwd=root)

    assert first.code == 0, first.err
    assert _grants(root) == _grants(REPO)
    assert "alice@example.com  roles/cloudsql.client" in first.out
    assert "2026-12-01T13:00:00Z" in first.out
    assert first.out.rstrip().endswith("5 written, 0 removed, 0 unchanged")
    stamps = {p.name: p.stat().st_mtime_ns for p in (root / "terraform/grants").glob("*.tf")}
    second = lapse("render", cwd=root)
    assert second.out.rstrip().endswith("0 written, 0 removed, 5 unchanged")
    assert stamps == {
        p.name: p.stat().st_mtime_ns for p in (root / "terraform/grants").glob("*.tf")
    }


def test_render_removes_grants_of_requests_that_are_gone(tmp_path: Path) -> None:
    root = _repo_with_samples(tmp_path)
    lapse("render", cwd=root)
    (root / "requests/staging/chg-1210-batch-runner.yaml").unlink()

    run = lapse("render", cwd=root)

    assert run.out.rstrip().endswith("0 written, 1 removed, 4 unchanged")
    assert "chg-1210-batch-runner.tf" not in _grants(root)
    assert (root / "terraform/grants/_module.tf").exists(), "hand-written files stay"


def test_render_writes_nothing_when_any_request_is_invalid(tmp_path: Path) -> None:
    root = _repo_with_samples(tmp_path)
    lapse("render", cwd=root)
    before = _grants(root)
    bad = (root / "requests/pci-prod/inc-4512-settlement-batch.yaml").read_text()
    place(
        root,
        "requests/pci-prod/inc-4599-owner.yaml",
        bad.replace("roles/cloudsql.client", "roles/owner").replace("4512", "4599"),
    )
    place(
        root,
        "requests/staging/chg-1210-batch-runner.yaml",
        (root / "requests/staging/chg-1210-batch-runner.yaml")
        .read_text()
        .replace("18:00:00Z", "19:00:00Z"),
    )

    run = lapse("render", cwd=root)

    assert run.code == 1
    assert "requests/pci-prod/inc-4599-owner.yaml:8:5: error [LAPSE210]" in run.err
    assert "nothing written" in run.err
    assert _grants(root) == before, "not even the valid change was written"


def test_render_check_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    root = _repo_with_samples(tmp_path)
    lapse("render", cwd=root)
    path = root / "requests/staging/chg-1210-batch-runner.yaml"
    path.write_text(path.read_text().replace("2026-12-05T18:00:00Z", "2026-12-05T17:00:00Z"))
    before = _grants(root)

    run = lapse("render --check", cwd=root)

    assert run.code == 1
    assert "--- a/terraform/grants/staging.chg-1210-batch-runner.tf" in run.out
    assert '-    expression  = "request.time < timestamp(\\"2026-12-05T18:00:00Z\\")"' in run.out
    assert '+    expression  = "request.time < timestamp(\\"2026-12-05T17:00:00Z\\")"' in run.out
    assert "out of date" in run.err
    assert _grants(root) == before


def test_render_never_reads_the_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _repo_with_samples(tmp_path)

    def no_clock(_: object) -> NoReturn:
        raise AssertionError("render read the clock")

    monkeypatch.setattr(options, "now_or_clock", no_clock)
    assert cli.main(["render", "--root", str(root)]) == 0
    assert _grants(root) == _grants(REPO)


def test_simulate_json_active_and_inactive() -> None:
    at_work = lapse(
        "simulate --at 2026-12-01T12:59:59Z --format json --principal alice@example.com", cwd=REPO
    )
    after = lapse(
        "simulate --at 2026-12-01T13:00:00Z --format json --principal user:alice@example.com",
        cwd=REPO,
    )

    assert at_work.code == after.code == 0
    during = json.loads(at_work.out)["bindings"]
    assert [b["active"] for b in during] == [True, True]
    assert {b["seconds_left"] for b in during} == {1}
    assert [b["active"] for b in json.loads(after.out)["bindings"]] == [False, False]


def test_simulate_text_and_markdown() -> None:
    text = lapse("simulate --at 2026-12-04T09:00:00Z", cwd=REPO)
    markdown = lapse("simulate --at 2026-12-04T09:00:00Z --format markdown", cwd=REPO)
    assert "4 of 8 active at 2026-12-04T09:00:00Z" in text.out
    assert markdown.out.startswith("### Temporary access at 2026-12-04T09:00:00Z")
    assert "| yes | user:dave@example.com | roles/iam.securityReviewer |" in markdown.out


def test_simulate_refuses_what_it_cannot_evaluate(tmp_path: Path) -> None:
    root = _repo_with_samples(tmp_path)
    lapse("render", cwd=root)
    path = root / "terraform/grants/staging.chg-1210-batch-runner.tf"
    path.write_text(path.read_text().replace("request.time <", "request.time <<", 1))
    run = lapse("simulate", cwd=root)
    assert run.code == 2
    assert "cannot compile" in run.err
