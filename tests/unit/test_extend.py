"""`lapse extend`: one small diff on a branch, validated as a changed file, and approved
afresh: `verify-plan` sees one condition updated and refuses it until the new bytes are
approved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import responses

from generator import cli
from generator.checks.validate import validate_policy, validate_repo
from generator.core.repo import Repo
from generator.github import request_pulls
from generator.github.client import GitHubClient
from generator.review.analysis import Review, review
from generator.review.publication import approval_evidence
from generator.review.report import markdown_report
from generator.review.selection import subjects
from generator.review.subjects import ReviewSubject
from tests.plans import History, Pull, binding, git, serve_history
from tests.unit.test_verify_plan import REQUEST, TEAMS, TEXT, history, rendered, verdicts, verify

__all__ = ["history"]  # the fixture, shared with the verify-plan tests

ID = "inc-4512-settlement-batch"
GRANTS = "terraform/grants/pci-prod.inc-4512-settlement-batch.tf"
AT = "2026-11-30T12:00:00Z"
WHY = "The settlement rerun is still going"


def merged_request(history: History) -> None:
    pull, _ = history.pull_request(42, "alice-ng", {REQUEST: TEXT})
    pull.approve("carol-diaz")
    assert cli.main(["render", "--root", str(history.root)]) == 0
    git(history.root, "add", "-A")
    git(history.root, "commit", "-qm", "render")
    git(history.root, "config", "user.email", "alice@example.com")
    git(history.root, "config", "user.name", "Alice Ng")


def extend(history: History, *args: str) -> int:
    argv = ["extend", ID, "--reason", WHY, "--at", AT, "--root", str(history.root), *args]
    return cli.main(argv)


def test_an_extension_is_one_small_diff_on_its_own_branch(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    merged_request(history)
    before = rendered(history.root)

    assert extend(history, "--by", "2h") == 0

    out = capsys.readouterr().out
    branch = "extend/inc-4512-settlement-batch-1"
    assert git(history.root, "branch", "--show-current") == branch
    assert "gh pr create --base main --title 'Extend inc-4512-settlement-batch by 2h'" in out
    diff = git(history.root, "diff", "-U0", "main", "--", REQUEST).split("\n")
    assert [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "-expires: 2026-11-30T13:00:00Z",
        "+expires: 2026-11-30T15:00:00Z",
        "+extensions:",
        f"+  - at: {AT}",
        "+    by: 2h",
        f'+    reason: "{WHY}"',
    ]
    after = rendered(history.root)
    assert (after.type, after.name, after.arguments, after.title) == (
        before.type,
        before.name,
        before.arguments,
        before.title,
    )
    assert after.expression == 'request.time < timestamp("2026-11-30T15:00:00Z")'
    assert before.expression == 'request.time < timestamp("2026-11-30T13:00:00Z")'
    changed = git(history.root, "diff", "--name-only", "main").split()
    assert sorted(changed) == sorted([REQUEST, GRANTS])
    assert (
        cli.main(["validate", "--root", str(history.root), "--at", AT, str(history.root / REQUEST)])
        == 0
    )


def test_a_second_extension_adds_an_entry_under_the_first(history: History) -> None:
    merged_request(history)
    assert extend(history, "--by", "1h") == 0
    git(history.root, "checkout", "-q", "main")
    git(history.root, "merge", "-q", "--no-ff", "-m", "merge", "extend/inc-4512-settlement-batch-1")

    assert extend(history, "--by", "90m", "--at", "2026-11-30T13:30:00Z") == 0

    text = (history.root / REQUEST).read_text()
    assert text.endswith(
        "extensions:\n"
        f'  - at: {AT}\n    by: 1h\n    reason: "{WHY}"\n'
        '  - at: 2026-11-30T13:30:00Z\n    by: 90m\n    reason: "' + WHY + '"\n'
    )
    assert "expires: 2026-11-30T15:30:00Z\n" in text


@pytest.mark.parametrize(
    ("by", "rule"),
    [("3h", "LAPSE308"), ("5h", "LAPSE308")],
)
def test_over_a_limit_is_refused_with_a_located_problem_and_nothing_changes(
    history: History, capsys: pytest.CaptureFixture[str], by: str, rule: str
) -> None:
    merged_request(history)
    head = git(history.root, "rev-parse", "HEAD")

    assert extend(history, "--by", by) == 1

    err = capsys.readouterr().err
    assert f"{REQUEST}:11:9: error [{rule}]" in err
    assert git(history.root, "rev-parse", "HEAD") == head
    assert git(history.root, "status", "--porcelain") == ""


def test_a_third_extension_is_refused(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    merged_request(history)
    for number, at in enumerate(("2026-11-30T12:00:00Z", "2026-11-30T12:30:00Z"), start=1):
        assert extend(history, "--by", "30m", "--at", at) == 0
        git(history.root, "checkout", "-q", "main")
        git(history.root, "merge", "-q", "--no-ff", "-m", "m", f"extend/{ID}-{number}")
    capsys.readouterr()

    assert extend(history, "--by", "30m", "--at", "2026-11-30T13:00:00Z") == 1

    assert f"{REQUEST}:16:5: error [LAPSE307]" in capsys.readouterr().err


def test_an_expired_grant_is_not_extended(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    merged_request(history)
    assert extend(history, "--by", "1h", "--at", "2026-11-30T13:00:00Z") == 2
    assert "expired at 2026-11-30T13:00:00Z" in capsys.readouterr().err


def test_dry_run_prints_the_diff_and_changes_nothing(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    merged_request(history)
    assert extend(history, "--by", "2h", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "+expires: 2026-11-30T15:00:00Z" in out
    assert git(history.root, "status", "--porcelain") == ""
    assert git(history.root, "branch", "--show-current") == "main"


def test_by_must_be_whole_minutes(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    merged_request(history)
    assert extend(history, "--by", "0m") == 2


def _merge_extension(history: History, number: int) -> Pull:
    assert extend(history, "--by", "2h") == 0
    branch = git(history.root, "branch", "--show-current")
    git(history.root, "checkout", "-q", "main")
    return history.merge(number, branch, "alice-ng", [REQUEST, GRANTS])


def test_an_extension_merged_without_fresh_approval_is_refused_by_verify_plan(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    merged_request(history)
    before = rendered(history.root)
    _merge_extension(history, 43)
    serve_history(http, history, TEAMS)
    after = rendered(history.root)
    update = binding(after, ("update",))
    update["change"]["before"]["condition"] = binding(before, ("update",))["change"]["before"][
        "condition"
    ]
    assert update["change"]["before"] != update["change"]["after"]

    code, evidence = verify(history, update)

    out = capsys.readouterr().out
    assert code == 1, out
    assert list(verdicts(evidence).values()) == ["refused"]
    assert "#43" in out


def test_an_extension_approved_afresh_is_verified(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    merged_request(history)
    pull = _merge_extension(history, 43)
    pull.approve("dave-li")
    serve_history(http, history, TEAMS)
    after = rendered(history.root)

    code, evidence = verify(history, binding(after, ("update",)))

    assert code == 0, capsys.readouterr().out
    (entry,) = evidence["changes"]
    assert [a["pull_request"]["number"] for a in entry["approvals"]] == [43]
    assert entry["approvals"][0]["approvers"] == ["dave-li"]


def test_the_review_of_an_extended_grant_covers_the_whole_window_and_cites_both_approvals(
    history: History, http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):  # merged before the window ended
        monkeypatch.setenv(name, "2026-11-30T09:00:00Z")
    git(history.root, "commit", "-q", "--amend", "--no-edit")
    merged_request(history)
    first = history.pulls[0]
    pull = _merge_extension(history, 43)
    pull.approve("dave-li")
    serve_history(http, history, TEAMS)
    repo = Repo.at(history.root)
    policy = validate_policy(repo)[0]
    assert policy is not None
    (request,) = validate_repo(repo, now=None).requests

    (subject,) = subjects(repo, policy, None, [(request, False)])

    assert subject.merge_commit == first.merge  # the window starts where the grant began
    assert subject.request.window.expires == datetime(2026, 11, 30, 15, tzinfo=UTC)
    github = GitHubClient("example-org/access", "t", sleep=lambda _seconds: None)
    evidence = approval_evidence(
        github,
        request_pulls.source_pr_from_history(history.root, github),
        request,
        request_pulls.change_prs_from_history(history.root, github),
    )
    assert evidence["pull request"] == "#42"
    assert evidence["approved by"] == ["carol-diaz"]
    assert evidence["extension approvals"] == [f"#43 approved by dave-li on {pull.head[:12]}"]
    assert evidence["extensions"] == [f"{AT}: +2h ({WHY})"]
    assert evidence["first expires"] == datetime(2026, 11, 30, 13, tzinfo=UTC)
    markdown = markdown_report(_review_of(subject), evidence)
    assert "#43 approved by dave-li" in markdown
    assert "#42" in markdown


def _review_of(subject: ReviewSubject) -> Review:
    reviewed = review(subject, [], grace=timedelta(0))
    assert (reviewed.window_start, reviewed.window_end) == (
        subject.merged_at,
        datetime(2026, 11, 30, 15, tzinfo=UTC),
    )
    return reviewed
