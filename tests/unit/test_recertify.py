"""`lapse recertify`: the half-year's access review as one pull request, against a stateful
GitHub fake (git data, pulls, labels and team members in GitHub's JSON shapes)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from generator import cli
from generator.checks.validate import validate_policy
from generator.commands import adapters
from generator.core.repo import Repo
from generator.github.client import GitHubClient
from generator.lifecycle import recertification
from tests.evidence_world import TEAMS, build
from tests.github_fake import API, FakeGitHub, Reply, shape
from tests.plans import git
from tests.support import place

AT = "2026-12-07T12:00:00Z"


class FakeTeams(FakeGitHub):
    def __init__(self, http: responses.RequestsMock) -> None:
        super().__init__(http)
        members = re.compile(rf"{re.escape(API)}/orgs/example-org/teams/[\w-]+/members.*")
        http.add_callback("GET", members, self.team_members)

    def team_members(self, request: Any) -> Reply:
        team = request.path_url.split("/teams/", 1)[1].split("/")[0]
        return self.reply(
            200,
            [
                shape("user", login=login, url=f"https://api.github.com/users/{login}")
                for login in TEAMS.get(team, [])
            ],
        )


@pytest.fixture
def github(http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch) -> FakeTeams:
    fake = FakeTeams(http)
    monkeypatch.setattr(
        adapters, "github", lambda: GitHubClient("example-org/access", "t", sleep=lambda _: None)
    )
    return fake


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return build(tmp_path)


def run(root: Path, *args: str) -> int:
    return cli.main(["-C", str(root), "recertify", "--at", AT, *args])


def written(github: FakeGitHub) -> str:
    return github.blob_contents[-1].decode()


def test_one_pull_request_holds_the_half_years_file(root: Path, github: FakeTeams) -> None:
    assert run(root) == 0

    [pull] = github.pulls
    assert pull["title"] == "Access recertification 2026-H2"
    assert pull["head"]["ref"] == "lapse-recertify/2026-H2"
    assert github.label_bodies == [{"labels": ["lapse-recertification"]}]
    [tree] = github.tree_bodies
    assert [e["path"] for e in tree["tree"]] == ["reports/recertification/2026-H2.md"]
    text = written(github)
    assert "- Approvers: &#64;example-org/pci-access-approvers: carol-diaz, dave-li" in text
    assert "- Emergency approvers: &#64;example-org/payments-oncall: frank-mueller" in text
    assert "alice-ng (alice@example.com)" in text
    assert "| roles/cloudsql.client | - |" in text
    assert "Security owners: &#64;example-org/security: grace-hopkins" in text
    # Every grant of the six months, with its review and sign-off as the repository holds them.
    settled = next(line for line in text.splitlines() if "inc-4512" in line)
    assert "| HIGH | report merged in " in settled
    urgent = next(line for line in text.splitlines() if "inc-7001" in line)
    assert urgent.startswith("| emergency inc-7001-payments-down (INC-7001)")
    assert "| CLEAN |" in urgent
    secret = next(line for line in text.splitlines() if "inc-4530" in line)
    assert "| not reviewed | no report |" in secret


def test_a_second_run_updates_the_same_pull_request(root: Path, github: FakeTeams) -> None:
    assert run(root) == 0
    assert run(root) == 0

    assert len(github.pulls) == 1
    assert github.commits_made == 1  # the branch already held this file: no second commit
    assert github.branches == ["refs/heads/lapse-recertify/2026-H2", "refs/heads/main"]


def test_a_change_in_the_half_updates_the_same_pull_request(root: Path, github: FakeTeams) -> None:
    assert run(root) == 0
    assert cli.main(["-C", str(root), "recertify", "--at", "2026-12-20T00:00:00Z"]) == 0

    assert len(github.pulls) == 1
    assert github.commits_made == 2
    assert "2026-12-20T00:00:00Z" in written(github)


def test_a_run_after_the_merge_starts_the_next_half_year(root: Path, github: FakeTeams) -> None:
    assert run(root) == 0
    place(root, "reports/recertification/2026-H2.md", written(github))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Merge the recertification")

    assert run(root) == 0

    assert [p["head"]["ref"] for p in github.pulls] == [
        "lapse-recertify/2026-H2",
        "lapse-recertify/2027-H1",
    ]
    assert written(github).startswith("# Access recertification 2027-H1\n")


def test_a_file_written_but_not_committed_does_not_start_the_next_half(
    root: Path, github: FakeTeams
) -> None:
    place(root, "reports/recertification/2026-H2.md", "# not merged\n")

    assert run(root) == 0

    assert [p["head"]["ref"] for p in github.pulls] == ["lapse-recertify/2026-H2"]


def test_the_half_of_an_instant() -> None:
    assert recertification.half_of(datetime(2026, 6, 30, 23, 59, tzinfo=UTC)) == "2026-H1"
    assert recertification.half_of(datetime(2026, 7, 1, tzinfo=UTC)) == "2026-H2"
    assert recertification.next_half("2026-H2") == "2027-H1"
    assert recertification.next_half("2026-H1") == "2026-H2"
    with pytest.raises(ValueError, match="half-year"):
        recertification.next_half("2026-Q3")


def test_dry_run_reads_no_team_and_opens_nothing(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(root, "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.startswith("reports/recertification/2026-H2.md (not written: --dry-run)\n")
    assert "(members not resolved: GitHub was not read)" in out


def test_grants_outside_the_six_months_are_left_out(root: Path) -> None:
    repo = Repo.at(root)
    policy_at = datetime(2027, 9, 1, tzinfo=UTC)
    policy, _ = validate_policy(repo)
    assert policy is not None
    found = recertification.recertify(repo, policy, policy_at, None)
    assert found.half == "2027-H2"
    assert "### Grants of the six months (0)" in found.text


def test_a_broken_report_is_named_where_it_goes_wrong(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    place(
        root,
        "reports/pci-prod/2026-12/inc-4530-secret-metadata.json",
        '{"complete": true, "request": {"id": "inc-4530-secret-metadata"}, "worst": "NOPE"}',
    )
    assert run(root, "--dry-run") == 1
    captured = capsys.readouterr()
    assert "LAPSE115" in captured.err
    assert "reports/pci-prod/2026-12/inc-4530-secret-metadata.json:1:" in captured.err
    assert "## Files that could not be read" in captured.out
    secret = next(line for line in captured.out.splitlines() if "| inc-4530" in line)
    assert "| not reviewed | no report |" in secret
