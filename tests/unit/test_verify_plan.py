"""`lapse verify-plan`: plans in the real `terraform show -json` format, a real git history of
merged pull requests, and GitHub over HTTP answering from that history."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import responses

from generator import cli
from generator.checks.validate import validate_repo
from generator.commands import adapters
from generator.core.repo import Repo
from generator.github.client import GitHubClient
from generator.terraform.render import Block, blocks
from tests import plans
from tests.plans import History, binding, change, plan, serve_history, start_history
from tests.support import make_repo

REQUEST = "requests/pci-prod/inc-4512-settlement-batch.yaml"
TEXT = (
    "# yaml-language-server: $schema=../../schemas/access-request.schema.json\n"
    "requester: alice@example.com\n"
    "reason: Investigate failed settlement batch for merchant 4411\n"
    "ticket: INC-4512\n"
    "expires: 2026-11-30T13:00:00Z\n"
    "grants:\n"
    "  - role: roles/cloudsql.client\n"
    "    project: pci-prod-payments\n"
)
TEAMS = {"pci-access-approvers": ["carol-diaz", "dave-li"], "security": ["grace-hopkins"]}
AUDIT = "terraform/audit_logging.tf"


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> History:
    root = make_repo(tmp_path / "repo")
    history = start_history(root)
    monkeypatch.setattr(
        adapters,
        "github",
        lambda: GitHubClient("example-org/access", "t", sleep=lambda _seconds: None),
    )
    return history


def rendered(root: Path, path: str = REQUEST) -> Block:
    requests = validate_repo(Repo.at(root), now=None).requests
    (request,) = [r for r in requests if r.path == path]
    (block,) = blocks(request)
    return block


def verify(history: History, *changes: dict[str, Any], since: str | None = None) -> tuple[int, Any]:
    plan_file = history.root.parent / "plan.json"
    plan_file.write_text(plan(*changes))
    evidence = history.root.parent / "evidence.json"
    evidence.unlink(missing_ok=True)
    argv = ["verify-plan", str(plan_file), "--root", str(history.root)]
    argv += ["--evidence", str(evidence)] + (["--since-commit", since] if since else [])
    code = cli.main(argv)
    return code, json.loads(evidence.read_text()) if evidence.exists() else None


def verdicts(evidence: Any) -> dict[str, str]:
    return {c["address"]: c["verdict"] for c in evidence["changes"]}


def approved_request(history: History) -> plans.Pull:
    pull, _ = history.pull_request(42, "alice-ng", {REQUEST: TEXT})
    pull.approve("carol-diaz")
    return pull


def test_approved_create_is_verified_with_evidence(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    pull = approved_request(history)
    serve_history(http, history, TEAMS)
    block = rendered(history.root)

    code, evidence = verify(history, binding(block))

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"verified: module.grants.{block.type}.{block.name} (create)" in out
    (entry,) = evidence["changes"]
    assert entry["request"]["path"] == REQUEST
    (approval,) = entry["approvals"]
    assert approval["pull_request"]["number"] == 42
    assert approval["approvers"] == ["carol-diaz"]
    assert approval["review_ids"] == [pull.reviews[0]["id"]]
    assert approval["commit"] == pull.merge


def test_unexplained_create_refused_without_token_or_network(
    history: History,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    approved_request(history)
    block = rendered(history.root)
    evil = Block(
        block.type,
        "evil_00000000",
        (
            ("project", "pci-prod-payments"),
            ("role", "roles/owner"),
            ("member", "user:mallory@example.com"),
        ),
        "x",
        "y",
        "true",
    )
    monkeypatch.setattr(adapters, "github", lambda: pytest.fail("GitHub must not be asked"))

    code, evidence = verify(history, binding(block), binding(evil))

    out = capsys.readouterr().out
    assert code == 1
    assert (
        "refused: module.grants.google_project_iam_member.evil_00000000 (create): no request" in out
    )
    assert verdicts(evidence)[f"module.grants.{block.type}.{block.name}"] == "unchecked"
    assert len(http.calls) == 0


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("role", "roles/owner"),
        ("member", "user:mallory@example.com"),
        ("project", "pci-prod-analytics"),
        ("condition", [{"title": "t", "description": "d", "expression": "true"}]),
        ("condition", []),
    ],
)
def test_binding_other_than_rendered_is_refused(
    history: History,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    attribute: str,
    value: Any,
) -> None:
    approved_request(history)
    serve_history(http, history, TEAMS)
    block = rendered(history.root)

    code, _ = verify(history, binding(block, **{attribute: value}))

    out = capsys.readouterr().out
    assert code == 1
    assert f"refused: module.grants.{block.type}.{block.name} (create): not what {REQUEST}" in out
    assert attribute in out
    assert len(http.calls) == 0


def test_request_changed_after_approval_is_refused(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    later = TEXT.replace("2026-11-30T13:00:00Z", "2030-11-30T13:00:00Z")
    pull, (approved, _edited) = history.pull_request(
        42, "alice-ng", {REQUEST: TEXT}, {REQUEST: later}
    )
    pull.approve("carol-diaz", commit=approved)
    serve_history(http, history, TEAMS)

    code, _ = verify(history, binding(rendered(history.root)))

    out = capsys.readouterr().out
    assert code == 1
    assert "held other bytes than it does now" in out


def test_update_branch_after_approval_keeps_it(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    (approved,) = history.branch("pr-42", {REQUEST: TEXT})
    history.pull_request(7, "grace-hopkins", {"README.md": "unrelated\n"})
    # "Update branch": main merged into the pull request after the approval.
    plans.git(history.root, "checkout", "-q", "pr-42")
    plans.git(history.root, "merge", "-q", "--no-ff", "-m", "Merge main", "main")
    plans.git(history.root, "checkout", "-q", "main")
    pull = history.merge(42, "pr-42", "alice-ng", [REQUEST])
    pull.approve("carol-diaz", commit=approved)
    assert pull.head != approved
    serve_history(http, history, TEAMS)

    code, _ = verify(history, binding(rendered(history.root)))

    assert code == 0, capsys.readouterr().out


@pytest.mark.parametrize(
    ("reviewer", "author"),
    [("alice-ng", "alice-ng"), ("erin-walsh", "alice-ng"), ("carol-diaz", "bob-okafor")],
    ids=["author", "not-an-approver", "author-is-not-requester"],
)
def test_approval_rules_of_verify_approvals_apply(
    history: History, http: responses.RequestsMock, reviewer: str, author: str
) -> None:
    pull, _ = history.pull_request(42, author, {REQUEST: TEXT})
    pull.approve(reviewer)
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, binding(rendered(history.root)))

    assert code == 1
    assert set(verdicts(evidence).values()) == {"refused"}


def test_delete_of_rendered_binding_passes_without_github(
    history: History, http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    approved_request(history)
    block = rendered(history.root)
    history.pull_request(43, "alice-ng", {REQUEST: None})
    monkeypatch.setattr(adapters, "github", lambda: pytest.fail("GitHub must not be asked"))

    code, evidence = verify(history, binding(block, ("delete",)))

    assert code == 0
    assert list(verdicts(evidence).values()) == ["verified"]


def audit_change() -> dict[str, Any]:
    values = {"project": "pci-prod-payments", "service": "allServices", "audit_log_config": []}
    return change(
        type_="google_project_iam_audit_config",
        name="pci_prod_payments",
        actions=("update",),
        before=values,
        after=values,
        module=None,
    )


def change_audit_config(history: History, number: int, reviewer: str) -> None:
    text = (history.root / AUDIT).read_text() + "\n# reviewed\n"
    pull, _ = history.pull_request(number, "bob-okafor", {AUDIT: text})
    pull.approve(reviewer)


def test_configuration_change_needs_security_owners(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    since = plans.git(history.root, "rev-parse", "HEAD")
    change_audit_config(history, 50, "carol-diaz")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 1
    assert "#50 has no approval of its final head by a security owner" in capsys.readouterr().out
    assert evidence["changes"][0]["approvals"][0]["pull_request"]["number"] == 50


def test_configuration_change_approved_by_security_owners(
    history: History, http: responses.RequestsMock
) -> None:
    since = plans.git(history.root, "rev-parse", "HEAD")
    change_audit_config(history, 50, "grace-hopkins")
    approved_request(history)  # a request merge in between needs no security approval
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 0
    (approval,) = evidence["changes"][0]["approvals"]
    assert approval["approvers"] == ["grace-hopkins"]


def test_configuration_change_without_last_applied_commit_is_refused_offline(
    history: History, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapters, "github", lambda: pytest.fail("GitHub must not be asked"))
    code, _ = verify(history, audit_change())
    assert code == 1
    assert "no --since-commit" in capsys.readouterr().out


def test_anything_else_in_the_grants_module_is_refused(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    since = plans.git(history.root, "rev-parse", "HEAD")
    runner = change(type_="terraform_data", name="x", actions=("create",), after={"input": None})
    code, _ = verify(history, runner, since=since)
    assert code == 1
    assert "refused: module.grants.terraform_data.x (create)" in capsys.readouterr().out


def test_github_failure_is_exit_3(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    approved_request(history)
    http.add(
        responses.GET,
        plans.re.compile(r".*/commits/\w+/pulls.*"),
        status=502,
        json={"message": "Server Error"},
    )

    code, _ = verify(history, binding(rendered(history.root)))

    assert code == 3
    assert "GitHub" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"resource_changes": []}),
        json.dumps({"format_version": "1.2", "resource_changes": [{"address": "a"}]}),
    ],
)
def test_unreadable_plan_is_exit_2(
    history: History, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    plan_file = history.root.parent / "plan.json"
    plan_file.write_text(text)
    assert cli.main(["verify-plan", str(plan_file), "--root", str(history.root)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_symlinked_request_changed_through_its_target_is_refused(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One approved pull request adds a request that is a symlink to an unowned file; a later
    one edits only that file, to change role and expiry. The plan's grant is refused, offline."""
    widened = TEXT.replace("2026-11-30T13:00:00Z", "2030-11-30T13:00:00Z")
    scratch = make_repo(tmp_path / "scratch")
    (scratch / REQUEST).parent.mkdir(parents=True)
    (scratch / REQUEST).write_text(widened)
    block = rendered(scratch)
    plans.git(history.root, "checkout", "-qb", "pr-42")
    history.write({"notes/unowned.yaml": TEXT})
    (history.root / REQUEST).parent.mkdir(parents=True)
    os.symlink("../../notes/unowned.yaml", history.root / REQUEST)
    plans.git(history.root, "add", "-A")
    plans.git(history.root, "commit", "-qm", "link")
    plans.git(history.root, "checkout", "-q", "main")
    history.merge(42, "pr-42", "alice-ng", [REQUEST, "notes/unowned.yaml"]).approve("carol-diaz")
    history.pull_request(43, "mallory", {"notes/unowned.yaml": widened})

    code, _ = verify(history, binding(block))

    assert code == 1
    assert "no request on main renders this binding" in capsys.readouterr().out


def test_configuration_unchanged_since_the_last_apply_is_restored(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    approved_request(history)  # request merges change no configuration
    since = plans.git(history.root, "rev-list", "--max-parents=0", "HEAD")
    monkeypatch.setattr(adapters, "github", lambda: pytest.fail("GitHub must not be asked"))

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 0
    assert "restores what was applied" in evidence["changes"][0]["reason"]


def test_since_commit_not_behind_head_is_exit_2(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = verify(history, audit_change(), since="0123456789abcdef0123456789abcdef01234567")
    assert code == 2
    assert "is not a commit HEAD descends from" in capsys.readouterr().err
