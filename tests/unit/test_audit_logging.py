"""Audit logging before access: ADMIN_READ, DATA_READ and DATA_WRITE, ordered before the grants."""

from __future__ import annotations

import json
import re
from pathlib import Path

import hcl2
import pytest

from generator import cli
from generator.checks.rules.audit import in_scope
from generator.checks.validate import validate_repo
from generator.core.repo import Repo
from generator.terraform.audit_coverage import REQUIRED_LOG_TYPES, read_coverage
from tests.support import REPO, make_repo

SHIPPED = REPO / "terraform"
CONFIGS = [
    (kind, name)
    for kind, name in re.findall(
        r'^resource "(google_\w+_iam_audit_config)" "(\w+)"',
        (SHIPPED / "audit_logging.tf").read_text(),
        re.M,
    )
]

_POLICY = validate_repo(Repo.at(REPO), now=None).policy
assert _POLICY is not None
# Configs where some target may grant access; the organization holds both targets, so no
# target may grant it (LAPSE276) and its config decides nothing lapse grants.
IN_SCOPE = [
    (config.address.split(".")[0], config.address.split(".")[1])
    for config in read_coverage(SHIPPED).configs
    if in_scope(config, _POLICY)
]


def test_only_the_organization_config_is_out_of_every_targets_scope() -> None:
    assert sorted(set(CONFIGS) - set(IN_SCOPE)) == [
        ("google_organization_iam_audit_config", "organization")
    ]


def header_line(text: str, kind: str, name: str) -> int:
    index = text.index(f'resource "{kind}" "{name}"')
    return text.count("\n", 0, index) + 1


def without_log_type(text: str, kind: str, name: str, log_type: str) -> str:
    """`text` with one audit_log_config block of one resource removed."""
    start = text.index(f'resource "{kind}" "{name}"')
    block = f'  audit_log_config {{\n    log_type = "{log_type}"\n  }}\n'
    at = text.index(block, start)
    assert at < text.find("\nresource ", start + 1) or text.find("\nresource ", start + 1) < 0
    return text[:at] + text[at + len(block) :]


def test_shipped_audit_configs_turn_on_every_log_type() -> None:
    coverage = read_coverage(SHIPPED)
    assert len(coverage.configs) == len(CONFIGS) == 6
    for config in coverage.configs:
        assert config.log_types == REQUIRED_LOG_TYPES, config.address


def test_grants_module_depends_on_every_shipped_audit_config() -> None:
    tree = hcl2.loads((SHIPPED / "grants.tf").read_text())
    (module,) = [m['"grants"'] for m in tree["module"]]
    listed = {item.removeprefix("${").removesuffix("}") for item in module["depends_on"]}
    assert listed == {f"{kind}.{name}" for kind, name in CONFIGS}


@pytest.mark.parametrize(("kind", "name"), IN_SCOPE)
def test_removing_admin_read_in_scope_fails_validate_at_that_line(
    tmp_path: Path, kind: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path, with_requests=True)
    audit = root / "terraform/audit_logging.tf"
    audit.write_text(without_log_type(audit.read_text(), kind, name, "ADMIN_READ"))
    line = header_line(audit.read_text(), kind, name)

    code = cli.main(["validate", "--root", str(root)])

    out = capsys.readouterr().out
    assert code == 1
    assert f"terraform/audit_logging.tf:{line}:1: error [LAPSE263] {kind}.{name} " in out
    assert "ADMIN_READ missing" in out


def test_a_per_service_config_without_admin_read_also_refuses_the_grant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path, with_requests=True)
    audit = root / "terraform/audit_logging.tf"
    kind = "google_project_iam_audit_config"
    audit.write_text(without_log_type(audit.read_text(), kind, "stg_payments_iam", "ADMIN_READ"))

    assert cli.main(["validate", "--root", str(root)]) == 1

    out = capsys.readouterr().out
    where = r"requests/staging/chg-1210-batch-runner\.yaml:\d+:\d+"
    assert re.search(where + r": error \[LAPSE260\]", out)
    assert "not all on at project stg-payments for iam.googleapis.com" in out


