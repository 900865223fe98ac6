"""`render --check` with a warm cache over many grant files: what was checked before is skipped
only while its path and bytes are the same, and nothing forbidden gets through the skip."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from generator import cli
from generator.checks import tree
from generator.checks.rules import TreeContext
from generator.core import cache
from generator.core.model import Problem
from generator.terraform import configuration, grants_folder
from generator.terraform.configuration import LAPSE_RESOURCE_TYPES, TerraformFile
from tests.support import make_repo, place

MANY = 12
GRANTS = "terraform/grants"


def _request(day: int) -> str:
    return (
        "requester: alice@example.com\n"
        f"reason: Investigate failed settlement batch {day}\n"
        f"ticket: INC-45{day:02d}\n"
        f"starts: 2026-12-{day:02d}T09:00:00Z\n"
        f"expires: 2026-12-{day:02d}T13:00:00Z\n"
        "grants:\n"
        "  - role: roles/cloudsql.client\n"
        "    project: pci-prod-payments\n"
    )


Lapse = Callable[[str], tuple[int, str]]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAPSE_CACHE_DIR", str(tmp_path / "cache"))
    repo = make_repo(tmp_path / "repo")
    for day in range(1, MANY + 1):
        place(repo, f"requests/pci-prod/inc-45{day:02d}-batch.yaml", _request(day))
    return repo


@pytest.fixture
def lapse(root: Path, capsys: pytest.CaptureFixture[str]) -> Lapse:
    def run(line: str) -> tuple[int, str]:
        code = cli.main([*line.split(), "--root", str(root)])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return code, captured.out + captured.err

    return run


@pytest.fixture
def warm(root: Path, lapse: Lapse) -> list[Path]:
    """Every request rendered, then checked clean: both caches hold every grant file."""
    assert lapse("render")[0] == 0
    assert lapse("render --check")[0] == 0
    files = sorted(p for p in (root / GRANTS).glob("*.tf") if p.name != "_module.tf")
    assert len(files) == MANY
    return files


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    parsed: list[str] = []
    real = configuration._decoded

    def counting(relative: str, raw: bytes) -> TerraformFile:
        parsed.append(relative)
        return real(relative, raw)

    monkeypatch.setattr(configuration, "_decoded", counting)
    return parsed


def _count_checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files handed to the tree rules."""
    checked: list[str] = []
    real = tree._checked

    def counting(ctx: TreeContext) -> list[Problem]:
        files = ctx.configuration.files if ctx.configuration else ()
        checked.extend(file.path for file in files)
        return real(ctx)

    monkeypatch.setattr(tree, "_checked", counting)
    return checked


