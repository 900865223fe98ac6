"""`lapse validate` on a tree: the checks that keep a target's reach and the configuration's
sources where they belong, each shown by the way around it that it stops."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from generator.checks.validate import validate_repo
from generator.core.errors import ConfigError
from generator.core.model import Problem
from generator.core.repo import READ_FOLDERS, Repo
from generator.terraform import configuration
from tests.support import make_repo, place


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def problems(root: Path) -> set[tuple[str, int, int, str]]:
    result = validate_repo(Repo.at(root), now=None)
    return {(p.path, p.line, p.col, p.rule) for p in result.problems}


@pytest.mark.parametrize("folder", READ_FOLDERS)
def test_a_folder_lapse_reads_replaced_by_a_symlink_is_reported(root: Path, folder: str) -> None:
    """Rules that look for paths under policy/ would not see a change there; ownership and
    review follow the link's own path, not the files it points at."""
    (root / folder).mkdir(exist_ok=True)
    (root / folder / "README.md").write_text("kept\n")
    shutil.move(root / folder, root / "elsewhere")
    os.symlink("elsewhere", root / folder)

    assert (folder, 1, 1, "LAPSE140") in problems(root)


def test_a_project_reached_through_a_bucket_of_another_target_is_reported(root: Path) -> None:
    path = root / "policy/policy.yaml"
    text = path.read_text()
    old = "      project:\n        - stg-payments\n"
    assert text.count(old) == 1
    bucket = "      bucket:\n        stg-exports:\n          project: pci-prod-payments\n"
    path.write_text(text.replace(old, old + bucket))
    staging = path.read_text().splitlines().index("  staging:") + 1

    assert ("policy/policy.yaml", staging, 3, "LAPSE278") in problems(root)


@pytest.mark.parametrize(
    "source", ["../../terraform/grants", "../../../repo/terraform/grants", "./../../terraform"]
)
def test_a_module_source_above_the_repository_is_refused(root: Path, source: str) -> None:
    """Climbing out of the repository and back into a folder of the same name is outside it."""
    place(root, "terraform/extra.tf", f'module "m" {{\n  source = "{source}"\n}}\n')

    assert ("terraform/extra.tf", 2, 3, "LAPSE284") in problems(root)


def test_a_symlinked_folder_is_one_problem_and_is_not_walked(root: Path, tmp_path: Path) -> None:
    """The link is reported, never followed: what it points at (a broken file, another link) is
    outside the repository's review and must neither be read nor reported as if it were inside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "inner-link").symlink_to(root / "policy/policy.yaml")
    (outside / "broken.yaml").write_text("not: [valid\n")
    os.symlink(outside, root / "requests" / "linked")

    assert problems(root) == {("requests/linked", 1, 1, "LAPSE140")}


def test_a_tree_without_terraform_is_still_checked(root: Path, tmp_path: Path) -> None:
    """With no configuration to read, the other tree rules still run."""
    shutil.rmtree(root / "terraform")
    os.symlink(tmp_path, root / "requests" / "linked")

    assert problems(root) == {("requests/linked", 1, 1, "LAPSE140")}


def test_a_tf_file_that_is_not_utf8_is_refused_at_its_start(root: Path) -> None:
    """Terraform reads UTF-8 only: lapse cannot vouch for what it cannot decode."""
    place(root, "terraform/grants/latin1.tf", b'locals {\n  a = "caf\xe9"\n}\n')

    (found,) = [p for p in validate_repo(Repo.at(root), now=None).problems if p.rule == "LAPSE287"]
    assert found == Problem(
        "terraform/grants/latin1.tf",
        1,
        1,
        "LAPSE287",
        "error",
        "cannot check it: cannot read it as UTF-8: 'utf-8' codec can't decode byte 0xe9 in "
        "position 19: invalid continuation byte",
        "what lapse cannot read it cannot vouch for; fix the syntax",
    )


def test_a_tf_file_that_cannot_be_read_is_refused_at_its_start(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file lapse cannot open is one it has not checked, never one that passed."""
    place(root, "terraform/grants/locked.tf", 'locals {\n  a = "b"\n}\n')
    refused: list[str] = []

    real = configuration.first_bytes

    def refusing(path: str) -> bytes:
        if path.endswith("locked.tf"):
            refused.append(path)
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(configuration, "first_bytes", refusing)

    found = [p for p in validate_repo(Repo.at(root), now=None).problems if p.rule == "LAPSE287"]
    assert found == [
        Problem(
            "terraform/grants/locked.tf",
            1,
            1,
            "LAPSE287",
            "error",
            f"cannot check it: cannot read it as UTF-8: [Errno 13] Permission denied: "
            f"{refused[0]!r}",
            "what lapse cannot read it cannot vouch for; fix the syntax",
        )
    ]


