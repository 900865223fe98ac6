"""What reaches main: `verify-approvals` and `verify-plan` judge every commit's archive/ and
reports/ changes again, and only the security owners' approval excuses one lapse did not make.

A git history of merged pull requests, and GitHub answering from it at the HTTP layer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from generator import cli
from generator.commands import adapters
from generator.github.client import GitHubClient
from tests.plans import History, git, plan, serve_history, start_history
from tests.support import make_repo, place
from tests.unit.test_emergency import TEAMS, request_text

RECORD = "archive/pci-prod/emergency/2026-11/inc-6999-yesterday.yaml"
REQUEST = "requests/pci-prod/emergency/inc-7001-payments-down.yaml"
REPORT = "reports/pci-prod/2026-11/inc-6999-yesterday.md"


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> History:
    """main holds an archived emergency, a merged report of it, and an emergency request."""
    root = make_repo(tmp_path / "repo")
    place(root, RECORD, request_text(expires="2026-11-28T22:00:00Z"))
    place(root, REPORT, "# Review of inc-6999-yesterday\n\nOne HIGH deviation.\n")
    place(root, REQUEST, request_text())
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_REPOSITORY", "example-org/access")
    monkeypatch.setattr(
        adapters,
        "github",
        lambda: GitHubClient("example-org/access", "t", sleep=lambda _seconds: None),
    )
    return start_history(root)


def verify_approvals(history: History, sha: str, capsys: pytest.CaptureFixture[str]) -> Any:
    code = cli.main(["verify-approvals", "--commit", sha, "--root", str(history.root)])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def verify_plan(history: History, since: str, capsys: pytest.CaptureFixture[str]) -> Any:
    """verify-plan of a plan that changes nothing, as after an archive-only merge."""
    plan_file = history.root.parent / "plan.json"
    plan_file.write_text(plan())
    evidence = history.root.parent / "evidence.json"
    argv = ["verify-plan", str(plan_file), "--since-commit", since, "--evidence", str(evidence)]
    code = cli.main([*argv, "--root", str(history.root)])
    out = capsys.readouterr()
    return code, json.loads(evidence.read_text()), out.out + out.err


def removal(history: History, *approvers: str) -> tuple[str, str]:
    """(main before, the merge) of a pull request that removes the emergency record."""
    before = git(history.root, "rev-parse", "HEAD")
    pull, _ = history.pull_request(60, "alice-ng", {RECORD: None})
    for login in approvers:
        pull.approve(login)
    return before, pull.merge


@pytest.mark.parametrize(
    "approvers",
    [
        ("frank-mueller",),  # the on-call, who owned archive/pci-prod/emergency/
        ("frank-mueller", "dave-li"),  # and an approver of the target
        (),  # nobody: an administrator's merge
    ],
)
def test_an_emergency_record_is_not_removed_without_the_security_owners(
    history: History,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    approvers: tuple[str, ...],
) -> None:
    before, merge = removal(history, *approvers)
    serve_history(http, history, TEAMS)

    # The pull request's check refuses it, whoever approves.
    git(history.root, "checkout", "-q", "pr-60")
    argv = ["validate", "--changed-since", before, "--root", str(history.root)]
    assert cli.main(argv) == 1
    assert f"{RECORD}:1:1: error [LAPSE150] removes the archived request" in (
        capsys.readouterr().out
    )
    git(history.root, "checkout", "-q", "main")

    code, evidence, err = verify_approvals(history, merge, capsys)
    assert code == 1
    assert evidence["ok"] is True  # no request needed approval: the records alone refuse it
    (record,) = evidence["records"]
    assert record["verdict"] == "refused"
    assert record["changes"] == [
        {
            "path": RECORD,
            "rule": "LAPSE150",
            "message": f"commit {merge[:12]} removes the archived request {RECORD}",
        }
    ]
    assert "no approval of its final head by a security owner" in err

    code, evidence, out = verify_plan(history, before, capsys)
    assert code == 1
    assert [r["verdict"] for r in evidence["records"]] == ["refused"]
    assert f"refused: {RECORD}: commit {merge[:12]} removes the archived request" in out


def test_the_security_owners_approval_lets_a_record_change_reach_main(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    before, merge = removal(history, "frank-mueller", "grace-hopkins")
    serve_history(http, history, TEAMS)

    code, evidence, err = verify_approvals(history, merge, capsys)
    assert code == 0, err
    assert [r["approval"]["approvers"] for r in evidence["records"]] == [["grace-hopkins"]]

    code, evidence, out = verify_plan(history, before, capsys)
    assert code == 0, out
    assert [r["verdict"] for r in evidence["records"]] == ["verified"]


def test_an_approval_of_an_earlier_head_does_not_count(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    before = git(history.root, "rev-parse", "HEAD")
    pull, (first, _) = history.pull_request(61, "alice-ng", {REPORT: None}, {RECORD: None})
    pull.approve("grace-hopkins", commit=first)  # approved when it removed only the report
    serve_history(http, history, TEAMS)

    code, evidence, out = verify_plan(history, before, capsys)
    assert code == 1
    (record,) = evidence["records"]
    assert {c["path"] for c in record["changes"]} == {RECORD, REPORT}
    assert "not the final head" in out


def test_a_removal_and_its_undoing_in_two_merges_are_both_judged(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = (history.root / RECORD).read_text()
    before, first = removal(history, "frank-mueller")
    second, _ = history.pull_request(62, "alice-ng", {RECORD: kept})
    second.approve("frank-mueller")
    serve_history(http, history, TEAMS)
    assert git(history.root, "diff", before, "HEAD", "--stat") == ""

    code, evidence, _ = verify_plan(history, before, capsys)
    assert code == 1
    judged = {r["commit"]: r["changes"][0]["message"] for r in evidence["records"]}
    assert judged == {
        first: f"commit {first[:12]} removes the archived request {RECORD}",
        second.merge: f"commit {second.merge[:12]} adds {RECORD}, which is not a request "
        "moved here from requests/ in the same change: archive/ takes only "
        "requests/<target>/[emergency/]<id>.yaml, moved to "
        "archive/<target>/[emergency/]<YYYY-MM>/<id>.yaml",
    }


def test_the_move_lapse_makes_and_a_new_report_need_no_one_but_their_owners(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    before = git(history.root, "rev-parse", "HEAD")
    archived = "archive/pci-prod/emergency/2026-11/inc-7001-payments-down.yaml"
    text = (history.root / REQUEST).read_text()
    report = "reports/pci-prod/2026-11/inc-7001-payments-down.md"
    pull, _ = history.pull_request(
        63, "lapse-bot[bot]", {REQUEST: None, archived: text, report: "# Review\n"}
    )
    pull.approve("dave-li")
    serve_history(http, history, TEAMS)

    # (The fake lists every file of a pull request as modified, so only the records are read.)
    _, evidence, err = verify_approvals(history, pull.merge, capsys)
    assert evidence["records"] == [] and "LAPSE15" not in err
    code, evidence, out = verify_plan(history, before, capsys)
    assert (code, evidence["records"]) == (0, []), out
