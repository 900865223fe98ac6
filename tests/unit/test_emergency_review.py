"""After an emergency: the notification issue and the sign-off, against a stateful GitHub fake
served at the HTTP layer (issues, comments and team members in GitHub's JSON shapes)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from generator import cli
from generator.checks.validate import validate_repo
from generator.commands import adapters
from generator.core.repo import Repo
from generator.github.client import GitHubClient
from generator.github.records import hidden_marker
from generator.lifecycle import emergency_review
from generator.lifecycle.emergency import emergency_requests
from tests.github_fake import API, REPO, FakeGitHub, Reply, shape
from tests.plans import git, start_history
from tests.support import archive_of, make_repo, place
from tests.unit.test_emergency import EMERGENCY, request_text

MEMBERS = {"pci-access-approvers": ["carol-diaz", "dave-li"], "payments-oncall": ["frank-mueller"]}
EXPIRED = datetime(2026, 11, 29, 3, 45, tzinfo=UTC)
DUE = datetime(2026, 11, 30, 3, 45, tzinfo=UTC)  # review_within: 24h after expiry
KEY = "emergency/pci-prod/inc-7001-payments-down"
BOT = "github-actions[bot]"  # who opens lapse's issues in the apply job


def user(login: str) -> dict[str, Any]:
    return shape("user", login=login, url=f"https://api.github.com/users/{login}")


class FakeIssues(FakeGitHub):
    """FakeGitHub with issues and team members too."""

    def __init__(self, http: responses.RequestsMock) -> None:
        super().__init__(http)
        self.issues: list[dict[str, Any]] = []
        self.issue_bodies: list[Any] = []
        escaped = re.escape(REPO)
        http.add_callback("GET", re.compile(rf"{escaped}/issues(\?.*)?$"), self.list_issues)
        http.add_callback("POST", f"{REPO}/issues", self.post_issue)
        http.add_callback("GET", re.compile(rf"{escaped}/issues/\d+$"), self.get_issue)
        members = re.compile(rf"{re.escape(API)}/orgs/example-org/teams/[\w-]+/members.*")
        http.add_callback("GET", members, self.team_members)

    def list_issues(self, request: Any) -> Reply:
        return self.reply(200, self.issues)

    def post_issue(self, request: Any) -> Reply:
        data = json.loads(request.body)
        self.issue_bodies.append(data)
        number = 70 + len(self.issues)
        created = shape(
            "issue",
            number=number,
            title=data["title"],
            body=data["body"],
            labels=[shape("label", name=name) for name in data.get("labels", [])],
            assignees=[user(login) for login in data.get("assignees", [])],
            user=user(BOT),
            url=f"https://api.github.com/repos/example-org/access/issues/{number}",
            html_url=f"https://github.com/example-org/access/issues/{number}",
        )
        created.pop("pull_request", None)
        self.issues.append(created)
        return self.reply(201, created)

    def get_issue(self, request: Any) -> Reply:
        number = self.number(request, "/issues/")
        return self.reply(200, next(i for i in self.issues if i["number"] == number))

    def team_members(self, request: Any) -> Reply:
        team = request.path_url.split("/teams/", 1)[1].split("/")[0]
        return self.reply(200, [user(login) for login in MEMBERS.get(team, [])])

    def comment_by(self, number: int, login: str, body: str) -> None:
        listing = self.comments.setdefault(number, [])
        listing.append(shape("issue_comment", id=2000 + len(listing), body=body, user=user(login)))


def client() -> GitHubClient:
    return GitHubClient("example-org/access", "t", sleep=lambda _: None, login=BOT)


@pytest.fixture
def github(http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch) -> FakeIssues:
    fake = FakeIssues(http)
    monkeypatch.setattr(adapters, "github", client)
    return fake


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def merge_emergency(root: Path) -> str:
    history = start_history(root)
    pull, _ = history.pull_request(50, "alice-ng", {EMERGENCY: request_text()})
    return pull.merge


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_notify_opens_one_issue_for_the_normal_approvers_and_reruns_converge(
    root: Path, github: FakeIssues, capsys: pytest.CaptureFixture[str]
) -> None:
    sha = merge_emergency(root)
    for _ in range(2):
        code, out, err = run(capsys, "emergency", "notify", "--commit", sha, "--root", str(root))
        assert code == 0, err
        assert out == f"issue #70: {EMERGENCY}\n"
    (opened,) = github.issue_bodies
    assert opened["labels"] == ["lapse-emergency"]
    assert "assignees" not in opened  # the approvers are a team: mentioned, not assigned
    body = opened["body"]
    for fact in (
        "@example-org/pci-access-approvers",
        "alice@example.com (@alice-ng)",
        "INC-7001",
        "2026-11-29T03:45:00Z",  # until
        "`roles/logging.viewer` on project `pci-prod-payments`",
        "Sign-off due by 2026-11-30T03:45:00Z",
        hidden_marker(KEY),
    ):
        assert fact in body, fact


def test_notify_assigns_approvers_who_are_people(
    root: Path, github: FakeIssues, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = root / "policy" / "policy.yaml"
    policy.write_text(
        policy.read_text().replace(
            '      - "@example-org/pci-access-approvers"\n',
            '      - "@example-org/pci-access-approvers"\n      - "@carol-diaz"\n',
            1,
        )
    )
    sha = merge_emergency(root)
    assert run(capsys, "emergency", "notify", "--commit", sha, "--root", str(root))[0] == 0
    assert github.issue_bodies[0]["assignees"] == ["carol-diaz"]


def test_notify_ignores_a_commit_without_emergencies(
    root: Path, github: FakeIssues, capsys: pytest.CaptureFixture[str]
) -> None:
    history = start_history(root)
    normal = EMERGENCY.replace("emergency/", "")
    pull, _ = history.pull_request(51, "alice-ng", {normal: request_text()})
    code, out, _ = run(capsys, "emergency", "notify", "--commit", pull.merge, "--root", str(root))
    assert (code, github.issue_bodies) == (0, [])
    assert "brought in no emergency request" in out


def check(root: Path, now: datetime, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run(capsys, "emergency", "check", "--now", now.isoformat(), "--root", str(root))


def test_an_unsigned_emergency_past_its_due_time_is_a_finding_said_once(
    root: Path, github: FakeIssues, capsys: pytest.CaptureFixture[str]
) -> None:
    place(root, archive_of(EMERGENCY, "2026-11"), request_text())
    code, out, _ = check(root, DUE.replace(hour=3, minute=44), capsys)
    assert code == 0
    assert "due 2026-11-30T03:45:00Z" in out
    assert github.comments.get(70, []) == []

    for _ in range(2):
        code, out, err = check(root, DUE, capsys)
        assert code == 1
        assert "OVERDUE 2026-11-30T03:45:00Z" in out
        assert "HIGH emergency-not-signed-off" in err
    assert len(github.issues) == 1  # found again by its marker, never opened twice
    (overdue,) = github.comments[70]
    assert "was due at 2026-11-30T03:45:00Z" in overdue["body"]
    assert "pci-prod: 1 of 10 emergencies in the last 30d" in out
    assert "  alice@example.com: 1 of 3" in out


@pytest.mark.parametrize(
    ("login", "body", "signed"),
    [
        ("dave-li", "Reviewed the log entries.\n/lapse sign-off\n", True),
        ("frank-mueller", "/lapse sign-off", False),  # an emergency approver, not a normal one
        ("alice-ng", "/lapse sign-off", False),  # the requester
        ("carol-diaz", "I will /lapse sign-off later", False),  # not the line on its own
    ],
    ids=["normal-approver", "emergency-approver", "requester", "not-a-sign-off-line"],
)
def test_only_a_normal_approvers_sign_off_line_closes_the_finding(
    root: Path,
    github: FakeIssues,
    capsys: pytest.CaptureFixture[str],
    login: str,
    body: str,
    signed: bool,
) -> None:
    place(root, archive_of(EMERGENCY, "2026-11"), request_text())
    assert check(root, EXPIRED, capsys)[0] == 0  # opens the issue: expired, not yet due
    github.comment_by(70, login, body)
    code, out, _ = check(root, DUE, capsys)
    assert code == (0 if signed else 1)
    assert (f"signed off by @{login}" in out) is signed


def test_an_active_emergency_is_counted_but_not_yet_reviewed(
    root: Path, github: FakeIssues, capsys: pytest.CaptureFixture[str]
) -> None:
    place(root, EMERGENCY, request_text())
    code, out, _ = check(root, datetime(2026, 11, 29, 3, 10, tzinfo=UTC), capsys)
    assert code == 0
    assert "pci-prod: 1 of 10 emergencies" in out
    assert github.issues == []


def test_sign_offs_are_read_from_the_issue_of_each_emergency(
    root: Path, github: FakeIssues
) -> None:
    place(root, archive_of(EMERGENCY, "2026-11"), request_text())
    repo = Repo.at(root)
    policy = validate_repo(repo, now=None).policy
    assert policy is not None
    (state,) = emergency_review.sign_offs(client(), policy, emergency_requests(repo), DUE)
    assert (state.issue, state.overdue, state.signed_by) == (70, True, None)
    (finding,) = emergency_review.findings([state])
    assert finding.evidence == ("archive/pci-prod/emergency/2026-11/inc-7001-payments-down.yaml",)


def test_notify_since_the_last_apply_covers_every_emergency_merged_after_it(
    root: Path, github: FakeIssues, capsys: pytest.CaptureFixture[str]
) -> None:
    history = start_history(root)
    applied = git(root, "rev-parse", "HEAD")
    first = "requests/pci-prod/emergency/inc-7005-first.yaml"
    second = "requests/pci-prod/emergency/inc-7006-second.yaml"
    history.pull_request(60, "alice-ng", {first: request_text(ticket="INC-7005")})
    pull, _ = history.pull_request(61, "bob-okafor", {second: request_text(ticket="INC-7006")})
    argv = ["emergency", "notify", "--commit", pull.merge, "--since-commit", applied]
    code, out, err = run(capsys, *argv, "--root", str(root))
    assert code == 0, err
    assert out == f"issue #70: {first}\nissue #71: {second}\n"
    # Without it, only what the last merge brought in.
    code, out, _ = run(capsys, "emergency", "notify", "--commit", pull.merge, "--root", str(root))
    assert out == f"issue #71: {second}\n"
    assert len(github.issues) == 2


def test_status_shows_emergencies_per_target_and_person_in_the_window(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    place(root, archive_of(EMERGENCY, "2026-11"), request_text())
    later = "requests/pci-prod/emergency/inc-7010-again.yaml"
    place(root, later, request_text(requester="bob@example.com", expires="2026-12-01T03:30:00Z"))
    place(
        root,
        "archive/pci-prod/emergency/2026-10/inc-6000-long-ago.yaml",
        request_text(expires="2026-10-01T03:00:00Z"),
    )
    code, out, err = run(capsys, "status", "--at", "2026-12-01T03:00:00Z", "--root", str(root))
    assert code == 0, err
    lines = out.splitlines()
    at = lines.index("pci-prod: 2 of 10 emergencies in the last 30d")
    assert lines[at + 1 : at + 3] == ["  alice@example.com: 1 of 3", "  bob@example.com: 1 of 3"]


def test_status_without_emergencies_says_nothing_of_them(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    place(root, EMERGENCY.replace("/emergency/", "/"), request_text())
    code, out, _ = run(capsys, "status", "--at", "2026-11-29T03:00:00Z", "--root", str(root))
    assert code == 0
    assert "emergencies" not in out


def test_check_without_an_expired_emergency_needs_no_github(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    place(root, EMERGENCY, request_text())
    code, out, err = check(root, datetime(2026, 11, 29, 3, 10, tzinfo=UTC), capsys)
    assert code == 0, err
    assert "pci-prod: 1 of 10 emergencies" in out
