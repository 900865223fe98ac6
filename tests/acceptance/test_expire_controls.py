"""Expiry never loses a record: what it archives, and which pull request it names as the source."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from generator.core.errors import ConfigError
from generator.core.model import Grant, Request, Window
from generator.github import request_pulls
from generator.github.records import PullInfo
from generator.lifecycle import expire, expiry_text
from tests.acceptance.test_expire_local import ALICE, BOB, NOW, checkout, commits, git
from tests.support import archive_of, place


def test_a_different_archive_file_appearing_after_planning_stops_the_run(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    plan = expire.plan_expiry(repo, NOW, timedelta(0))
    archived = repo.root / "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml"
    archived.parent.mkdir(parents=True)
    archived.write_bytes(b"requester: someone-else@example.com\n")
    request = (repo.root / ALICE).read_bytes()

    with pytest.raises(ConfigError, match="exists with other content"):
        expire.apply_local(repo, plan, expiry_text.commit_message(plan))

    assert archived.read_bytes() == b"requester: someone-else@example.com\n"
    assert (repo.root / ALICE).read_bytes() == request
    assert (repo.root / BOB).is_file()
    assert commits(repo.root) == 1


def test_an_identical_archive_file_appearing_after_planning_is_used(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    plan = expire.plan_expiry(repo, NOW, timedelta(0))
    archived = repo.root / "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml"
    archived.parent.mkdir(parents=True)
    archived.write_bytes((repo.root / ALICE).read_bytes())

    assert expire.apply_local(repo, plan, expiry_text.commit_message(plan)) is not None

    assert not (repo.root / ALICE).exists()
    tracked = git(repo.root, "ls-files", "archive").split()
    assert tracked == [
        "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml",
        "archive/pci-prod/2026-12/inc-4530-secret-metadata.yaml",
    ]


class Pulls:
    def __init__(self, pulls: list[tuple[int, bool]]) -> None:
        self.pulls = pulls

    def pulls_for_commit(self, sha: str) -> list[PullInfo]:
        return [
            PullInfo(n, "alice-ng", merged, sha if merged else None, sha, "main", "u", None)
            for n, merged in self.pulls
        ]


@pytest.mark.parametrize(
    ("pulls", "expected"),
    [
        ([(3, False), (9, True)], 9),  # an open pull that contains the commit is not its source
        ([(9, True), (3, False)], 9),
        ([(12, True), (9, True)], 9),  # merged twice (a revert and a re-merge): the first
        ([(5, False)], None),  # pushed straight to main: no pull request brought it in
        ([], None),
    ],
)
def test_the_merged_pull_is_named_as_the_source(
    tmp_path: Path, pulls: list[tuple[int, bool]], expected: int | None
) -> None:
    repo = checkout(tmp_path)
    lookup = request_pulls.source_pr_from_history(repo.root, Pulls(pulls))

    plan = expire.plan_expiry(repo, NOW, timedelta(0), lookup)

    assert [item.source_pr for item in plan.items] == [expected, expected]


def test_out_of_date_grants_of_remaining_requests_are_rewritten_in_the_commit(
    tmp_path: Path,
) -> None:
    repo = checkout(tmp_path)
    stale = repo.root / "terraform/grants/pci-prod.inc-4533-chargeback-query.tf"
    current = stale.read_bytes()
    stale.write_bytes(current.replace(b"Reconcile", b"Stale text"))
    git(repo.root, "commit", "-q", "-am", "A grants file out of date")

    plan = expire.plan_expiry(repo, NOW, timedelta(0))
    assert plan.rerendered == ("terraform/grants/pci-prod.inc-4533-chargeback-query.tf",)
    assert expire.apply_local(repo, plan, expiry_text.commit_message(plan)) is not None

    assert stale.read_bytes() == current
    committed = git(
        repo.root, "show", "HEAD:terraform/grants/pci-prod.inc-4533-chargeback-query.tf"
    )
    assert committed.encode() == current


def test_an_expired_request_without_a_grants_file_is_still_archived(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    (repo.root / "terraform/grants/pci-prod.inc-4512-settlement-batch.tf").unlink()

    plan = expire.plan_expiry(repo, NOW, timedelta(0))

    alice = next(item for item in plan.items if item.path == ALICE)
    assert alice.grants_path is None
    assert plan.changes[ALICE] is None


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


ALICE_REQUEST = Request(
    id="inc-4512-settlement-batch",
    target="pci-prod",
    path=ALICE,
    requester="alice@example.com",
    reason="Investigate the settlement batch",
    ticket="INC-4512",
    window=Window(None, at("2026-12-01T13:00:00Z")),
    grants=(Grant("roles/cloudsql.client", "project", "pci-prod-payments"),),
)


@pytest.mark.parametrize(
    "path", ["requests/pci-prod/sub/x.yaml", "drafts/pci-prod/x.yaml", "requests/pci-prod/x.yml"]
)
def test_only_request_paths_have_an_archive_path(path: str) -> None:
    request = replace(ALICE_REQUEST, path=path)
    assert expire.archive_path_of(request) is None
    # Filed under the month (UTC) its window ended; an offset can move it across a month.
    assert expire.archive_path_of(ALICE_REQUEST) == (
        "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml"
    )
    late = replace(ALICE_REQUEST, window=Window(None, at("2026-12-01T00:30:00+01:00")))
    assert expire.archive_path_of(late) == (
        "archive/pci-prod/2026-11/inc-4512-settlement-batch.yaml"
    )
    urgent = replace(late, path="requests/pci-prod/emergency/inc-4512-settlement-batch.yaml")
    assert expire.archive_path_of(urgent) == (
        "archive/pci-prod/emergency/2026-11/inc-4512-settlement-batch.yaml"
    )


def test_the_source_is_the_pull_that_added_the_request_not_a_later_edit(tmp_path: Path) -> None:
    from tests.acceptance.test_expire_local import Pulls as ByCommit

    repo = checkout(tmp_path)
    added = git(repo.root, "rev-parse", "HEAD").strip()
    path = repo.root / ALICE
    path.write_bytes(path.read_bytes() + b"# a later edit\n")
    git(repo.root, "commit", "-q", "-am", "Edit the request")
    edited = git(repo.root, "rev-parse", "HEAD").strip()
    lookup = request_pulls.source_pr_from_history(repo.root, ByCommit({added: [41], edited: [52]}))

    assert lookup(ALICE) == 41


def _commit(root: Path, path: str, suffix: bytes, message: str) -> str:
    """Append `suffix` to the file at `path` and commit it; the new commit's sha."""
    target = root / path
    target.write_bytes(target.read_bytes() + suffix)
    git(root, "commit", "-q", "-am", message)
    return git(root, "rev-parse", "HEAD").strip()


