"""Two merges, the first of which fails its own verification; the next apply's plan, which still
holds that grant, is refused. Real git history, the real CLI, GitHub over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from generator import cli
from generator.checks.validate import validate_repo
from generator.commands import adapters
from generator.core.repo import Repo
from generator.github.client import GitHubClient
from generator.terraform.render import blocks
from tests.plans import binding, plan, serve_history, start_history
from tests.support import make_repo

FIRST = "requests/pci-prod/inc-4600-first.yaml"
SECOND = "requests/pci-prod/inc-4601-second.yaml"
TEAMS = {"pci-access-approvers": ["carol-diaz"], "security": ["grace-hopkins"]}


def request(ticket: str) -> str:
    return (
        "requester: alice@example.com\n"
        f"reason: Reconcile settlement batch 4411 for {ticket}\n"
        f"ticket: {ticket}\n"
        "expires: 2026-11-30T13:00:00Z\n"
        "grants:\n"
        "  - role: roles/cloudsql.client\n"
        "    project: pci-prod-payments\n"
    )


def test_a_failed_merge_is_not_applied_by_the_next_apply(
    tmp_path: Path,
    http: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    history = start_history(make_repo(tmp_path / "repo"))
    monkeypatch.setattr(
        adapters, "github", lambda: GitHubClient("example-org/access", "t", sleep=lambda _: None)
    )
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_REPOSITORY", "example-org/access")
    root = history.root

    # Merge 1: approved by someone who is not an approver of pci-prod (an admin merge).
    first, _ = history.pull_request(41, "alice-ng", {FIRST: request("INC-4600")})
    first.approve("erin-walsh")
    serve_history(http, history, TEAMS)
    assert cli.main(["verify-approvals", "--commit", first.merge, "--root", str(root)]) == 1
    capsys.readouterr()  # its apply stops here: nothing applied

    # Merge 2: properly approved. Its apply plans both grants, since neither was applied.
    second, _ = history.pull_request(42, "alice-ng", {SECOND: request("INC-4601")})
    second.approve("carol-diaz")
    assert cli.main(["verify-approvals", "--commit", second.merge, "--root", str(root)]) == 0
    capsys.readouterr()
    requests = validate_repo(Repo.at(root), now=None).requests
    changes = [binding(block) for r in requests for block in blocks(r)]
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan(*changes))
    evidence = tmp_path / "evidence.json"

    code = cli.main(
        ["verify-plan", str(plan_file), "--evidence", str(evidence), "--root", str(root)]
    )

    out = capsys.readouterr().out
    assert code == 1
    verdicts = {
        c["request"]["path"]: c["verdict"] for c in json.loads(evidence.read_text())["changes"]
    }
    assert verdicts == {FIRST: "refused", SECOND: "verified"}
    refused = [line for line in out.splitlines() if line.startswith("refused:")]
    assert len(refused) == 1 and "inc-4600-first" in refused[0]
    assert "@erin-walsh is not an approver of this target" in refused[0]
