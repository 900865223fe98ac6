"""archive/ and reports/ only grow, and archive/ only by the move `lapse expire` makes.

Real git histories and the real CLI: a branch off main is judged by `lapse validate
--changed-since main`, as the pull request's check judges it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from generator import cli
from tests.support import make_repo, place

AT = "2026-12-03T00:00:00Z"  # after the two pci-prod samples ended (2026-12-01)
ALICE = "requests/pci-prod/inc-4512-settlement-batch.yaml"
ALICE_ARCHIVED = "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml"
BOB_ARCHIVED = "archive/pci-prod/2026-12/inc-4530-secret-metadata.yaml"
STAGING = "requests/staging/chg-1207-folder-review.yaml"
REPORT = "reports/pci-prod/2026-12/inc-4512-settlement-batch.md"
GIT = ["git", "-c", "user.name=Lapse Test", "-c", "user.email=test@example.com"]


def git(root: Path, *args: str) -> str:
    done = subprocess.run([*GIT, *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """main: the sample requests rendered, the expired two archived by `lapse expire`, and a
    merged report; then a branch `pr` off it, as a pull request starts."""
    root = make_repo(tmp_path / "repo", with_requests=True)
    assert cli.main(["render", "--root", str(root)]) == 0
    git(root, "init", "-q", "-b", "main")
    commit(root, "lapse repository")
    expired = ["expire", "--mode", "local", "--at", AT, "--root", str(root)]
    assert cli.main(expired) == 0
    place(root, REPORT, "# Review of inc-4512-settlement-batch\n\nNo deviation.\n")
    commit(root, "Review reports")
    git(root, "checkout", "-qb", "pr")
    return root


def validate(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = cli.main(["validate", "--changed-since", "main", "--now", AT, "--root", str(root)])
    out = capsys.readouterr().out
    return code, [line for line in out.splitlines() if "[LAPSE15" in line]


def move(root: Path, source: str, destination: str) -> None:
    (root / destination).parent.mkdir(parents=True, exist_ok=True)
    os.replace(root / source, root / destination)


def expire_withdrawn(root: Path) -> None:
    """Withdraw the staging sample as `lapse withdraw` does; its move is the one lapse makes."""
    argv = ["withdraw", "chg-1207-folder-review", "--reason", "The folder review is done early"]
    assert cli.main([*argv, "--now", AT, "--root", str(root)]) == 0


# --- what lapse itself does passes --------------------------------------------------------


def test_the_move_lapse_expire_makes_passes_the_pull_request_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    assert cli.main(["render", "--root", str(root)]) == 0
    git(root, "init", "-q", "-b", "main")
    commit(root, "lapse repository")
    git(root, "checkout", "-qb", "lapse/expire")
    expired = ["expire", "--mode", "local", "--allow-other-branch", "--at", AT]
    assert cli.main([*expired, "--root", str(root)]) == 0
    assert (root / ALICE_ARCHIVED).is_file() and not (root / ALICE).exists()

    assert validate(root, capsys) == (0, [])


def test_the_move_lapse_withdraw_makes_passes(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expire_withdrawn(root)
    assert (root / "archive/staging/2026-12/chg-1207-folder-review.yaml").is_file()
    assert validate(root, capsys) == (0, [])


def test_a_request_edited_beside_a_withdrawal_does_not_hide_the_move(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expire_withdrawn(root)
    edited = root / "requests/pci-prod/inc-4533-chargeback-query.yaml"  # listed before staging
    edited.write_text(edited.read_text() + "# a note\n")
    assert validate(root, capsys) == (0, [])


def test_an_archived_file_moved_to_its_right_month_is_still_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only a request leaving requests/ may be added to the archive: an archived file filed
    under the wrong month on main is not put right by moving it."""
    wrong = "archive/pci-prod/2026-11/inc-4512-settlement-batch.yaml"
    move(root, ALICE_ARCHIVED, wrong)
    commit(root, "misfiled on main")
    git(root, "branch", "-qf", "main")
    move(root, wrong, ALICE_ARCHIVED)
    code, lines = validate(root, capsys)
    assert code == 1
    assert lines == [
        f"{wrong}:1:1: error [LAPSE150] removes the archived request {wrong}",
        f"{ALICE_ARCHIVED}:1:1: error [LAPSE150] adds {ALICE_ARCHIVED}, which is not a request "
        "moved here from requests/ in the same change: archive/ takes only "
        "requests/<target>/[emergency/]<id>.yaml, moved to "
        "archive/<target>/[emergency/]<YYYY-MM>/<id>.yaml",
    ]


