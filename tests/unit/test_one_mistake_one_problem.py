"""One mistake in a grant is one problem, at the value that is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.checks.validate import validate_repo
from generator.core.repo import Repo
from tests.support import NOW, make_repo, place

HEAD = (
    "requester: alice@example.com\n"
    "reason: Investigate failed settlement batch\n"
    "ticket: INC-4512\n"
    "starts: 2026-11-30T09:00:00Z\n"
    "expires: 2026-11-30T13:00:00Z\n"
    "grants:\n"
)
PATH = "requests/pci-prod/inc-4512-batch.yaml"


def found(tmp_path: Path, grants: str) -> list[tuple[int, int, str]]:
    root = make_repo(tmp_path)
    place(root, PATH, HEAD + grants)
    result = validate_repo(Repo.at(root), now=NOW)
    return sorted((p.line, p.col, p.rule) for p in result.problems if p.path == PATH)


@pytest.mark.parametrize(
    ("role", "kind", "name"),
    [
        ("roles/cloudsql.client", "project", "pci-prod-paymnets"),
        ("roles/storage.objectViewer", "bucket", "settlement-exprots"),
        ("roles/secretmanager.viewer", "secret", "projects/pci-prod-paymnets/secrets/x"),
        ("roles/bigquery.dataViewer", "dataset", "pci-prod-analytics.chargebakcs"),
        ("roles/bigquery.dataViewer", "dataset", "pci-prod-analytcs.chargebacks"),
    ],
)
def test_a_mistyped_resource_is_one_problem_at_its_name(
    tmp_path: Path, role: str, kind: str, name: str
) -> None:
    grants = f"  - role: {role}\n    {kind}: {name}\n"
    assert found(tmp_path, grants) == [(8, 7 + len(kind), "LAPSE220")]


def test_the_resource_written_first_is_pointed_at_all_the_same(tmp_path: Path) -> None:
    grants = "  - project: pci-prod-paymnets\n    role: roles/cloudsql.client\n"
    assert found(tmp_path, grants) == [(7, 14, "LAPSE220")]


def test_each_of_two_mistyped_grants_is_one_problem_at_its_own_line(tmp_path: Path) -> None:
    grants = (
        "  - role: roles/cloudsql.client\n    project: pci-prod-payments\n"
        "  - role: roles/cloudsql.client\n    project: pci-prod-paymnets\n"
        "  - role: roles/cloudsql.client\n    project: pci-prod-analytcs\n"
    )
    assert found(tmp_path, grants) == [(10, 14, "LAPSE220"), (12, 14, "LAPSE220")]


def test_an_allowed_project_without_audit_logs_is_still_refused(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path)
    audit = root / "terraform" / "audit_logging.tf"
    audit.write_text(audit.read_text().replace('"pci-prod-payments"', '"pci-prod-other"'))
    place(root, PATH, HEAD + "  - role: roles/cloudsql.client\n    project: pci-prod-payments\n")
    result = validate_repo(Repo.at(root), now=NOW)
    assert {(p.line, p.col, p.rule) for p in result.problems if p.path == PATH} == {
        (7, 5, "LAPSE260")
    }
