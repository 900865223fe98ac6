"""A write that fails is a located error (exit 2, the path, the cause), in every command that
writes; `lapse review` finds out, and finds a missing GitHub token, before it reads any log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from generator.review import selection
from tests.acceptance.cli import lapse
from tests.acceptance.test_review_cli import UNTIL, entry, export
from tests.acceptance.test_safe_local_runs import checkout, git
from tests.support import make_repo
from tests.write_faults import CAUSES, FAULTS

Setup = Callable[[Path], tuple[Path, str, str]]


def _render(tmp_path: Path) -> tuple[Path, str, str]:
    return make_repo(tmp_path / "repo", with_requests=True), "render", "terraform/grants"


def _codeowners(tmp_path: Path) -> tuple[Path, str, str]:
    return make_repo(tmp_path / "repo"), "codeowners", ".github/CODEOWNERS"


def _new(tmp_path: Path) -> tuple[Path, str, str]:
    line = (
        "new --now 2026-11-29T12:00:00Z --target pci-prod --role roles/cloudsql.client "
        "--project pci-prod-payments --duration 2h --ticket INC-4512 "
        "--reason 'Investigate failed settlement batch for merchant 4411' "
        "--requester alice@example.com"
    )
    path = "requests/pci-prod/inc-4512-investigate-failed-settlement-batch.yaml"
    return make_repo(tmp_path / "repo"), line, path


def _expire(tmp_path: Path) -> tuple[Path, str, str]:
    path = "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml"
    return checkout(tmp_path), "expire --at 2026-12-02T00:00:00Z", path


def _withdraw(tmp_path: Path) -> tuple[Path, str, str]:
    root = checkout(tmp_path)
    git(root, "switch", "-q", "-c", "withdraw/inc-4533-chargeback-query")
    line = (
        "withdraw inc-4533-chargeback-query --at 2026-12-03T15:00:00Z "
        "--reason 'Chargeback totals reconciled'"
    )
    return root, line, "archive/pci-prod/2026-12/inc-4533-chargeback-query.yaml"


def _review(tmp_path: Path) -> tuple[Path, str, str]:
    log = export(tmp_path / "audit.jsonl", [entry("in-window", "2026-12-01T10:00:00Z")])
    root = make_repo(tmp_path / "repo", with_requests=True)
    return root, f"review --source file:{log} {UNTIL}", "reports"


def _evidence(tmp_path: Path) -> tuple[Path, str, str]:
    root = make_repo(tmp_path / "repo", with_requests=True)
    return root, "evidence --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z pack", "pack"


WRITERS: dict[str, Setup] = {
    "evidence": _evidence,
    "render": _render,
    "codeowners": _codeowners,
    "new": _new,
    "expire": _expire,
    "withdraw": _withdraw,
    "review": _review,
}


@pytest.fixture
def logs_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The reviews run: a review that reads logs goes through `selection.run`."""
    calls: list[str] = []
    real = selection.run

    def counted(*args: object, **kwargs: object) -> object:
        calls.append("run")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(selection, "run", counted)
    return calls


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("command", sorted(WRITERS))
def test_a_failed_write_names_the_file_and_the_cause(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    logs_read: list[str],
    command: str,
    fault: str,
) -> None:
    root, line, path = WRITERS[command](tmp_path)
    monkeypatch.setenv("LAPSE_CLI_IN_PROCESS", "1")

    with FAULTS[fault](monkeypatch, root):
        run = lapse(line, cwd=root)

    assert run.code == 2, run.out + run.err
    assert f"lapse: error: cannot write {path}: {CAUSES[fault]}" in run.err
    assert "internal error" not in run.err
    assert logs_read == [], "the review read the logs before finding it could not write"


def test_review_open_pr_wants_its_token_before_reading_any_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs_read: list[str]
) -> None:
    root, line, _ = _review(tmp_path)
    monkeypatch.setenv("LAPSE_CLI_IN_PROCESS", "1")

    run = lapse(f"{line} --open-pr", cwd=root)

    assert run.code == 2
    assert "set GITHUB_TOKEN and GITHUB_REPOSITORY" in run.err
    assert logs_read == []
    assert not (root / "reports").exists()
