"""The pull request's plan comment, as validate.yml builds it: what this pull request adds,
changes and removes, each request with its ticket, reason and window, and nothing else.

The steps' own shell runs here: the validate job's line that writes the table, then the plan
job's script that turns it into the comment's body (GITHUB_OUTPUT)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.acceptance.cli import lapse
from tests.support import REPO, make_repo

WORKFLOW = REPO / ".github" / "workflows" / "validate.yml"
ADDED = (
    "requester: carol@example.com\n"
    "reason: Reconcile the December chargebacks for merchant 4411\n"
    "ticket: INC-4611\n"
    "starts: 2026-12-09T09:00:00Z\n"
    "expires: 2026-12-09T11:00:00Z\n"
    "grants:\n"
    "  - role: roles/bigquery.dataViewer\n"
    "    dataset: pci-prod-analytics.chargebacks\n"
)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def step(job: str, step_id: str) -> dict[str, Any]:
    jobs = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]
    found: dict[str, Any] = next(s for s in jobs[job]["steps"] if s.get("id") == step_id)
    return found


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, "PATH": path, **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def pull(tmp_path: Path) -> tuple[Path, str]:
    """A branch off main that adds a request, extends one and withdraws another."""
    root = make_repo(tmp_path / "access", with_requests=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Access requests")
    base = git(root, "rev-parse", "HEAD")
    git(root, "switch", "-qc", "access/inc-4611")
    (root / "requests/pci-prod/inc-4611-december-chargebacks.yaml").write_text(ADDED)
    extended = root / "requests/pci-prod/inc-4533-chargeback-query.yaml"
    extended.write_text(extended.read_text().replace("T17:00:00Z", "T18:00:00Z"))
    (root / "requests/staging/chg-1207-folder-review.yaml").unlink()
    git(root, "add", "-A")
    git(root, "commit", "-qm", "INC-4611")
    return root, base


def comment_of(pull: tuple[Path, str], tmp_path: Path) -> str:
    root, base = pull
    table = bash(step("validate", "grants")["run"], root, {"BASE_SHA": base})
    assert table.returncode == 0, table.stderr
    grants = (root / "grants.md").read_text()
    runner = tmp_path / "runner"
    runner.mkdir()
    output, summary = runner / "output", runner / "summary"
    done = bash(
        step("plan", "report")["run"],
        runner,
        {
            "HEAD_SHA": "0123456789abcdef",
            "GRANTS": grants,
            "OUTCOMES": "validate=success grants=success allowlist=success plan=skipped",
            "GITHUB_WORKSPACE": str(root),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        },
    )
    assert done.returncode == 0, done.stderr
    text = output.read_text()
    return text[text.index("\n") + 1 : text.rindex("\n", 0, len(text) - 1)]


def test_the_comment_shows_what_this_pull_request_adds_changes_and_removes(
    pull: tuple[Path, str], tmp_path: Path
) -> None:
    body = comment_of(pull, tmp_path)
    rows = {line.split("|")[1].strip(): line for line in body.splitlines() if "` requests/" in line}
    assert set(rows) == {"**adds**", "**changes**", "**removes**"}, body
    added = rows["**adds**"]
    for value in ("INC-4611", "Reconcile the December chargebacks", "2026-12-09T09:00:00Z"):
        assert value in added
    assert "2026-12-09T11:00:00Z" in added and "carol@example.com" in added
    changed = rows["**changes**"]
    assert "inc-4533-chargeback-query.yaml" in changed
    assert "2026-12-03T17:00:00Z -> 2026-12-03T18:00:00Z" in changed and "INC-4533" in changed
    removed = rows["**removes**"]
    assert "chg-1207-folder-review.yaml" in removed and "CHG-1207" in removed
    assert "Review IAM inheritance" in removed
    # Requests this pull request leaves alone are not in it.
    assert "inc-4512-settlement-batch" not in body and "chg-1210" not in body
    assert "1 added, 1 changed, 1 removed" in body


def test_a_reason_cannot_mention_link_or_break_the_table(
    pull: tuple[Path, str], tmp_path: Path
) -> None:
    root, _ = pull
    added = root / "requests/pci-prod/inc-4611-december-chargebacks.yaml"
    hostile = "@example-org/security ``x`` | <img src=x> [here](https://evil.example)"
    added.write_text(
        ADDED.replace("Reconcile the December chargebacks for merchant 4411", f"'{hostile}'")
    )
    body = comment_of(pull, tmp_path)
    row = next(line for line in body.splitlines() if "inc-4611" in line)
    assert f"``` {hostile.replace('|', chr(92) + '|')} ```" in row
    assert row.count(" | ") == 7, "eight cells, as in every row"


def test_the_command_compares_with_the_merge_base_by_default(pull: tuple[Path, str]) -> None:
    root, _ = pull
    run = lapse("changes", cwd=root)
    assert run.code == 0, run.err
    assert "adds requests/pci-prod/inc-4611-december-chargebacks.yaml" in run.out
    assert "1 added, 1 changed, 1 removed against" in run.out


def test_no_change_says_so(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Access requests")
    run = lapse("changes --base main --format markdown", cwd=root)
    assert run.code == 0
    assert "_No request added, changed or removed._" in run.out


def test_a_file_that_does_not_read_is_named_and_fails(pull: tuple[Path, str]) -> None:
    root, base = pull
    (root / "requests/pci-prod/inc-4612-broken.yaml").write_text("grants: [\n")
    (root / "requests/pci-prod/inc-4613-link.yaml").symlink_to("inc-4533-chargeback-query.yaml")
    run = lapse(f"changes --base {base}", cwd=root)
    assert run.code == 1
    assert "requests/pci-prod/inc-4612-broken.yaml:2:1: error [LAPSE101]" in run.err
    assert "requests/pci-prod/inc-4613-link.yaml:1:1: error [LAPSE140]" in run.err
    assert "is a symlink" in run.err
    assert "adds requests/pci-prod/inc-4612-broken.yaml" in run.out, "listed all the same"
    markdown = lapse(f"changes --base {base} --format markdown", cwd=root)
    assert "- `` requests/pci-prod/inc-4612-broken.yaml:2:1 `` LAPSE101" not in markdown.out
    assert "- ` requests/pci-prod/inc-4612-broken.yaml:2:1 ` LAPSE101 ` not valid YAML" in (
        markdown.out
    )


def test_an_unknown_base_is_a_usage_error(pull: tuple[Path, str]) -> None:
    root, _ = pull
    run = lapse("changes --base --upload-pack=touch", cwd=root)
    assert run.code == 2
    assert "is not a commit of this repository" in run.err


def test_a_change_of_reason_alone_is_marked_same_access(pull: tuple[Path, str]) -> None:
    root, base = pull
    batch = root / "requests/pci-prod/inc-4512-settlement-batch.yaml"
    batch.write_text(batch.read_text().replace("merchant 4411", "merchant 4412"))
    run = lapse(f"changes --base {base}", cwd=root)
    assert "changes (same access) requests/pci-prod/inc-4512-settlement-batch.yaml" in run.out
    assert "merchant 4411 -> Investigate failed settlement batch for merchant 4412" in run.out
    assert "changes requests/pci-prod/inc-4533-chargeback-query.yaml" in run.out, "a window moved"