EVIL = 'resource "terraform_data" "x" {\n  provisioner "local-exec" {\n  }\n}\n'


def test_a_symlink_in_terraform_is_reported_and_never_read(root: Path, tmp_path: Path) -> None:
    """Neither a link named like a .tf file nor a linked folder is followed: what they point
    at is outside the review."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.tf").write_text(EVIL)
    os.symlink(outside / "evil.tf", root / "terraform/link.tf")
    os.symlink(outside, root / "terraform/linkdir")

    assert problems(root) == {
        ("terraform/link.tf", 1, 1, "LAPSE140"),
        ("terraform/linkdir", 1, 1, "LAPSE140"),
        ("terraform/linkdir", 1, 1, "LAPSE280"),
    }


def test_a_file_that_is_not_tf_is_refused_and_not_read_as_configuration(root: Path) -> None:
    place(root, "terraform/notes.txt", EVIL)

    assert problems(root) == {("terraform/notes.txt", 1, 1, "LAPSE280")}


def test_only_the_plan_file_at_the_top_of_terraform_is_left_alone(root: Path) -> None:
    """`tfplan` is the plan the apply job writes; the name elsewhere is not skipped."""
    place(root, "terraform/tfplan", b"\x00plan")
    assert problems(root) == set()

    (root / "terraform/tfplan").unlink()
    place(root, "terraform/grants/tfplan", b"\x00plan")
    place(root, "terraform/tfplan/evil.tf", EVIL)
    assert problems(root) == {
        ("terraform/grants/tfplan", 1, 1, "LAPSE280"),
        ("terraform/tfplan/evil.tf", 2, 3, "LAPSE282"),
        ("terraform/tfplan/evil.tf", 1, 1, "LAPSE286"),
    }


@pytest.mark.parametrize("to", ["folder", "file"])
def test_a_link_named_like_the_plan_file_is_reported(root: Path, tmp_path: Path, to: str) -> None:
    (tmp_path / "plan").write_bytes(b"\x00plan")
    os.symlink(tmp_path if to == "folder" else tmp_path / "plan", root / "terraform/tfplan")

    assert problems(root) == {
        ("terraform/tfplan", 1, 1, "LAPSE140"),
        ("terraform/tfplan", 1, 1, "LAPSE280"),
    }


@pytest.mark.parametrize("source", ["./.terraform/modules/m", "./grants/../.terraform/m"])
def test_a_module_in_terraforms_own_state_folder_is_refused(root: Path, source: str) -> None:
    """.terraform is Terraform's cache and never checked: a module there would run unread."""
    place(root, "terraform/.terraform/modules/m/main.tf", EVIL)
    place(root, "terraform/.terraform/m/main.tf", EVIL)
    place(root, "terraform/extra.tf", f'module "m" {{\n  source = "{source}"\n}}\n')

    assert problems(root) == {("terraform/extra.tf", 2, 3, "LAPSE284")}


def test_blocks_nested_past_what_lapse_reads_are_refused_not_a_traceback(root: Path) -> None:
    place(root, "terraform/deep.tf", 'locals {\n  a = "b"\n}\n' + "x {\n" * 1000 + "}\n" * 1000)

    found = validate_repo(Repo.at(root), now=None).problems
    assert {(p.path, p.line, p.col, p.rule) for p in found} == {
        ("terraform/deep.tf", 1, 1, "LAPSE262"),  # the audit reader cannot parse it either
        ("terraform/deep.tf", 1, 1, "LAPSE287"),
    }
    assert [p.message for p in found if p.rule == "LAPSE287"] == [
        "cannot check it: blocks nested more than 32 deep"
    ]


def test_a_tf_file_that_does_not_parse_is_refused_where_the_parser_stopped(root: Path) -> None:
    place(root, "terraform/broken.tf", "}\n")

    (found,) = [p for p in validate_repo(Repo.at(root), now=None).problems if p.rule == "LAPSE287"]
    assert found == Problem(
        "terraform/broken.tf",
        1,
        1,
        "LAPSE287",
        "error",
        "cannot check it: Unexpected token Token('STRING_CHARS', '}\\n\\n') at line 1, column 1.",
        "what lapse cannot read it cannot vouch for; fix the syntax",
    )


def test_a_folder_without_a_policy_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        Repo.at(tmp_path)

    assert str(refused.value) == (
        f"{tmp_path.resolve()} is not a lapse repository: policy/policy.yaml is missing"
    )