def test_the_pulls_that_changed_a_request_are_those_that_changed_it_on_main(
    tmp_path: Path,
) -> None:
    from tests.acceptance.test_expire_local import Pulls as ByCommit

    root = checkout(tmp_path).root
    added = git(root, "rev-parse", "HEAD").strip()
    pushed = _commit(root, ALICE, b"# pushed to main, no pull request\n", "Direct push")
    git(root, "checkout", "-q", "-b", "extend")
    extended = _commit(root, ALICE, b"# extended\n", "Extend the window")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge #43", "extend")
    merged = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "-b", "undone")  # changed on its branch, back as it was
    tried = _commit(root, ALICE, b"# tried\n", "Try an edit")
    git(root, "revert", "--no-edit", "HEAD")
    reverted = git(root, "rev-parse", "HEAD").strip()
    _commit(root, BOB, b"# unrelated\n", "Edit another request")
    unrelated_on_branch = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge #44", "undone")
    undone = git(root, "rev-parse", "HEAD").strip()
    rebased = [_commit(root, ALICE, f"# part {n}\n".encode(), "Rebase-merged #45") for n in (1, 2)]
    other = _commit(root, BOB, b"# edited by #47\n", "Edit another request on main")
    archive = root / archive_of(ALICE, "2026-12")
    archive.parent.mkdir(parents=True)
    git(root, "mv", ALICE, str(archive.relative_to(root)))
    git(root, "commit", "-q", "-m", "Expire (#46)")
    expired = git(root, "rev-parse", "HEAD").strip()
    github = ByCommit(
        {
            added: [41],
            extended: [43],
            merged: [43],
            tried: [44],
            reverted: [44],
            unrelated_on_branch: [44],
            undone: [44],
            rebased[0]: [45],
            rebased[1]: [45],
            other: [47],
            expired: [46],
        }
    )
    lookup = request_pulls.change_prs_from_history(root, github)

    # The request is archived now, as when a review reads its history.
    assert lookup(ALICE) == [43, 45]
    assert pushed in github.asked  # asked, and no pull request named for it


