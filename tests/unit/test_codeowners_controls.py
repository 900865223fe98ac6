"""CODEOWNERS: who must approve a request folder, judged as GitHub judges it (last match wins)."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.github import codeowners
from tests.acceptance.cli import lapse
from tests.support import make_repo, place
from tests.unit.test_codeowners import _policy

PCI = "@example-org/pci-access-approvers"


def test_a_later_line_that_removes_a_folders_owners_is_reported() -> None:
    policy = _policy()
    generated = codeowners.updated("", policy)
    text = generated + "/requests/pci-prod/\n"
    line = len(text.splitlines())
    assert (
        f"requests/pci-prod/probe.yaml: line {line} makes the owners [], the policy says ['{PCI}']"
        in codeowners.shadowed(text, policy)
    )


def test_a_folder_with_no_line_at_all_is_reported() -> None:
    policy = _policy()
    taken = codeowners.shadowed("/docs/ @example-org/writers\n", policy)
    assert (
        f"requests/pci-prod/probe.yaml: no line makes the owners [], the policy says ['{PCI}']"
        in taken
    )


def test_a_later_line_that_takes_the_grants_folder_is_reported() -> None:
    policy = _policy()
    text = codeowners.updated("", policy) + "/terraform/grants/ @mallory\n"
    line = len(text.splitlines())
    taken = codeowners.shadowed(text, policy)
    assert (
        f"terraform/grants/pci-prod.probe.tf: line {line} makes the owners ['@mallory'], "
        f"the policy says ['{PCI}']"
    ) in taken


def test_comment_and_blank_lines_below_change_nothing() -> None:
    policy = _policy()
    text = codeowners.updated("", policy) + "\n# /requests/pci-prod/ @mallory\n   \n"
    assert codeowners.shadowed(text, policy) == []


def test_lines_after_the_end_marker_are_kept() -> None:
    policy = _policy()
    generated = codeowners.updated("", policy)
    after = "/docs/ @example-org/writers\n/notes/ @example-org/writers\n"
    assert codeowners.updated(generated + after, policy) == generated + after
    stale = generated.replace(PCI, "@example-org/old-team") + after
    assert codeowners.updated(stale, policy) == generated + after


def test_text_before_the_section_is_kept_byte_for_byte() -> None:
    policy = _policy()
    before = "# ours\n\n/docs/ @example-org/writers\n\n"
    generated = codeowners.section(policy)
    assert codeowners.updated(before + generated, policy) == before + generated


@pytest.mark.parametrize("current", ["/docs/ @example-org/writers", "# only a comment"])
def test_a_file_without_a_trailing_newline_gets_the_section_on_its_own_lines(current: str) -> None:
    policy = _policy()
    assert codeowners.updated(current, policy) == current + "\n\n" + codeowners.section(policy)


def test_a_section_ending_the_file_without_a_newline_is_replaced() -> None:
    policy = _policy()
    generated = codeowners.section(policy)
    assert codeowners.updated("/docs/ @w\n" + generated.rstrip("\n"), policy) == (
        "/docs/ @w\n" + generated
    )


def test_an_empty_file_is_only_the_section() -> None:
    policy = _policy()
    assert codeowners.updated("", policy) == codeowners.section(policy)


def test_cli_writes_a_file_without_trailing_newline_and_check_then_passes(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, ".github/CODEOWNERS", "/docs/ @example-org/writers")

    assert lapse("codeowners", cwd=root).code == 0
    text = (root / ".github/CODEOWNERS").read_text()
    assert text.startswith("/docs/ @example-org/writers\n\n# BEGIN lapse")
    assert lapse("codeowners --check", cwd=root).code == 0


def test_cli_check_fails_on_a_line_below_that_removes_owners(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    assert lapse("codeowners", cwd=root).code == 0
    path = root / ".github/CODEOWNERS"
    path.write_text(path.read_text() + "/requests/pci-prod/\n")

    checked = lapse("codeowners --check", cwd=root)

    assert checked.code == 1
    assert ".github/CODEOWNERS: requests/pci-prod/probe.yaml: line " in checked.err
    assert "makes the owners []" in checked.err


def test_the_diff_names_the_file_as_git_does() -> None:
    policy = _policy()
    text = codeowners.diff("/docs/ @w\n", codeowners.updated("/docs/ @w\n", policy))
    assert text.startswith("--- a/.github/CODEOWNERS\n+++ b/.github/CODEOWNERS\n")


def test_the_diff_keeps_each_line_on_its_own_line() -> None:
    text = codeowners.diff("/docs/ @w\n/ @a\n", "/docs/ @w\n/ @b\n")
    assert text.splitlines()[2:] == ["@@ -1,2 +1,2 @@", " /docs/ @w", "-/ @a", "+/ @b"]


def test_markers_with_trailing_spaces_still_bound_the_section() -> None:
    """Otherwise a second section is appended, and the next run deletes `/notes/` with the
    first one."""
    policy = _policy()
    generated = codeowners.section(policy)
    spaced = generated.replace(codeowners.BEGIN, codeowners.BEGIN + " ")
    spaced = spaced.replace(codeowners.END, codeowners.END + "\t ")
    after = "/notes/ @example-org/writers\n"
    assert codeowners.updated("/docs/ @w\n" + spaced + after, policy) == (
        "/docs/ @w\n" + generated + after
    )


def test_a_line_after_an_end_marker_with_trailing_spaces_is_named_in_full() -> None:
    policy = _policy()
    text = codeowners.section(policy).replace(codeowners.END, codeowners.END + "  ")
    text += "/notes/ @example-org/writers\n"
    line = len(text.splitlines())
    assert codeowners.shadowed(text, policy) == [
        f"line {line}: /notes/ follows the generated section, so it takes what it matches "
        "from the owners the policy names"
    ]


@pytest.mark.parametrize("above", ["", f"{codeowners.END}\n/notes/ @example-org/writers\n"])
def test_a_section_whose_end_marker_was_deleted_runs_to_the_end_of_the_file(above: str) -> None:
    """One run writes what a second would: `lapse codeowners --check` passes after a write."""
    policy = _policy()
    broken = "/docs/ @w\n" + above + codeowners.BEGIN + "\n* @example-org/old-team\n"
    written = codeowners.updated(broken, policy)
    assert written == "/docs/ @w\n" + above + codeowners.section(policy)
    assert codeowners.updated(written, policy) == written


def test_one_blank_line_separates_the_file_from_an_appended_section() -> None:
    policy = _policy()
    assert codeowners.updated("/docs/ @w\n", policy) == (
        "/docs/ @w\n\n" + codeowners.section(policy)
    )


def test_a_path_no_line_matches_has_no_owner() -> None:
    assert codeowners.owners_of("# only a comment\n/docs/ @w\n", "requests/x.yaml") is None
    assert codeowners.owners_of("/docs/ @w\n", "docs/x.md") == (1, ("@w",))