def test_a_new_report_passes(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    place(root, "reports/pci-prod/2026-12/inc-4530-secret-metadata.md", "# Review\n")
    commit(root, "Review reports")
    assert validate(root, capsys) == (0, [])


def test_a_report_rewritten_on_its_branch_before_it_reaches_main_passes(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = "reports/pci-prod/2026-12/inc-4530-secret-metadata.json"
    place(root, path, '{"complete": false}\n')
    commit(root, "Review reports (incomplete)")
    place(root, path, '{"complete": true}\n')
    commit(root, "Review reports (complete)")
    assert validate(root, capsys) == (0, [])


# --- edits, removals and additions under archive/ -----------------------------------------


def test_editing_an_archived_request_is_refused_at_the_changed_line(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = root / ALICE_ARCHIVED
    file.write_text(file.read_text().replace("merchant 4411", "merchant 4412"))
    code, lines = validate(root, capsys)
    assert code == 1
    assert lines == [
        f"{ALICE_ARCHIVED}:3:61: error [LAPSE150] edits the archived request {ALICE_ARCHIVED}"
    ]


def test_removing_an_archived_request_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / ALICE_ARCHIVED).unlink()
    commit(root, "Remove an archived request")
    code, lines = validate(root, capsys)
    assert code == 1
    assert lines == [
        f"{ALICE_ARCHIVED}:1:1: error [LAPSE150] removes the archived request {ALICE_ARCHIVED}"
    ]


def test_adding_a_file_to_the_archive_from_nowhere_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = "archive/pci-prod/emergency/2026-11/inc-7000-never-happened.yaml"
    place(root, fake, (root / ALICE_ARCHIVED).read_text().replace("13:00", "12:00"))
    code, lines = validate(root, capsys)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(f"{fake}:1:1: error [LAPSE150] adds {fake}")
    assert "not a request moved here from requests/" in lines[0]


def test_a_file_that_is_no_request_added_to_the_archive_is_told_what_archive_takes(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    place(root, "archive/notes.txt", "nothing to see\n")
    code, lines = validate(root, capsys)
    assert code == 1
    assert lines == [
        "archive/notes.txt:1:1: error [LAPSE150] adds archive/notes.txt, which is not a request "
        "moved here from requests/ in the same change: archive/ takes only "
        "requests/<target>/[emergency/]<id>.yaml, moved to "
        "archive/<target>/[emergency/]<YYYY-MM>/<id>.yaml"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "requester: alice@example.com\n",  # no expires
        "- expires: 2026-11-30T13:00:00Z\n",  # not a mapping
        "expires: [\n",  # not YAML
    ],
)
def test_a_request_without_a_readable_expiry_has_no_place_in_the_archive(
    root: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    source = "requests/pci-prod/inc-4600-unread.yaml"
    destination = "archive/pci-prod/2026-12/inc-4600-unread.yaml"
    git(root, "checkout", "-q", "main")
    place(root, source, text)
    commit(root, "A request lapse cannot read")
    git(root, "checkout", "-qB", "pr")
    move(root, source, destination)
    code, lines = validate(root, capsys)
    assert code == 1
    assert lines == [
        f"{destination}:1:1: error [LAPSE150] adds {destination}, but {source} has no "
        "`expires` lapse can read, so no month of archive/ is its"
    ]


# --- walking around the move --------------------------------------------------------------


def test_a_move_that_also_edits_the_bytes_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "requests/pci-prod/inc-4533-chargeback-query.yaml"
    destination = "archive/pci-prod/2026-12/inc-4533-chargeback-query.yaml"
    move(root, source, destination)
    text = (root / destination).read_text()
    (root / destination).write_text(text.replace("expires:", "# reviewed\nexpires:"))
    commit(root, "Archive early, with a note")
    code, lines = validate(root, capsys)
    assert code == 1
    (line,) = lines
    assert line.startswith(f"{destination}:1:1: error [LAPSE150] adds {destination} with other")
    assert "first at 6:1" in line


def test_a_move_to_another_month_is_refused(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = "requests/pci-prod/inc-4533-chargeback-query.yaml"
    wrong = "archive/pci-prod/2026-11/inc-4533-chargeback-query.yaml"
    move(root, source, wrong)
    code, lines = validate(root, capsys)
    assert code == 1
    assert lines == [
        f"{wrong}:1:1: error [LAPSE150] adds {wrong}, but the request it would move belongs "
        "at archive/pci-prod/2026-12/inc-4533-chargeback-query.yaml"
    ]


def test_a_move_from_another_target_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = "archive/pci-prod/2026-12/chg-1207-folder-review.yaml"
    move(root, STAGING, elsewhere)
    code, lines = validate(root, capsys)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(f"{elsewhere}:1:1: error [LAPSE150]")


def test_an_emergency_moved_into_the_normal_archive_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (root / "requests/pci-prod/inc-4533-chargeback-query.yaml").read_text()
    place(root, "requests/pci-prod/emergency/inc-7001-down.yaml", text)
    commit(root, "On main, as far as this test goes")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--ff-only", "pr")
    git(root, "checkout", "-q", "pr")
    move(
        root,
        "requests/pci-prod/emergency/inc-7001-down.yaml",
        "archive/pci-prod/2026-12/inc-7001-down.yaml",
    )
    code, lines = validate(root, capsys)
    assert code == 1
    assert "belongs at archive/pci-prod/emergency/2026-12/inc-7001-down.yaml" in lines[0]


def test_removing_and_adding_back_in_two_commits_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = (root / ALICE_ARCHIVED).read_bytes()
    (root / ALICE_ARCHIVED).unlink()
    removal = commit(root, "Remove it")
    place(root, ALICE_ARCHIVED, kept)
    commit(root, "Add it back")
    assert git(root, "diff", "main", "--stat") == ""  # the branch as a whole changes nothing
    code, lines = validate(root, capsys)
    assert code == 1
    assert lines == [
        f"{ALICE_ARCHIVED}:1:1: error [LAPSE150] commit {removal[:12]} removes the archived "
        f"request {ALICE_ARCHIVED}"
    ]


def test_a_symlink_in_the_archive_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "requests/pci-prod/inc-4533-chargeback-query.yaml"
    destination = root / "archive/pci-prod/2026-12/inc-4533-chargeback-query.yaml"
    kept = root / "kept.yaml"
    os.replace(root / source, kept)
    destination.symlink_to(kept)
    code, lines = validate(root, capsys)
    assert code == 1
    assert len(lines) == 1 and "as a symlink (120000)" in lines[0]


def test_a_move_to_another_extension_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "requests/pci-prod/inc-4533-chargeback-query.yaml"
    destination = "archive/pci-prod/2026-12/inc-4533-chargeback-query.yml"
    move(root, source, destination)
    code, lines = validate(root, capsys)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(f"{destination}:1:1: error [LAPSE150]")


def test_a_copy_that_keeps_the_request_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "requests/pci-prod/inc-4533-chargeback-query.yaml"
    copy = "archive/pci-prod/2026-12/inc-4533-chargeback-query.yaml"
    place(root, copy, (root / source).read_bytes())
    code, lines = validate(root, capsys)
    assert code == 1
    assert len(lines) == 1 and "not a request moved here" in lines[0]


@pytest.mark.parametrize("executable", [True, False])
def test_a_mode_change_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str], executable: bool
) -> None:
    if executable:  # an archived file made executable
        (root / ALICE_ARCHIVED).chmod(0o755)
        expected = f"changes the archived request {ALICE_ARCHIVED} from mode 100644 to 100755"
    else:  # a move that makes the file executable on the way
        source = "requests/pci-prod/inc-4533-chargeback-query.yaml"
        destination = "archive/pci-prod/2026-12/inc-4533-chargeback-query.yaml"
        move(root, source, destination)
        (root / destination).chmod(0o755)
        expected = (
            f"adds {destination} as a file (100755), but {source} was a file (100644): "
            "a move keeps the file as it was"
        )
    commit(root, "Mode")
    code, lines = validate(root, capsys)
    assert code == 1
    assert len(lines) == 1 and expected in lines[0]


@pytest.mark.parametrize("folder", ["Archive", "ARCHIVE", "archivE"])
def test_a_move_into_another_spelling_of_archive_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str], folder: str
) -> None:
    source = "requests/pci-prod/inc-4533-chargeback-query.yaml"
    destination = f"{folder}/pci-prod/2026-12/inc-4533-chargeback-query.yaml"
    move(root, source, destination)
    code, lines = validate(root, capsys)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(f"{destination}:1:1: error [LAPSE150]")