def test_only_commits_are_looked_up_whatever_bytes_a_request_once_held(tmp_path: Path) -> None:
    from tests.acceptance.test_expire_local import Pulls as ByCommit

    root = checkout(tmp_path).root
    # Past git's first 8,000 bytes a NUL does not make the file binary, so a patch would
    # carry it into the log that separates commits with NULs.
    odd = _commit(root, ALICE, b"#" + b" " * 8000 + b"\n# a\x00b\n", "Pushed with a NUL")
    github = ByCommit({odd: [48]})

    assert request_pulls.change_prs_from_history(root, github)(ALICE) == [48]
    assert github.asked == [odd]


def test_other_staged_changes_are_named_and_nothing_is_archived(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    plan = expire.plan_expiry(repo, NOW, timedelta(0))
    for n in range(1, 7):
        place(repo.root, f"notes/{n}.txt", "unrelated\n")
    git(repo.root, "add", "notes")

    with pytest.raises(ConfigError) as refused:
        expire.apply_local(repo, plan, expiry_text.commit_message(plan))

    assert str(refused.value) == (
        "git has other changes staged (notes/1.txt, notes/2.txt, notes/3.txt, notes/4.txt, "
        "notes/5.txt): commit or unstage them before expiring, so the archive commit holds "
        "only the archive. Nothing was archived."
    )
    assert (repo.root / ALICE).is_file() and not (repo.root / "archive").exists()


def test_a_shallow_checkout_is_refused_in_words_that_say_how_to_fix_it(tmp_path: Path) -> None:
    from tests.acceptance.test_expire_local import Pulls as ByCommit

    repo = checkout(tmp_path)
    _commit(repo.root, BOB, b"# a second commit, so a depth-1 clone is shallow\n", "Edit")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.root}", str(shallow))

    with pytest.raises(ConfigError) as refused:
        request_pulls.source_pr_from_history(shallow, ByCommit({}))

    assert str(refused.value) == (
        "the checkout is shallow, so the pull request that added each request cannot be "
        "found: check out the full history (actions/checkout with fetch-depth: 0)"
    )


def test_a_staged_rename_onto_an_archive_path_names_the_file_it_removes(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    copy = "notes/inc-4512-settlement-batch.yaml"  # an exact copy kept elsewhere, committed
    place(repo.root, copy, (repo.root / ALICE).read_bytes())
    git(repo.root, "add", copy)
    git(repo.root, "commit", "-q", "-m", "Keep a copy")
    (repo.root / archive_of(ALICE, "2026-12")).parent.mkdir(parents=True)
    git(repo.root, "mv", copy, archive_of(ALICE, "2026-12"))  # git sees a rename
    plan = expire.plan_expiry(repo, NOW, timedelta(0))

    with pytest.raises(ConfigError, match=r"other changes staged \(notes/inc-4512"):
        expire.apply_local(repo, plan, expiry_text.commit_message(plan))

    assert git(repo.root, "ls-tree", "--name-only", "HEAD", "notes/").split() == [copy]
    assert commits(repo.root) == 2


def test_requests_edited_after_planning_are_named_and_nothing_is_archived(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    plan = expire.plan_expiry(repo, NOW, timedelta(0))
    for path in (ALICE, BOB):
        (repo.root / path).write_bytes((repo.root / path).read_bytes() + b"# edited\n")

    with pytest.raises(ConfigError) as refused:
        expire.apply_local(repo, plan, expiry_text.commit_message(plan))

    assert str(refused.value) == (f"changed since planning: {ALICE}, {BOB}; nothing was archived")
    assert not (repo.root / "archive").exists()


def test_a_run_stopped_after_its_commit_is_finished_without_another(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    plan = expire.plan_expiry(repo, NOW, timedelta(0))
    left = {
        path: (repo.root / path).read_bytes() for path, data in plan.changes.items() if data is None
    }
    assert expire.apply_local(repo, plan, expiry_text.commit_message(plan)) is not None
    for path, data in left.items():  # as if the run stopped before removing the files
        place(repo.root, path, data)
    rerun = expire.plan_expiry(repo, NOW, timedelta(0))

    assert expire.apply_local(repo, rerun, expiry_text.commit_message(rerun)) is None

    assert commits(repo.root) == 2
    assert not any((repo.root / path).exists() for path in left)
    assert git(repo.root, "status", "--porcelain") == ""
