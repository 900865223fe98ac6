"""Rendering: golden output per grant kind, escaping proven by python-hcl2 and by Terraform."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from generator.core.model import Grant, Request, Window
from generator.terraform import render
from generator.terraform.bindings import read_bindings
from generator.terraform.hcl import decode_string, parse
from generator.terraform.render import (
    RenderError,
    hcl_string,
    render_all,
    render_request,
    self_check,
)
from tests.support import REPO

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
TERRAFORM = shutil.which("terraform")
needs_terraform = pytest.mark.skipif(TERRAFORM is None, reason="terraform binary not on PATH")
RESOURCES = {
    "project": "pci-prod-payments",
    "folder": "folders/204518736091",
    "organization": "618305524870",
    "bucket": "settlement-exports",
    "secret": "projects/pci-prod-payments/secrets/settlement-db-readonly",
    "dataset": "pci-prod-analytics.chargebacks",
    "service_account": "batch-runner@stg-payments.iam.gserviceaccount.com",
}
ROLES = {"dataset": "roles/bigquery.dataViewer"}
HOSTILE = [
    '${file("/etc/passwd")}',
    "%{ if true }yes%{ endif }",
    'quote " and \\" and \\\\',
    "back\\slash at the end\\",
    "new\nline and\r\nreturn and\ttab",
    "*/ /* # // comment markers",
    "emoji 🔐 and accents é, and 中文",
    "$${already} %%{escaped}",
    "%{ for the settlement batch",
    "unclosed ${ interpolation",
    "ends in ${",
    "ends in %{",
    "lone $ and % and { and }",
    "bell \x07 escape \x1b del \x7f",
]


def make_request(
    kind: str = "project",
    reason: str = "Investigate failed settlement batch",
    starts: datetime | None = datetime(2026, 12, 1, 9, tzinfo=UTC),
    request_id: str = "inc-4512-batch",
    ticket: str = "INC-4512",
) -> Request:
    grant = Grant(ROLES.get(kind, "roles/cloudsql.client"), kind, RESOURCES[kind])
    return Request(
        id=request_id,
        target="pci-prod",
        path=f"requests/pci-prod/{request_id}.yaml",
        requester="alice@example.com",
        reason=reason,
        ticket=ticket,
        window=Window(starts, datetime(2026, 12, 1, 13, tzinfo=UTC)),
        grants=(grant,),
    )


@pytest.mark.parametrize("kind", sorted(RESOURCES))
def test_golden_file_per_grant_kind(kind: str) -> None:
    text = render_request(make_request(kind))
    expected = (GOLDEN / f"{kind}.tf").read_text()
    assert text == expected


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_reads_back_exactly_with_python_hcl2(value: str) -> None:
    literal = hcl_string(value)
    assert decode_string(literal) == value
    request = make_request(reason=value, ticket="INC-4512")
    text = render_request(request)
    self_check(request, text)  # raises if python-hcl2 reads anything else
    (resource,) = parse(text, source=request.path)
    description = resource.string("description", resource.blocks("condition")[0])
    assert description == render.description(request)


def test_description_is_one_bounded_line_without_control_characters() -> None:
    text = render.description(make_request(reason="a\nb\tc\x07d\u202e" + "x" * 400))
    assert text.startswith("INC-4512: a b c d x")
    assert "\u202e" not in text
    assert len(text) == render.DESCRIPTION_LIMIT and text.endswith("…")
    assert render.description(make_request(reason="   ")) == "INC-4512:"


@needs_terraform
def test_terraform_decodes_every_hostile_literal_to_the_original(tmp_path: Path) -> None:
    # `terraform console` needs no provider to evaluate a literal; base64 keeps its output plain.
    line = f"base64encode(jsonencode([{', '.join(hcl_string(v) for v in HOSTILE)}]))\n"
    env = {**os.environ, "TF_CLI_CONFIG_FILE": "", "CHECKPOINT_DISABLE": "1"}
    done = subprocess.run(
        [TERRAFORM, "console"],
        input=line,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    printed = done.stdout.strip()
    assert json.loads(base64.b64decode(json.loads(printed))) == HOSTILE


@needs_terraform
def test_rendered_tree_is_what_terraform_fmt_writes(tmp_path: Path) -> None:
    requests = [
        make_request(kind, request_id=f"inc-{n}-{kind.replace('_', '-')}")
        for n, kind in enumerate(sorted(RESOURCES))
    ]
    requests += [
        make_request(reason=v, request_id=f"inc-hostile-{n}") for n, v in enumerate(HOSTILE)
    ]
    for name, text in render_all(requests).items():
        (tmp_path / name).write_text(text)
    env = {**os.environ, "TF_CLI_CONFIG_FILE": "", "CHECKPOINT_DISABLE": "1"}
    done = subprocess.run(
        [TERRAFORM, "fmt", "-check", "-diff", "-recursive", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@needs_terraform
def test_committed_terraform_is_formatted() -> None:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": "", "CHECKPOINT_DISABLE": "1"}
    done = subprocess.run(
        [TERRAFORM, "fmt", "-check", "-diff", "-recursive", str(REPO / "terraform")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout


def test_addresses_are_stable_when_grants_are_reordered() -> None:
    one = make_request("project")
    two = make_request("bucket")
    forward = _with_grants(one, (one.grants[0], two.grants[0]))
    backward = _with_grants(one, (two.grants[0], one.grants[0]))
    assert render_request(forward) == render_request(backward)
    names = [b.name for b in render.blocks(forward)]
    assert all(name.startswith("inc-4512-batch_") for name in names)


def _with_grants(request: Request, grants: tuple[Grant, ...]) -> Request:
    return Request(
        request.id,
        request.target,
        request.path,
        request.requester,
        request.reason,
        request.ticket,
        request.window,
        grants,
    )


def test_ids_starting_with_a_digit_still_make_valid_names() -> None:
    (block,) = render.blocks(make_request(request_id="2026-batch"))
    assert block.name.startswith("_2026-batch_")


def test_offsets_are_converted_to_utc() -> None:
    plus_one = datetime.fromisoformat("2026-12-02T07:30:00+01:00")
    request = make_request(starts=plus_one)
    assert render.expression(request) == (
        'request.time >= timestamp("2026-12-02T06:30:00Z") && '
        'request.time < timestamp("2026-12-01T13:00:00Z")'
    )
    assert render.expression(make_request(starts=None)) == (
        'request.time < timestamp("2026-12-01T13:00:00Z")'
    )


def test_render_is_deterministic_in_any_order() -> None:
    requests = [make_request(kind, request_id=f"inc-{n}-x") for n, kind in enumerate(RESOURCES)]
    assert render_all(requests) == render_all(list(reversed(requests)))


def test_self_check_catches_a_template_that_lies(monkeypatch: pytest.MonkeyPatch) -> None:
    request = make_request()
    honest = render_request(request)
    with pytest.raises(RenderError):
        self_check(request, honest.replace("user:alice@example.com", "user:mallory@example.com"))
    with pytest.raises(RenderError):
        self_check(request, honest.replace('"roles/cloudsql.client"', '"roles/owner"'))
    with pytest.raises(RenderError):
        self_check(request, honest.replace("  condition {", '  extra = "x"\n\n  condition {'))
    with pytest.raises(RenderError):
        self_check(request, honest.replace('"lapse/', '"${var.x}lapse/'))
    monkeypatch.setattr(render, "hcl_string", lambda value: '"' + value + '"')
    render._template.cache_clear()
    try:
        with pytest.raises(RenderError):
            self_check(
                make_request(reason='say "hi"'), render_request(make_request(reason='say "hi"'))
            )
    finally:
        monkeypatch.undo()
        render._template.cache_clear()


def test_provider_conformance_of_every_rendered_block() -> None:
    schema = json.loads((REPO / "generator/data/provider_arguments.json").read_text())["resources"]
    requests = [make_request(kind, request_id=f"inc-{n}-x") for n, kind in enumerate(RESOURCES)]
    for text in render_all(requests).values():
        for resource in parse(text, source="grants.tf"):
            spec = schema[resource.type]
            arguments = {k for k in resource.body if not k.startswith("__")} - {"condition"}
            assert arguments <= set(spec["arguments"]), resource.address
            required = {k for k, v in spec["arguments"].items() if v["required"]}
            assert required <= arguments, resource.address
            (condition,) = resource.blocks("condition")
            block = spec["blocks"]["condition"]
            assert {k for k in condition if not k.startswith("__")} == set(block)


def test_bindings_read_back_from_rendered_files(tmp_path: Path) -> None:
    requests = [make_request(kind, request_id=f"inc-{n}-x") for n, kind in enumerate(RESOURCES)]
    for name, text in render_all(requests).items():
        (tmp_path / name).write_text(text)
    bindings = read_bindings(tmp_path)
    assert sorted((b.kind, b.resource, b.role, b.member) for b in bindings) == sorted(
        (g.kind, g.resource, g.role, "user:alice@example.com") for r in requests for g in r.grants
    )


def test_authoritative_resources_are_refused_when_read(tmp_path: Path) -> None:
    (tmp_path / "x.tf").write_text(
        'resource "google_project_iam_binding" "x" {\n  project = "p"\n  role    = "roles/x"\n'
        '  members = ["user:a@example.com"]\n}\n'
    )
    with pytest.raises(ValueError, match="authoritative"):
        read_bindings(tmp_path)


@pytest.mark.parametrize(
    "role", ["roles/bigquery.dataViewer", "roles/bigquery.dataEditor", "roles/bigquery.dataOwner"]
)
def test_dataset_grants_keep_the_predefined_role_name(role: str) -> None:
    # google_bigquery_dataset_iam_member refuses BigQuery's legacy READER/WRITER/OWNER names.
    request = replace(make_request("dataset"), grants=(Grant(role, "dataset", "p-analytics.d"),))
    (resource,) = parse(render_request(request), source=request.path)
    assert resource.type == "google_bigquery_dataset_iam_member"
    assert (resource.string("role"), resource.string("member")) == (role, "user:alice@example.com")
    assert resource.blocks("condition")


def test_dataset_access_resources_are_refused_when_read(tmp_path: Path) -> None:
    (tmp_path / "x.tf").write_text(
        'resource "google_bigquery_dataset_access" "x" {\n  dataset_id    = "d"\n'
        '  role          = "READER"\n  user_by_email = "a@example.com"\n}\n'
    )
    with pytest.raises(ValueError, match="only \\*_iam_member resources"):
        read_bindings(tmp_path)