# --- reports ------------------------------------------------------------------------------


def test_editing_a_merged_report_is_refused(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / REPORT).write_text("# Review of inc-4512-settlement-batch\n\nSigned off.\n")
    code, lines = validate(root, capsys)
    assert code == 1
    assert lines == [f"{REPORT}:3:1: error [LAPSE151] edits the report {REPORT}"]


def test_an_edited_report_says_how_to_put_it_right(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / REPORT).write_text("# Review of inc-4512-settlement-batch\n\nSigned off.\n")
    capsys.readouterr()
    argv = ["validate", "--changed-since", "main", "--now", AT, "--root", str(root)]
    assert cli.main(argv) == 1
    hints = [line for line in capsys.readouterr().out.splitlines() if "hint:" in line]
    assert hints == ["    hint: a merged report is final: restore it, and add a new report instead"]


def test_a_line_added_to_a_merged_report_is_refused_where_it_starts(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / REPORT).write_text((root / REPORT).read_text() + "Signed off.\n")
    code, lines = validate(root, capsys)
    assert code == 1
    assert lines == [f"{REPORT}:4:1: error [LAPSE151] edits the report {REPORT}"]


def test_an_edit_inside_a_multi_byte_character_is_located_at_that_character(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # é and è share their first byte: the column counts characters, not bytes.
    git(root, "checkout", "-q", "main")
    (root / REPORT).write_text("# Review\n\nSigned by José.\n")
    commit(root, "Sign the review")
    git(root, "checkout", "-qB", "pr")
    (root / REPORT).write_text("# Review\n\nSigned by Josè.\n")
    code, lines = validate(root, capsys)
    assert code == 1
    assert lines == [f"{REPORT}:3:14: error [LAPSE151] edits the report {REPORT}"]


def test_removing_or_moving_a_merged_report_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    move(root, REPORT, REPORT.replace("2026-12", "2026-11"))
    code, lines = validate(root, capsys)
    assert code == 1
    assert lines == [f"{REPORT}:1:1: error [LAPSE151] removes the report {REPORT}"]


def test_a_report_added_as_a_symlink_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = root / "reports/pci-prod/2026-12/inc-4530-secret-metadata.md"
    link.symlink_to(root / REPORT)
    code, lines = validate(root, capsys)
    assert code == 1
    assert len(lines) == 1 and "as a symlink: a report is a plain file" in lines[0]


def test_a_submodule_in_the_archive_is_a_located_problem(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = git(root, "rev-parse", "HEAD")
    fake = "archive/pci-prod/2026-12/inc-4533-chargeback-query.yaml"
    (root / "requests/pci-prod/inc-4533-chargeback-query.yaml").unlink()
    git(root, "add", "-A")
    git(root, "update-index", "--add", "--cacheinfo", f"160000,{head},{fake}")
    git(root, "commit", "-qm", "A submodule where the record goes")
    code, lines = validate(root, capsys)
    assert code == 1
    assert len(lines) == 1 and "as a submodule (160000)" in lines[0]
