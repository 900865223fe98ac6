"""What reaches the terminal: -q and -v wherever they are written, tables within `COLUMNS`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.acceptance.cli import lapse
from tests.acceptance.test_everywhere import BAD
from tests.acceptance.test_review_cli import UNTIL, entry, export
from tests.support import make_repo, place

AT = "--at 2026-12-01T10:00:00Z"


@pytest.mark.parametrize("line", ["-q render", "render -q", "render --quiet"])
def test_quiet_render_prints_no_table_before_or_after_the_command(
    tmp_path: Path, line: str
) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    run = lapse(line, cwd=root)
    assert run.code == 0, run.err
    assert run.out == ""
    assert (root / "terraform/grants/pci-prod.inc-4512-settlement-batch.tf").is_file(), (
        "it still renders"
    )
    assert "requester" in lapse("render", cwd=root).out, "without -q the table is shown"


def test_quiet_and_verbose_after_the_command_say_as_much_as_before_it(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    place(root, "requests/pci-prod/inc-4599-bad.yaml", BAD)
    quiet = lapse(f"validate -q {AT}", cwd=root)
    verbose = lapse(f"validate {AT} -v", cwd=root)
    assert quiet.code == verbose.code == 1
    assert quiet.out == lapse(f"-q validate {AT}", cwd=root).out
    assert "checked requests/" not in quiet.out and "inc-4599-bad.yaml:1:12: error" in quiet.out
    assert "checked requests/pci-prod/inc-4599-bad.yaml" in verbose.out


@pytest.mark.parametrize(
    "line", ["-q validate -v", "-v validate --quiet", "validate -q -v", "roles -q sync -v"]
)
def test_quiet_and_verbose_contradict_wherever_each_is_written(tmp_path: Path, line: str) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    run = lapse(line, cwd=root)
    assert run.code == 2
    assert "-q and -v contradict each other" in run.err


def test_a_subcommand_of_a_group_takes_quiet_too(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    assert "-q, --quiet" in lapse("emergency check -h", cwd=root).out
    assert "-q, --quiet" in lapse("roles sync -h", cwd=root).out


def widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


@pytest.mark.parametrize("command", ["render", f"status {AT}", f"simulate {AT}"])
def test_tables_fit_the_terminal_and_a_wide_one_shows_each_row_on_one_line(
    tmp_path: Path, command: str
) -> None:
    # Committed on main before every window ends: a window without `starts` is dated from its
    # commit, not from the clock of each run.
    root = make_repo(tmp_path / "access", with_requests=True)
    assert lapse("render", cwd=root).code == 0
    dated = {**os.environ, "GIT_AUTHOR_DATE": "2026-11-30T12:00:00Z"}
    dated["GIT_COMMITTER_DATE"] = dated["GIT_AUTHOR_DATE"]
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [
            "-c",
            "user.name=lapse",
            "-c",
            "user.email=lapse@example.com",
            "commit",
            "-qm",
            "Requests",
        ],
    ):
        subprocess.run(["git", *args], cwd=root, env=dated, check=True)
    narrow = lapse(command, cwd=root, env={"COLUMNS": "80"})
    wide = lapse(command, cwd=root, env={"COLUMNS": "400"})
    assert narrow.code == wide.code == 0, narrow.err
    assert widest(narrow.out) <= 80, narrow.out
    assert widest(wide.out) > 120, "a wide terminal keeps the long rows"
    assert len(wide.out.splitlines()) < len(narrow.out.splitlines()), "rows were folded"
    assert _characters(narrow.out) == _characters(wide.out), "folding loses nothing"


def _characters(text: str) -> list[str]:
    return sorted(c for c in text if not c.isspace() and c != "-")


def test_review_lines_fit_the_terminal(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    log = export(
        tmp_path / "audit.jsonl",
        [
            entry("in-window", "2026-12-01T10:00:00Z"),
            entry("after-expiry", "2026-12-01T15:00:00Z"),
        ],
    )
    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root, env={"COLUMNS": "80"})
    assert run.code == 1
    assert widest(run.out) <= 80, run.out
    assert "inc-4512-settlement-batch: CRITICAL, complete" in run.out
