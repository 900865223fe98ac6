"""Break-glass requests: the emergency policy block, the emergency/ folder, and every gate.

The gates are the real ones: validation on a copy of this repository's policy, render, the
generated CODEOWNERS, `verify-approvals` and `verify-plan` against GitHub served at the HTTP
layer from a real git history.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses

from generator import cli
from generator.checks.validate import validate_repo
from generator.commands import adapters
from generator.core.repo import Repo
from generator.github import codeowners
from generator.github.client import GitHubClient
from generator.lifecycle import expire
from generator.terraform.render import blocks, render_all
from tests.plans import History, binding, git, plan, serve_history, start_history
from tests.support import make_repo, place

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
EMERGENCY = "requests/pci-prod/emergency/inc-7001-payments-down.yaml"
NORMAL = "requests/pci-prod/inc-7001-payments-down.yaml"
TEAMS = {
    "pci-access-approvers": ["carol-diaz", "dave-li"],
    "payments-oncall": ["frank-mueller"],
    "security": ["grace-hopkins"],
}


def request_text(
    *,
    requester: str = "alice@example.com",
    role: str = "roles/logging.viewer",
    expires: str = "2026-11-29T03:45:00Z",
    ticket: str = "INC-7001",
) -> str:
    return (
        "# yaml-language-server: $schema=../../../schemas/access-request.schema.json\n"
        f"requester: {requester}\n"
        "reason: Payments API is down, reading its logs\n"
        f"ticket: {ticket}\n"
        f"expires: {expires}\n"
        "grants:\n"
        f"  - role: {role}\n"
        "    project: pci-prod-payments\n"
    )


def problems_of(root: Path, path: str) -> list[tuple[str, int, int]]:
    result = validate_repo(Repo.at(root), now=NOW, time_checked={path})
    return [(p.rule, p.line, p.col) for p in result.errors]


def rules_of(root: Path, path: str) -> set[str]:
    return {rule for rule, _, _ in problems_of(root, path)}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


# --- policy ---------------------------------------------------------------------------------


def test_the_shipped_policy_has_an_emergency_block_for_pci_prod(root: Path) -> None:
    policy = validate_repo(Repo.at(root), now=None).policy
    assert policy is not None
    emergency = policy.targets["pci-prod"].emergency
    assert emergency is not None
    assert emergency.approvers == ("@example-org/payments-oncall",)
    assert emergency.max_duration == timedelta(hours=1)
    assert set(emergency.roles) <= set(policy.targets["pci-prod"].roles)
    assert (emergency.max_per_person, emergency.max_per_target) == (3, 10)
    assert emergency.window == timedelta(days=30)
    assert emergency.normal_approval_within == emergency.review_within == timedelta(hours=24)
    assert policy.targets["staging"].emergency is None


def edit_policy(root: Path, old: str, new: str) -> None:
    path = root / "policy" / "policy.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def policy_problems(root: Path) -> list[tuple[str, int]]:
    result = validate_repo(Repo.at(root), now=None)
    return [(p.rule, p.line) for p in result.errors if p.path == "policy/policy.yaml"]


def line_of(root: Path, text: str) -> int:
    lines = (root / "policy" / "policy.yaml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_an_emergency_role_the_target_does_not_allow_is_refused(root: Path) -> None:
    edit_policy(
        root,
        "        - roles/storage.objectViewer\n      ticket_pattern",
        "        - roles/cloudsql.admin\n      ticket_pattern",
    )
    assert policy_problems(root) == [("LAPSE294", line_of(root, "- roles/cloudsql.admin"))]


def test_an_emergency_longer_than_the_target_allows_is_refused(root: Path) -> None:
    edit_policy(root, "      max_duration: 1h", "      max_duration: 5h")
    assert policy_problems(root) == [("LAPSE295", line_of(root, "max_duration: 5h"))]


def test_an_emergency_ticket_pattern_that_does_not_compile_is_refused(root: Path) -> None:
    edit_policy(
        root, '      ticket_pattern: "^INC-[0-9]{4,6}$"', '      ticket_pattern: "^INC-[0-9"'
    )
    assert policy_problems(root) == [("LAPSE274", line_of(root, '"^INC-[0-9"'))]


def test_an_emergency_block_missing_a_limit_is_refused_by_the_schema(root: Path) -> None:
    edit_policy(root, "      max_per_target: 10\n", "")
    ((rule, line),) = policy_problems(root)
    assert rule == "LAPSE120"
    assert line_of(root, "    emergency:") <= line < line_of(root, "      window: 30d")


# --- requests -------------------------------------------------------------------------------


def test_an_emergency_request_within_the_limits_is_valid_and_renders(root: Path) -> None:
    place(root, EMERGENCY, request_text())
    assert problems_of(root, EMERGENCY) == []
    (request,) = validate_repo(Repo.at(root), now=None).requests
    assert (request.target, request.id, request.emergency) == (
        "pci-prod",
        "inc-7001-payments-down",
        True,
    )
    assert list(render_all([request])) == ["pci-prod.emergency.inc-7001-payments-down.tf"]


@pytest.mark.parametrize(
    ("change", "rule", "line"),
    [
        ({"role": "roles/cloudsql.client"}, "LAPSE292", 7),
        ({"expires": "2026-11-29T04:30:00Z"}, "LAPSE291", 5),
        ({"ticket": "CHG-7001"}, "LAPSE293", 4),
    ],
    ids=["role-beyond-emergency", "duration-beyond-emergency", "not-an-incident"],
)
def test_an_emergency_beyond_its_limits_is_refused(
    root: Path, change: dict[str, str], rule: str, line: int
) -> None:
    place(root, EMERGENCY, request_text(**change))
    found = problems_of(root, EMERGENCY)
    assert (rule, line) in [(r, n) for r, n, _ in found]
    # The same file as a normal request is within the target's own limits.
    (root / EMERGENCY).unlink()
    place(root, NORMAL, request_text(**change))
    assert rule not in rules_of(root, NORMAL)


def test_an_emergency_with_starts_set_is_held_to_the_emergency_duration(root: Path) -> None:
    text = request_text(expires="2026-11-29T06:00:00Z").replace(
        "expires:", "starts: 2026-11-29T03:00:00Z\nexpires:"
    )
    place(root, EMERGENCY, text)
    assert "LAPSE291" in rules_of(root, EMERGENCY)


def test_an_emergency_cannot_be_planned_ahead_for_the_on_call_to_approve(root: Path) -> None:
    # Otherwise the on-call could approve next week's planned access in the target's stead.
    text = request_text(expires="2026-12-02T09:30:00Z").replace(
        "expires:", "starts: 2026-12-02T09:00:00Z\nexpires:"
    )
    place(root, EMERGENCY, text)
    assert ("LAPSE298", 5) in [(r, n) for r, n, _ in problems_of(root, EMERGENCY)]
    (root / EMERGENCY).unlink()
    place(root, NORMAL, text)
    assert "LAPSE298" not in rules_of(root, NORMAL)


def test_an_emergency_folder_spelled_otherwise_is_not_one(root: Path) -> None:
    path = EMERGENCY.replace("/emergency/", "/Emergency/")
    place(root, path, request_text())
    assert "LAPSE130" in rules_of(root, path)


def test_a_symlinked_emergency_folder_is_refused(root: Path) -> None:
    place(root, "requests/staging/inc-7009-elsewhere.yaml", request_text())
    (root / "requests/pci-prod").mkdir(parents=True)
    (root / "requests/pci-prod/emergency").symlink_to("../staging")
    result = validate_repo(Repo.at(root), now=NOW)
    assert "requests/pci-prod/emergency" in {p.path for p in result.errors}
    assert all(not r.emergency for r in result.requests)


def test_an_emergency_for_a_target_without_an_emergency_block_is_refused(root: Path) -> None:
    path = "requests/staging/emergency/inc-7002-staging-down.yaml"
    place(root, path, request_text().replace("pci-prod-payments", "stg-payments"))
    assert "LAPSE290" in rules_of(root, path)


@pytest.mark.parametrize(
    "path",
    [
        "requests/pci-prod/emergency/nested/inc-7003-payments-down.yaml",
        "requests/pci-prod/urgent/inc-7003-payments-down.yaml",
    ],
)
def test_only_the_emergency_folder_is_a_request_folder(root: Path, path: str) -> None:
    place(root, path, request_text())
    assert "LAPSE130" in rules_of(root, path)


def test_an_emergency_id_may_not_reuse_a_normal_request_id(root: Path) -> None:
    place(root, NORMAL, request_text())
    place(root, EMERGENCY, request_text())
    assert "LAPSE133" in rules_of(root, EMERGENCY) | rules_of(root, NORMAL)


def test_lapse_new_emergency_writes_a_valid_file_under_emergency(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = "new --target pci-prod --role roles/logging.viewer --project pci-prod-payments"
    argv += " --duration 45m --ticket INC-7004 --requester alice@example.com --emergency"
    argv += " --now 2026-11-29T03:00:00Z --root"
    code = cli.main([*argv.split(), str(root), "--reason", "Payments API is down, reading logs"])
    out = capsys.readouterr()
    assert code == 0, out.err
    (written,) = (root / "requests" / "pci-prod" / "emergency").iterdir()
    assert problems_of(root, f"requests/pci-prod/emergency/{written.name}") == []
    assert "emergency approvers" in out.out
    assert "$schema=../../../schemas/" in written.read_text()


def test_lapse_new_emergency_refuses_a_role_beyond_the_limits(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = "new --target pci-prod --role roles/cloudsql.client --project pci-prod-payments"
    argv += " --duration 45m --ticket INC-7004 --requester alice@example.com --emergency"
    argv += " --now 2026-11-29T03:00:00Z --root"
    code = cli.main([*argv.split(), str(root), "--reason", "Payments API is down, reading logs"])
    assert code == 1
    assert "LAPSE292" in capsys.readouterr().err
    assert not any((root / "requests").rglob("*.yaml"))


# --- limits in the rolling window -----------------------------------------------------------


def archived(root: Path, name: str, expires: str, requester: str = "alice@example.com") -> None:
    place(
        root,
        f"archive/pci-prod/emergency/{expires[:7]}/{name}.yaml",
        request_text(expires=expires, requester=requester),
    )


def test_a_person_over_the_emergency_limit_in_the_window_is_refused(root: Path) -> None:
    for day in (1, 10, 20):
        archived(root, f"inc-70{day:02d}-earlier", f"2026-11-{day:02d}T03:30:00Z")
    place(root, EMERGENCY, request_text())
    found = problems_of(root, EMERGENCY)
    assert ("LAPSE296", 4, 9) in found  # located at the ticket
    # One of the three falls out of the 30 days: within the limit again.
    (root / "archive/pci-prod/emergency/2026-11/inc-7001-earlier.yaml").rename(
        root / "archive/pci-prod/emergency/2026-11/inc-7001-earlier.yml.bak"
    )
    archived(root, "inc-7031-earlier", "2026-10-29T03:30:00Z")
    assert "LAPSE296" not in rules_of(root, EMERGENCY)


def test_a_target_over_the_emergency_limit_in_the_window_is_refused(root: Path) -> None:
    people = ["bob", "carol", "dave", "erin", "frank", "grace"]
    for index in range(10):
        who = people[index % len(people)]
        archived(
            root,
            f"inc-71{index:02d}-earlier",
            f"2026-11-{index + 5:02d}T03:30:00Z",
            f"{who}@example.com",
        )
    place(root, EMERGENCY, request_text())
    assert rules_of(root, EMERGENCY) == {"LAPSE297"}


# --- CODEOWNERS and expiry ------------------------------------------------------------------


def test_codeowners_gives_the_emergency_folders_to_the_emergency_approvers(root: Path) -> None:
    policy = validate_repo(Repo.at(root), now=None).policy
    assert policy is not None
    text = codeowners.section(policy)
    oncall = ("@example-org/payments-oncall", "@example-org/pci-access-approvers")
    normal = ("@example-org/pci-access-approvers",)
    security = ("@example-org/security",)  # a record no on-call may edit or remove
    for path, owners in [
        (EMERGENCY, oncall),
        ("archive/pci-prod/emergency/2026-11/inc-7001-payments-down.yaml", security),
        ("terraform/grants/pci-prod.emergency.inc-7001-payments-down.tf", oncall),
        (NORMAL, normal),
        ("terraform/grants/pci-prod.inc-7001-payments-down.tf", normal),
        ("terraform/grants/pci-prod.emergency.tf", normal),
        ("requests/staging/emergency/x.yaml", ("@example-org/platform-leads",)),
    ]:
        found = codeowners.owners_of(text, path)
        assert found is not None and found[1] == owners, path
    assert codeowners.shadowed(text, policy) == []


def test_expire_archives_an_emergency_request_under_archive_emergency(root: Path) -> None:
    place(root, EMERGENCY, request_text())
    repo = Repo.at(root)
    requests = validate_repo(repo, now=None).requests
    (root / "terraform/grants").joinpath(*render_all(requests)).write_text(
        next(iter(render_all(requests).values()))
    )
    result = expire.plan_expiry(repo, datetime(2026, 11, 29, 4, 0, tzinfo=UTC))
    assert result.changes == {
        "archive/pci-prod/emergency/2026-11/inc-7001-payments-down.yaml": (
            root / EMERGENCY
        ).read_bytes(),
        EMERGENCY: None,
        "terraform/grants/pci-prod.emergency.inc-7001-payments-down.tf": None,
    }


# --- the approval gates ---------------------------------------------------------------------


@pytest.fixture
def history(root: Path, monkeypatch: pytest.MonkeyPatch) -> History:
    history = start_history(root)
    monkeypatch.setattr(
        adapters,
        "github",
        lambda: GitHubClient("example-org/access", "t", sleep=lambda _seconds: None),
    )
    return history


def merged(history: History, number: int, path: str, text: str, *approvers: str) -> str:
    pull, _ = history.pull_request(number, "alice-ng", {path: text})
    for login in approvers:
        pull.approve(login)
    return pull.merge


def on_main(history: History) -> None:
    """Commit what the test placed straight on main: an archive as earlier merges left it."""
    git(history.root, "add", "-A")
    git(history.root, "commit", "-qm", "archive as earlier merges left it")


def verify_approvals(
    history: History, sha: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, Any, str]:
    code = cli.main(["verify-approvals", "--commit", sha, "--root", str(history.root)])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def verify_plan(history: History, path: str) -> tuple[int, Any]:
    (request,) = [
        r for r in validate_repo(Repo.at(history.root), now=None).requests if r.path == path
    ]
    changes = [binding(block) for block in blocks(request)]
    plan_file = history.root.parent / "plan.json"
    plan_file.write_text(plan(*changes))
    evidence = history.root.parent / "evidence.json"
    argv = ["verify-plan", str(plan_file), "--root", str(history.root), "--evidence", str(evidence)]
    code = cli.main(argv)
    return code, json.loads(evidence.read_text())


def test_an_emergency_approved_by_the_on_call_passes_every_gate(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    sha = merged(history, 50, EMERGENCY, request_text(), "frank-mueller")
    serve_history(http, history, TEAMS)
    assert problems_of(history.root, EMERGENCY) == []
    assert cli.main(["render", "--root", str(history.root)]) == 0
    assert cli.main(["render", "--check", "--root", str(history.root)]) == 0
    assert (
        history.root / "terraform/grants/pci-prod.emergency.inc-7001-payments-down.tf"
    ).is_file()
    capsys.readouterr()

    code, evidence, err = verify_approvals(history, sha, capsys)
    assert code == 0, err
    (judged,) = evidence["requests"]
    assert (judged["path"], judged["ok"]) == (EMERGENCY, True)
    assert [a["approver"] for a in judged["approvals"]] == ["frank-mueller"]

    code, evidence = verify_plan(history, EMERGENCY)
    assert code == 0, evidence
    assert {c["verdict"] for c in evidence["changes"]} == {"verified"}


def test_the_same_request_outside_emergency_approved_by_the_on_call_is_refused(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    sha = merged(history, 51, NORMAL, request_text(), "frank-mueller")
    serve_history(http, history, TEAMS)

    code, evidence, err = verify_approvals(history, sha, capsys)
    assert code == 1
    assert "@frank-mueller is not an approver of this target" in err
    assert evidence["requests"][0]["ok"] is False

    code, evidence = verify_plan(history, NORMAL)
    assert code == 1
    assert {c["verdict"] for c in evidence["changes"]} == {"refused"}


def test_a_normal_approver_may_approve_an_emergency_too(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    sha = merged(history, 52, EMERGENCY, request_text(), "carol-diaz")
    serve_history(http, history, TEAMS)
    code, evidence, _ = verify_approvals(history, sha, capsys)
    assert code == 0
    assert [(r["path"], r["ok"]) for r in evidence["requests"]] == [(EMERGENCY, True)]


def test_an_emergency_of_another_target_does_not_let_the_on_call_approve_it(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    path = "requests/staging/emergency/inc-7002-staging-down.yaml"
    sha = merged(
        history,
        53,
        path,
        request_text().replace("pci-prod-payments", "stg-payments"),
        "frank-mueller",
    )
    serve_history(http, history, TEAMS)
    code, _, err = verify_approvals(history, sha, capsys)
    assert code == 1
    assert "@frank-mueller is not an approver of this target" in err


def test_a_repeat_emergency_within_the_window_needs_a_normal_approver(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    archived(history.root, "inc-6999-yesterday", "2026-11-28T22:00:00Z")
    on_main(history)
    sha = merged(history, 54, EMERGENCY, request_text(), "frank-mueller")
    serve_history(http, history, TEAMS)

    code, _, err = verify_approvals(history, sha, capsys)
    assert code == 1
    assert "archive/pci-prod/emergency/2026-11/inc-6999-yesterday.yaml" in err
    code, evidence = verify_plan(history, EMERGENCY)
    assert code == 1
    assert "normal_approval_within" in evidence["changes"][0]["reason"]


def test_a_repeat_emergency_approved_by_a_normal_approver_passes(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    archived(history.root, "inc-6999-yesterday", "2026-11-28T22:00:00Z")
    on_main(history)
    sha = merged(history, 55, EMERGENCY, request_text(), "frank-mueller", "dave-li")
    serve_history(http, history, TEAMS)
    assert verify_approvals(history, sha, capsys)[0] == 0
    assert verify_plan(history, EMERGENCY)[0] == 0


def test_an_earlier_emergency_outside_the_repeat_window_needs_no_normal_approver(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    archived(history.root, "inc-6998-last-week", "2026-11-22T03:00:00Z")
    on_main(history)
    sha = merged(history, 56, EMERGENCY, request_text(), "frank-mueller")
    serve_history(http, history, TEAMS)
    code, evidence, _ = verify_approvals(history, sha, capsys)
    assert code == 0
    assert [(r["path"], r["ok"]) for r in evidence["requests"]] == [(EMERGENCY, True)]
