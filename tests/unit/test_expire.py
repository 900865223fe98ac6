"""`lapse expire`: planning from a repository, and the pull request mode through PyGithub.

GitHub is a small stateful fake behind `responses`, answering with GitHub's own JSON shapes, so
re-runs after a failure at each step can be watched converging.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses

from generator.checks.validate import validate_repo
from generator.core.errors import ConfigError, ServiceError
from generator.core.repo import Repo
from generator.github.client import GitHubClient
from generator.github.records import hidden_marker
from generator.lifecycle import expire, expiry_text
from generator.terraform.grants_folder import apply, compare
from generator.terraform.render import render_all
from tests.github_fake import BASE_TREE, FakeGitHub
from tests.support import archive_of, make_repo, place

STALE = "5c1e9b0f7a3d2e4c6b8a0f1e3d5c7b9a2e4f6a8c"
NOW = datetime(2026, 12, 3, tzinfo=UTC)
ALICE = "requests/pci-prod/inc-4512-settlement-batch.yaml"
BOB = "requests/pci-prod/inc-4530-secret-metadata.yaml"
SOURCES = {ALICE: 41, BOB: 42}


@pytest.fixture
def github(http: responses.RequestsMock) -> FakeGitHub:
    return FakeGitHub(http)


@pytest.fixture
def client() -> GitHubClient:
    return GitHubClient("example-org/access", "test-token", sleep=lambda _: None)


def rendered(root: Path) -> Repo:
    """The sample repository with its grants rendered, as it stands on main."""
    repo = Repo.at(root)
    requests = validate_repo(repo, now=None).requests
    apply(repo.grants, compare(repo.grants, render_all(requests)))
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return rendered(make_repo(tmp_path, with_requests=True))


def plan(repo: Repo, now: datetime = NOW) -> expire.ExpiryPlan:
    return expire.plan_expiry(repo, now, timedelta(0), SOURCES.get)


# --- planning ----------------------------------------------------------------------------------


def test_plan_moves_the_expired_requests_and_deletes_their_grants(repo: Repo) -> None:
    result = plan(repo)

    assert [item.path for item in result.items] == [ALICE, BOB]
    assert result.changes == {
        "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml": (repo.root / ALICE).read_bytes(),
        "archive/pci-prod/2026-12/inc-4530-secret-metadata.yaml": (repo.root / BOB).read_bytes(),
        ALICE: None,
        BOB: None,
        "terraform/grants/pci-prod.inc-4512-settlement-batch.tf": None,
        "terraform/grants/pci-prod.inc-4530-secret-metadata.tf": None,
    }
    assert result.rerendered == ()
    alice = result.items[0]
    assert (alice.request.requester, alice.expired_at, alice.source_pr) == (
        "alice@example.com",
        "2026-12-01T13:00:00Z",
        41,
    )
    # 09:30+01:00 is written back in UTC.
    assert result.items[1].expired_at == "2026-12-02T08:30:00Z"


def test_a_request_expires_at_its_instant_and_grace_delays_it(repo: Repo) -> None:
    at_expiry = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)

    assert [i.path for i in expire.plan_expiry(repo, at_expiry).items] == [ALICE]
    assert expire.plan_expiry(repo, at_expiry - timedelta(seconds=1)).empty
    assert expire.plan_expiry(repo, at_expiry + timedelta(minutes=14), timedelta(minutes=15)).empty
    late = expire.plan_expiry(repo, at_expiry + timedelta(minutes=15), timedelta(minutes=15))
    assert [i.path for i in late.items] == [ALICE]


def test_nothing_expired_is_an_empty_plan(repo: Repo) -> None:
    result = expire.plan_expiry(repo, datetime(2026, 11, 30, tzinfo=UTC))

    assert result.empty and result.changes == {}
    assert expiry_text.describe(result) == (
        "Nothing to archive: no request expired at or before 2026-11-30T00:00:00Z.\n"
    )


def test_a_broken_repository_is_refused(repo: Repo) -> None:
    place(repo.root, "requests/pci-prod/inc-4599-broken.yaml", "requester: alice@example.com\n")

    each = r"has 4 validation errors:\n  requests/pci-prod/inc-4599-broken\.yaml:\d+:\d+: LAPSE1"
    with pytest.raises(ConfigError, match=rf"(?s){each}.*Nothing was archived"):
        plan(repo)


def test_a_different_archived_file_of_the_same_name_is_never_overwritten(
    repo: Repo, http: responses.RequestsMock
) -> None:
    place(
        repo.root,
        "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml",
        b"requester: mallory\n",
    )

    with pytest.raises(ConfigError, match="never overwritten") as refused:
        plan(repo)

    assert str(refused.value) == (
        "1 request shares a name with a different archived file: "
        "requests/pci-prod/inc-4512-settlement-batch.yaml "
        "(archive: archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml). "
        "An archived request is never overwritten and ids are never reused: "
        "give the request a new id. Nothing was archived."
    )
    assert (repo.root / ALICE).is_file()
    assert len(http.calls) == 0


def test_every_request_sharing_a_name_with_an_archived_file_is_named(repo: Repo) -> None:
    for path in (ALICE, BOB):
        place(repo.root, archive_of(path, "2026-12"), b"requester: mallory\n")

    with pytest.raises(ConfigError) as refused:
        plan(repo)

    assert str(refused.value) == (
        "2 requests share a name with a different archived file: "
        f"{ALICE} (archive: {archive_of(ALICE, '2026-12')}), "
        f"{BOB} (archive: {archive_of(BOB, '2026-12')}). "
        "An archived request is never overwritten and ids are never reused: "
        "give the request a new id. Nothing was archived."
    )


@pytest.mark.parametrize(
    "copy",
    [
        "archive/staging/2026-12/inc-4512-settlement-batch.yaml",  # another target's
        "archive/pci-prod/emergency/2026-12/inc-4512-settlement-batch.yaml",  # an emergency's
    ],
)
def test_an_identical_copy_in_another_targets_or_kinds_folder_is_not_the_requests(
    repo: Repo, copy: str
) -> None:
    place(repo.root, copy, (repo.root / ALICE).read_bytes())

    with pytest.raises(ConfigError) as refused:
        plan(repo)

    assert str(refused.value).startswith(
        f"1 request shares a name with a different archived file: {ALICE} (archive: {copy}). "
    )


def test_a_misplaced_file_under_requests_is_refused_by_name(repo: Repo) -> None:
    misplaced = "requests/pci-prod/drafts/inc-4599-draft.yaml"
    place(repo.root, misplaced, (repo.root / ALICE).read_bytes())

    with pytest.raises(ConfigError) as refused:
        plan(repo)

    assert str(refused.value) == (
        "the repository has 1 validation error:\n"
        f"  {misplaced}:1:1: LAPSE130 a request must be requests/<target>/<id>.yaml or "
        "requests/<target>/emergency/<id>.yaml\n"
        "run `lapse validate`, fix them, and expire again. Nothing was archived."
    )


def test_a_finished_leftover_is_not_listed_among_the_errors_that_stop_a_run(repo: Repo) -> None:
    place(repo.root, archive_of(ALICE, "2026-12"), (repo.root / ALICE).read_bytes())
    broken = "requests/pci-prod/inc-4599-broken.yaml"
    place(repo.root, broken, "requester: alice@example.com\n")

    with pytest.raises(ConfigError) as refused:
        plan(repo)

    missing = "LAPSE120 the document: missing required key"
    assert str(refused.value) == (
        "the repository has 4 validation errors:\n"
        f"  {broken}:1:1: {missing} 'expires'\n"
        f"  {broken}:1:1: {missing} 'grants'\n"
        f"  {broken}:1:1: {missing} 'reason'\n"
        f"  {broken}:1:1: {missing} 'ticket'\n"
        "run `lapse validate`, fix them, and expire again. Nothing was archived."
    )


def test_an_identical_archived_copy_left_by_an_interrupted_run_is_finished(repo: Repo) -> None:
    original = (repo.root / ALICE).read_bytes()
    place(repo.root, "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml", original)

    result = plan(repo)

    leftover = result.items[0]
    assert (leftover.path, leftover.already_archived) == (ALICE, True)
    assert result.changes[ALICE] is None
    # Sending the same bytes again changes nothing and keeps the copy in the same commit.
    assert result.changes["archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml"] == original
    assert "already in archive/, unchanged" in expiry_text.describe(result)


def test_an_identical_copy_of_an_unexpired_request_stays_an_error(repo: Repo) -> None:
    live = "requests/pci-prod/inc-4533-chargeback-query.yaml"
    place(repo.root, archive_of(live, "2026-12"), (repo.root / live).read_bytes())

    with pytest.raises(ConfigError, match="LAPSE133"):
        plan(repo)


def test_out_of_date_grants_are_re_rendered_and_named(repo: Repo) -> None:
    stale = repo.grants / "staging.chg-1210-batch-runner.tf"
    stale.write_text(stale.read_text().replace("CHG-1210", "CHG-0000"))

    result = plan(repo)

    assert result.rerendered == ("terraform/grants/staging.chg-1210-batch-runner.tf",)
    assert result.changes["terraform/grants/staging.chg-1210-batch-runner.tf"] is not None
    assert "terraform/grants/ was out of date" in expiry_text.describe(result)
    assert "**Review these too:**" in expiry_text.pr_body(result)


def test_describe_lists_what_moves(repo: Repo) -> None:
    text = expiry_text.describe(plan(repo))

    assert text.splitlines()[:6] == [
        "2 expired access requests to archive (expired at or before 2026-12-03T00:00:00Z):",
        f"  move   {ALICE} -> archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml",
        "         alice@example.com, expired 2026-12-01T13:00:00Z, from #41",
        "         roles/cloudsql.client on project pci-prod-payments",
        "         roles/storage.objectViewer on bucket settlement-exports",
        "  delete terraform/grants/pci-prod.inc-4512-settlement-batch.tf",
    ]


def test_bad_times_are_refused(repo: Repo) -> None:
    with pytest.raises(ConfigError, match="UTC offset") as no_offset:
        expire.plan_expiry(repo, datetime(2026, 12, 3))  # no offset: refused
    assert str(no_offset.value) == (
        "the time to expire at needs a UTC offset, e.g. 2026-12-03T00:00:00Z"
    )
    with pytest.raises(ConfigError, match="negative") as negative:
        expire.plan_expiry(repo, NOW, timedelta(minutes=-1))
    assert str(negative.value) == "the grace period cannot be negative"


# --- pull request mode -------------------------------------------------------------------------


def test_a_clean_run_makes_one_commit_and_opens_one_labelled_pull(
    repo: Repo, github: FakeGitHub, client: GitHubClient
) -> None:
    opened = expire.apply_pr(client, plan(repo))

    assert opened is not None and opened.number == 43
    assert github.branches == ["refs/heads/lapse/expire", "refs/heads/main"]
    assert github.commits_made == 1
    assert sorted(github.blob_contents) == sorted(
        [(repo.root / ALICE).read_bytes(), (repo.root / BOB).read_bytes()]
    )
    [tree] = github.tree_bodies
    assert tree["base_tree"] == BASE_TREE
    entries = {entry["path"]: entry for entry in tree["tree"]}
    assert sorted(entries) == [
        "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml",
        "archive/pci-prod/2026-12/inc-4530-secret-metadata.yaml",
        ALICE,
        BOB,
        "terraform/grants/pci-prod.inc-4512-settlement-batch.tf",
        "terraform/grants/pci-prod.inc-4530-secret-metadata.tf",
    ]
    deleted = sorted(path for path, entry in entries.items() if entry["sha"] is None)
    assert deleted == sorted([ALICE, BOB, *[p for p in entries if p.startswith("terraform/")]])
    assert all(e["mode"] == "100644" and e["type"] == "blob" for e in entries.values())

    [created] = github.pulls
    assert created["title"] == "Archive 2 expired access requests"
    assert github.label_bodies == [{"labels": ["lapse-expire"]}]
    body = created["body"]
    assert (
        "| alice@example.com | `roles/cloudsql.client` | project `pci-prod-payments` | "
        "2026-12-01T13:00:00Z | #41 |"
    ) in body
    assert (
        "| bob@example.com | `roles/secretmanager.viewer` | secret "
        "`projects/pci-prod-payments/secrets/settlement-db-readonly` | 2026-12-02T08:30:00Z | #42 |"
    ) in body
    assert "Access already ended" in body and "Merging removes the expired bindings" in body


def test_failure_writing_the_commit_then_a_rerun_converges(
    repo: Repo, github: FakeGitHub, client: GitHubClient
) -> None:
    # The branch is left over from an earlier, merged expiry pull request.
    github.refs["refs/heads/lapse/expire"] = STALE
    github.trees[STALE] = "2f4e6a8c0b1d3f5e7a9c"
    github.failures["post_commit"] = 5  # every retry of this run

    with pytest.raises(ServiceError, match="git/commits"):
        expire.apply_pr(client, plan(repo))
    assert github.refs["refs/heads/lapse/expire"] == STALE and github.pulls == []

    opened = expire.apply_pr(client, plan(repo))

    assert opened is not None and opened.number == 43
    assert github.commits_made == 1 and len(github.pulls) == 1
    assert github.refs["refs/heads/lapse/expire"] != STALE


def test_failure_after_the_commit_reruns_without_a_second_commit(
    repo: Repo, github: FakeGitHub, client: GitHubClient
) -> None:
    github.failures["post_pull"] = 5

    with pytest.raises(ServiceError, match="ensuring one pull request"):
        expire.apply_pr(client, plan(repo))
    assert github.commits_made == 1 and github.pulls == []
    head = github.refs["refs/heads/lapse/expire"]

    first = expire.apply_pr(client, plan(repo))
    again = expire.apply_pr(client, plan(repo))

    assert first is not None and again is not None and first.number == again.number == 43
    assert github.commits_made == 1
    assert github.refs["refs/heads/lapse/expire"] == head
    assert len(github.pulls) == 1 and github.label_bodies == [{"labels": ["lapse-expire"]}]


def test_failure_moving_the_branch_then_a_rerun_converges(
    repo: Repo, github: FakeGitHub, client: GitHubClient
) -> None:
    github.failures["post_ref"] = 5  # the commit exists, no branch points at it

    with pytest.raises(ServiceError, match="refs/heads/lapse/expire"):
        expire.apply_pr(client, plan(repo))
    assert github.branches == ["refs/heads/main"] and github.pulls == []

    opened = expire.apply_pr(client, plan(repo))

    # The unreachable first commit is garbage GitHub collects; the branch holds one commit.
    assert opened is not None and len(github.pulls) == 1
    assert github.branches == ["refs/heads/lapse/expire", "refs/heads/main"]
    assert github.tree_at("lapse/expire") == github.sha_of(github.tree_bodies[-1])


def test_failure_before_the_pull_request_is_looked_up_then_a_rerun_converges(
    repo: Repo, github: FakeGitHub, client: GitHubClient
) -> None:
    github.failures["list_pulls"] = 5

    with pytest.raises(ServiceError):
        expire.apply_pr(client, plan(repo))
    assert github.commits_made == 1 and github.pulls == []

    expire.apply_pr(client, plan(repo))

    assert github.commits_made == 1 and len(github.pulls) == 1


def test_failure_labelling_the_pull_then_a_rerun_labels_the_same_pull(
    repo: Repo, github: FakeGitHub, client: GitHubClient
) -> None:
    github.failures["labels"] = 5

    with pytest.raises(ServiceError):
        expire.apply_pr(client, plan(repo))
    assert len(github.pulls) == 1 and github.pulls[0]["labels"] == []

    opened = expire.apply_pr(client, plan(repo))

    assert opened is not None and opened.number == 43 and len(github.pulls) == 1
    assert [label["name"] for label in github.pulls[0]["labels"]] == ["lapse-expire"]
    assert github.commits_made == 1


def test_nothing_expired_makes_no_call_at_all(
    repo: Repo, http: responses.RequestsMock, client: GitHubClient
) -> None:
    empty = expire.plan_expiry(repo, datetime(2026, 11, 30, tzinfo=UTC))

    assert expire.apply_pr(client, empty) is None
    assert len(http.calls) == 0


def test_the_title_counts_requests(repo: Repo) -> None:
    one = expire.plan_expiry(repo, datetime(2026, 12, 1, 14, 0, tzinfo=UTC))

    assert expiry_text.pr_title(one) == "Archive 1 expired access request"
    assert expiry_text.commit_message(one) == (
        "Archive 1 expired access request\n\n"
        f"- {ALICE} -> archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml\n"
    )
    assert "| — |" in expiry_text.pr_body(one)  # no source pull request known


# --- reminders ---------------------------------------------------------------------------------


def test_reminders_comment_once_on_the_source_pull(
    repo: Repo, github: FakeGitHub, client: GitHubClient
) -> None:
    now = datetime(2026, 12, 3, 16, 30, tzinfo=UTC)
    chargeback = "requests/pci-prod/inc-4533-chargeback-query.yaml"
    sources = {chargeback: 44, "requests/staging/chg-1207-folder-review.yaml": 45}

    first = expire.remind(client, repo, now, timedelta(hours=1), sources.get)
    second = expire.remind(client, repo, now, timedelta(hours=1), sources.get)

    assert (first, second) == ([44], [])
    [comment] = github.comments[44]
    assert comment["body"].endswith(hidden_marker("expiry-reminder-inc-4533-chargeback-query"))
    assert "ends at **2026-12-03T17:00:00Z** (in about 30m)" in comment["body"]
    assert "open a new access request" in comment["body"]
    assert 45 not in github.comments  # ends on 4 December, outside the window


def test_reminders_skip_requests_without_a_known_pull(
    repo: Repo, http: responses.RequestsMock, client: GitHubClient
) -> None:
    now = datetime(2026, 12, 3, 16, 30, tzinfo=UTC)

    assert expire.remind(client, repo, now, timedelta(hours=1), lambda _: None) == []
    assert len(http.calls) == 0


def test_reminders_cover_now_exclusive_to_now_plus_within_inclusive(
    repo: Repo, github: FakeGitHub, client: GitHubClient
) -> None:
    at_expiry = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    sources = {"requests/pci-prod/inc-4533-chargeback-query.yaml": 44}

    assert expire.remind(client, repo, at_expiry, timedelta(hours=1), sources.get) == []
    edge = at_expiry - timedelta(hours=1)
    assert expire.remind(client, repo, edge, timedelta(hours=1), sources.get) == [44]


def test_requests_ending_soon_are_listed_soonest_first_not_by_path(repo: Repo) -> None:
    chargeback = "requests/pci-prod/inc-4533-chargeback-query.yaml"  # ends 3 December 17:00
    folder_review = "requests/staging/chg-1207-folder-review.yaml"  # ends 4 December 20:00
    sooner = "requests/staging/chg-1199-folder-audit.yaml"  # after both by path, ends first
    text = (repo.root / folder_review).read_text()
    for old, new in (
        ("CHG-1207", "CHG-1199"),
        ("2026-12-04T08:00:00Z", "2026-12-03T08:00:00Z"),
        ("2026-12-04T20:00:00Z", "2026-12-03T12:00:00Z"),
    ):
        text = text.replace(old, new)
    place(repo.root, sooner, text)

    ending = expire.ending_within(repo, NOW, timedelta(days=2))

    assert [r.path for r in ending] == [sooner, chargeback, folder_review]


def test_a_reminder_window_of_zero_ends_nothing_and_a_negative_one_is_refused(
    repo: Repo,
) -> None:
    at_expiry = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # the chargeback request's end

    assert expire.ending_within(repo, at_expiry, timedelta(0)) == []
    with pytest.raises(ConfigError) as refused:
        expire.ending_within(repo, at_expiry, timedelta(seconds=-1))
    assert str(refused.value) == "the reminder window cannot be negative"


def test_other_pull_requests_are_never_taken_for_the_expiry_pull(
    repo: Repo, github: FakeGitHub, client: GitHubClient
) -> None:
    github.add_pull(7, head="feature/new-target")  # open into main, another branch
    github.add_pull(8, head="lapse/expire", base="release")  # our branch, another base
    github.add_pull(9, head="lapse/expire", state="closed")  # ours, but closed

    opened = expire.apply_pr(client, plan(repo))

    assert opened is not None and opened.number == 46
    assert [(p["number"], p["title"]) for p in github.pulls][:3] == [
        (7, "Unrelated pull request #7"),
        (8, "Unrelated pull request #8"),
        (9, "Unrelated pull request #9"),
    ]
    assert github.label_bodies == [{"labels": ["lapse-expire"]}]
    listed = [c.request.url for c in github.http.calls if c.request.method == "GET"]
    assert any("head=example-org%3Alapse%2Fexpire" in (url or "") for url in listed)
