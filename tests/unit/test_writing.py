"""Every write lapse makes goes through `core.writing`: whole or not at all, and a failure is a
located error (exit 2, the path, the cause), never a traceback."""

from __future__ import annotations

import ast
import errno
import itertools
import os
import tempfile
from pathlib import Path

import pytest

from generator.commands import options
from generator.core import writing
from generator.core.writing import WriteFailed, check_writable, write_file, write_files
from generator.gcp.roles import load_lock, write_lock
from generator.review.spool import EventSpool
from tests.support import REPO
from tests.write_faults import disk_full

PACKAGE = REPO / "generator"
# Where writes are made by hand: the helper itself, and the cache, whose failures are skipped.
OWN_WRITES = {"core/writing.py", "core/cache.py"}
WRITING_CALLS = {
    *("write_text", "write_bytes", "unlink", "mkdir", "replace", "rename", "mkstemp"),
    *("move", "copy", "copy2", "copyfile", "copytree", "rmtree", "symlink_to", "touch"),
    *("remove", "rmdir", "removedirs", "makedirs", "symlink", "link", "hardlink_to"),
    *("truncate", "mkdtemp", "NamedTemporaryFile", "TemporaryDirectory", "chmod"),
}


def _writes(path: Path) -> list[str]:
    """Calls that write, outside a `with writing(...)` block."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.With)
        and any(_named(item.context_expr, "writing") for item in node.items)
        for inner in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in guarded:
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        modes = [a.value for a in node.args if isinstance(a, ast.Constant)]
        if name in ("open", "fdopen") and any(
            isinstance(m, str) and set(m) & set("wax+") for m in modes
        ):
            found.append(f"line {node.lineno}: open for writing")
        elif name in WRITING_CALLS and not (name == "replace" and not _on_os(node)):
            found.append(f"line {node.lineno}: {name}")
    return found


def _named(expression: ast.expr, name: str) -> bool:
    return isinstance(expression, ast.Call) and getattr(expression.func, "id", "") == name


def _on_os(node: ast.Call) -> bool:
    # str.replace(a, b) and dataclasses.replace(x, ...) write nothing; os.replace does.
    owner = getattr(node.func, "value", None)
    return isinstance(owner, ast.Name) and owner.id == "os"


def test_every_write_goes_through_the_helper() -> None:
    stray = {
        str(p.relative_to(PACKAGE)): writes
        for p in sorted(PACKAGE.rglob("*.py"))
        if str(p.relative_to(PACKAGE)) not in OWN_WRITES and (writes := _writes(p))
    }
    assert stray == {}


def test_a_full_disk_is_named_with_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "folder" / "file.txt"
    with disk_full(monkeypatch, tmp_path), pytest.raises(WriteFailed) as raised:
        write_file(target, "text")
    assert str(target) in str(raised.value) or "folder" in str(raised.value)
    assert "No space left on device (ENOSPC)" in str(raised.value)
    assert raised.value.exit_code == 2
    assert not target.exists()


def test_a_failed_write_leaves_the_old_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "file.txt"
    target.write_text("old")
    with disk_full(monkeypatch, tmp_path), pytest.raises(WriteFailed):
        write_file(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_a_new_file_that_exists_is_the_caller_s_to_refuse(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("mine")
    with pytest.raises(FileExistsError):
        write_file(target, "theirs", exclusive=True)
    assert target.read_text() == "mine"


def test_a_folder_that_is_a_file_is_found_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "reports").write_text("not a folder")
    with pytest.raises(WriteFailed) as raised:
        check_writable(tmp_path / "reports" / "pci-prod")
    assert "Not a directory (ENOTDIR)" in str(raised.value)


def test_a_symlinked_folder_to_nowhere_is_refused(tmp_path: Path) -> None:
    (tmp_path / "reports").symlink_to(tmp_path / "gone" / "nowhere")
    with pytest.raises(WriteFailed):
        write_file(tmp_path / "reports" / "a.md", "text")


def test_the_roles_lock_job_summary_and_spool_fail_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = load_lock(REPO / "policy" / "roles.lock.json")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    with disk_full(monkeypatch, tmp_path):
        with pytest.raises(WriteFailed, match=r"roles\.lock\.json: No space left"):
            write_lock(tmp_path / "roles.lock.json", lock)
        with pytest.raises(WriteFailed, match=r"summary\.md: No space left"):
            options.append_summary("# run\n")
        with pytest.raises(WriteFailed, match="No space left"):
            EventSpool()


def test_the_cause_keeps_its_code() -> None:
    from generator.core.writing import cause

    assert cause(OSError(errno.EROFS, "Read-only file system")) == "Read-only file system (EROFS)"


def test_many_files_are_each_written_whole_with_no_temporary_left(tmp_path: Path) -> None:
    folder = tmp_path / "grants"
    write_files(folder, {"a.tf": "alpha\n", "b.tf": "beta\n" * 5000})
    assert {p.name: p.read_text() for p in folder.iterdir()} == {
        "a.tf": "alpha\n",
        "b.tf": "beta\n" * 5000,
    }
    write_files(folder, {"a.tf": "again\n"})
    assert sorted(p.name for p in folder.iterdir()) == ["a.tf", "b.tf"]
    assert (folder / "a.tf").read_text() == "again\n"


def test_a_temporary_a_crashed_run_of_this_process_id_left_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writing, "_TEMPORARY", itertools.count(7))
    stale = tmp_path / f".lapse-{os.getpid()}-7.tmp"
    stale.write_text("half a file from before")
    write_file(tmp_path / "a.tf", "whole\n")
    assert [p.name for p in tmp_path.iterdir()] == ["a.tf"]
    assert (tmp_path / "a.tf").read_text() == "whole\n"


def test_a_failed_write_of_many_names_its_file_and_keeps_the_old_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.tf").write_text("old")
    with disk_full(monkeypatch, tmp_path), pytest.raises(WriteFailed) as raised:
        write_files(tmp_path, {"a.tf": "new"})
    assert "a.tf: No space left on device (ENOSPC)" in str(raised.value)
    assert [p.name for p in tmp_path.iterdir()] == ["a.tf"]
    assert (tmp_path / "a.tf").read_text() == "old"


def test_a_temporary_folder_that_cannot_be_made_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "gone"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    with pytest.raises(WriteFailed, match=r"cannot write .*gone"):
        writing.temporary_folder("lapse-test-")