def test_a_warm_check_parses_no_file_that_passed(
    warm: list[Path], lapse: Lapse, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed, checked = _count_parses(monkeypatch), _count_checked(monkeypatch)
    assert lapse("render --check")[0] == 0
    assert parsed == []
    assert checked == []


def test_a_new_grant_file_is_the_only_one_parsed(
    root: Path, warm: list[Path], lapse: Lapse, monkeypatch: pytest.MonkeyPatch
) -> None:
    place(root, "requests/pci-prod/inc-4520-batch.yaml", _request(20))
    assert lapse("render")[0] == 0
    parsed, checked = _count_parses(monkeypatch), _count_checked(monkeypatch)
    assert lapse("render --check")[0] == 0
    assert parsed == [f"{GRANTS}/pci-prod.inc-4520-batch.tf"]
    assert checked == parsed


def test_a_pull_request_reads_each_grant_file_once_and_never_with_python_hcl2(
    root: Path, warm: list[Path], lapse: Lapse, monkeypatch: pytest.MonkeyPatch
) -> None:
    place(root, "requests/pci-prod/inc-4520-batch.yaml", _request(20))
    assert lapse("render")[0] == 0
    read: list[str] = []
    for module in (configuration, grants_folder):
        monkeypatch.setattr(module, "first_bytes", _counting(module.first_bytes, read))

    def refuse(relative: str, text: str) -> TerraformFile:
        raise AssertionError(f"{relative} parsed with python-hcl2")

    monkeypatch.setattr(configuration, "parse_with_hcl2", refuse)
    assert lapse("render --check")[0] == 0
    grants = [Path(name).name for name in read if Path(name).parent == root / GRANTS]
    assert sorted(grants) == sorted(
        {*(p.name for p in warm), "_module.tf", "pci-prod.inc-4520-batch.tf"}
    )


def _counting(real: Callable[[str], bytes], read: list[str]) -> Callable[[str], bytes]:
    def counting(name: str) -> bytes:
        read.append(name)
        return real(name)

    return counting


def test_a_provisioner_added_to_a_checked_grant_file_is_refused(
    warm: list[Path], lapse: Lapse
) -> None:
    text = warm[5].read_text(encoding="utf-8")
    opened = text.index("{\n") + 2
    edited = text[:opened] + '  provisioner "local-exec" {\n    command = "id"\n  }\n'
    warm[5].write_text(edited + text[opened:], encoding="utf-8")
    code, said = lapse("render --check")
    assert code == 1
    assert f"{GRANTS}/{warm[5].name}:" in said
    assert "[LAPSE282]" in said


def test_an_external_data_source_beside_checked_files_is_refused(
    root: Path, warm: list[Path], lapse: Lapse
) -> None:
    place(root, f"{GRANTS}/runner.tf", 'data "external" "x" {\n  program = ["sh"]\n}\n')
    code, said = lapse("render --check")
    assert code == 1
    assert f"{GRANTS}/runner.tf:1:1: error [LAPSE283]" in said


def test_a_file_function_in_a_checked_grant_file_is_refused(warm: list[Path], lapse: Lapse) -> None:
    text = warm[0].read_text(encoding="utf-8")
    edited = text.replace('"roles/cloudsql.client"', 'file("/proc/self/environ")', 1)
    assert edited != text
    warm[0].write_text(edited, encoding="utf-8")
    code, said = lapse("render --check")
    assert code == 1
    assert "[LAPSE289]" in said


def test_a_checked_file_copied_under_another_name_is_checked_again(
    root: Path, warm: list[Path], lapse: Lapse
) -> None:
    """The verdict is for a path and its bytes: the same bytes as an override file are new."""
    shutil.copy(warm[0], root / f"{GRANTS}/x_override.tf")
    code, said = lapse("render --check")
    assert code == 1
    assert f"{GRANTS}/x_override.tf:1:1: error [LAPSE281]" in said


@pytest.mark.parametrize("stray", ["notes.txt", "evil.tf", "sub/a.tf", "terraform.tfvars"])
def test_a_stray_among_checked_grant_files_is_refused(
    root: Path, warm: list[Path], lapse: Lapse, stray: str
) -> None:
    place(root, f"{GRANTS}/{stray}", "# hand-written\n")
    code, said = lapse("render --check")
    assert code == 1
    assert f"{GRANTS}/{stray.split('/', maxsplit=1)[0]}:1:1: error [LAPSE141]" in said


def test_a_grant_file_swapped_for_a_symlink_to_the_same_bytes_is_refused(
    root: Path, warm: list[Path], lapse: Lapse
) -> None:
    """The symlink's target holds exactly the bytes render verified and the rules passed."""
    target = place(root, "elsewhere/copy.tf", warm[3].read_bytes())
    warm[3].unlink()
    os.symlink(target, warm[3])
    code, said = lapse("render --check")
    assert code == 1
    assert f"{GRANTS}/{warm[3].name}:1:1: error [LAPSE141]" in said


def test_a_file_with_a_problem_is_checked_on_every_run(
    root: Path, warm: list[Path], lapse: Lapse, monkeypatch: pytest.MonkeyPatch
) -> None:
    place(root, "terraform/runner.tf", 'data "external" "x" {\n  program = ["sh"]\n}\n')
    assert "[LAPSE283]" in lapse("render --check")[1]
    checked = _count_checked(monkeypatch)
    assert "terraform/runner.tf:1:1: error [LAPSE283]" in lapse("render --check")[1]
    assert checked == ["terraform/runner.tf"]


def test_verdicts_of_other_code_or_another_allowlist_are_never_read(
    root: Path, warm: list[Path], lapse: Lapse, monkeypatch: pytest.MonkeyPatch
) -> None:
    extended = tree.table_name(LAPSE_RESOURCE_TYPES | {"google_storage_bucket"})
    assert extended != tree.table_name(LAPSE_RESOURCE_TYPES)
    real = cache.code_digest

    def other_code(*packages: str) -> str:
        return real(*packages) + ("-next" if packages == tree.CODE else "")

    monkeypatch.setattr(cache, "code_digest", other_code)
    checked = _count_checked(monkeypatch)
    assert lapse("render --check")[0] == 0
    assert len([path for path in checked if path.startswith(f"{GRANTS}/pci-prod.")]) == MANY