def test_configs_outside_every_target_are_not_held_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path)
    audit = root / "terraform/audit_logging.tf"
    outside = (
        'resource "google_project_iam_audit_config" "elsewhere" {\n'
        '  project = "marketing-site"\n  service = "allServices"\n\n'
        '  audit_log_config {\n    log_type = "DATA_READ"\n  }\n}\n\n'
        'resource "google_project_iam_audit_config" "payments_pubsub" {\n'
        '  project = "pci-prod-payments"\n  service = "pubsub.googleapis.com"\n\n'
        '  audit_log_config {\n    log_type = "DATA_WRITE"\n  }\n}\n'
    )
    audit.write_text(audit.read_text() + "\n" + outside)
    grants = root / "terraform/grants.tf"
    grants.write_text(
        grants.read_text().replace(
            "  ]\n",
            "    google_project_iam_audit_config.elsewhere,\n"
            "    google_project_iam_audit_config.payments_pubsub,\n  ]\n",
        )
    )

    assert cli.main(["validate", "--root", str(root)]) == 0, capsys.readouterr().out


def test_audit_config_left_out_of_depends_on_is_refused_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path)
    grants = root / "terraform/grants.tf"
    grants.write_text(
        grants.read_text().replace("    google_folder_iam_audit_config.staging_folder,\n", "")
    )
    text = (root / "terraform/audit_logging.tf").read_text()
    line = header_line(text, "google_folder_iam_audit_config", "staging_folder")

    assert cli.main(["validate", "--root", str(root)]) == 1

    out = capsys.readouterr().out
    assert f"terraform/audit_logging.tf:{line}:1: error [LAPSE264]" in out
    assert out.count("[LAPSE264]") == 1


def test_grants_module_without_depends_on_refuses_every_audit_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path)
    (root / "terraform/grants.tf").write_text('module "grants" {\n  source = "./grants"\n}\n')

    assert cli.main(["validate", "--root", str(root)]) == 1

    assert capsys.readouterr().out.count("[LAPSE264]") == len(CONFIGS)


def test_audit_config_in_another_file_is_held_to_the_same_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path)
    (root / "terraform/more_logging.tf").write_text(
        '# extra\nresource "google_folder_iam_audit_config" "more" {\n'
        '  folder  = "folders/204518736091"\n  service = "iam.googleapis.com"\n\n'
        '  audit_log_config {\n    log_type = "DATA_READ"\n  }\n}\n'
    )

    assert cli.main(["validate", "--root", str(root)]) == 1

    out = capsys.readouterr().out
    assert "terraform/more_logging.tf:2:1: error [LAPSE263]" in out
    assert "terraform/more_logging.tf:2:1: error [LAPSE264]" in out


# ---------------------------------------------------------------------------
# The provider constraint admits only releases that accept dataset conditions.


def provider_constraint(path: Path) -> str:
    (block,) = hcl2.loads(path.read_text())["terraform"]
    (providers,) = block["required_providers"]
    assert providers["google"]["source"] == '"hashicorp/google"'
    return str(providers["google"]["version"]).strip('"')


def admits(constraint: str, version: str) -> bool:
    """Terraform's `>=` / `<` version constraints, which are all the root module uses."""
    have = tuple(int(n) for n in version.split("."))
    for part in constraint.split(","):
        operator, _, bound = part.strip().partition(" ")
        limit = tuple(int(n) for n in bound.split("."))
        if {">=": have < limit, "<": have >= limit}[operator]:
            return False
    return True


def test_provider_constraint_admits_only_releases_that_take_dataset_conditions() -> None:
    conformance = json.loads((REPO / "generator/data/provider_arguments.json").read_text())
    root = provider_constraint(SHIPPED / "versions.tf")
    assert provider_constraint(SHIPPED / "grants/_module.tf") == root
    assert root == f">= {conformance['minimum_version']}, < 9.0.0"
    for refused in ("7.0.0", "7.8.0", "7.9.0", "7.43.0", "9.0.0"):
        assert not admits(root, refused), refused
    for admitted in ("7.44.0", "7.45.0", "8.0.0", "8.9.1"):
        assert admits(root, admitted), admitted
