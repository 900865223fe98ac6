"""Item: no silent passes. Every run says what it checked; what lapse never checks is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.acceptance.cli import lapse
from tests.support import REPO, make_repo, place

AT = "--at 2026-11-29T12:00:00Z"
EXPIRED_NEW = (
    "requester: alice@example.com\n"
    "reason: Investigate failed settlement batch for merchant 4411\n"
    "ticket: INC-4512\n"
    "starts: 2026-11-20T10:00:00Z\n"
    "expires: 2026-11-20T12:00:00Z\n"
    "grants:\n"
    "  - role: roles/cloudsql.client\n"
    "    project: pci-prod-payments\n"
)
WHAT = "lapse validate checks request files (requests/<target>/<id>.yaml), the policy"


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def committed(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "access", with_requests=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


def test_a_clean_run_says_how_many_files_it_checked() -> None:
    run = lapse(f"validate {AT}", cwd=REPO)
    assert run.code == 0
    requests = len(list((REPO / "requests").rglob("*.yaml")))
    assert (
        run.out.splitlines()[-1] == f"{requests + 2} files checked: no errors (0 warnings, 0 notes)"
    )


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("README.md", None, "README.md is not something lapse checks"),
        ("bad.yaml", EXPIRED_NEW.replace("alice", "zed"), "must be at requests/<target>/<id>.yaml"),
        ("archive/pci-prod/inc-4400-old.yaml", EXPIRED_NEW, "archived requests are kept as merged"),
        ("schemas/access-request.schema.json", None, "is not something lapse checks"),
    ],
)
def test_a_path_lapse_never_checks_is_a_usage_error(
    tmp_path: Path, name: str, content: str | None, why: str
) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    if content is not None:
        place(root, name, content)
    elif not (root / name).exists():
        place(root, name, "# notes\n")

    run = lapse(f"validate {AT} {name}", cwd=root)

    assert run.code == 2, run.out
    assert "no errors" not in run.out
    assert why in run.err and WHAT in run.err


def test_a_file_outside_the_repository_is_a_usage_error(tmp_path: Path) -> None:
    outside = place(tmp_path, "x.yaml", EXPIRED_NEW)
    run = lapse(f"validate {AT} {outside}", cwd=REPO)
    assert run.code == 2
    assert "is outside the repository" in run.err and "no errors" not in run.out


def test_a_new_expired_request_is_refused_locally_as_ci_refuses_it(tmp_path: Path) -> None:
    root = committed(tmp_path)
    git(root, "switch", "-q", "-c", "access/inc-4512")
    place(root, "requests/pci-prod/inc-4512-late.yaml", EXPIRED_NEW)

    local = lapse(f"validate {AT}", cwd=root)
    ci = lapse(f"validate {AT} --changed-since main", cwd=root)

    for run in (local, ci):
        assert run.code == 1, run.out
        assert "inc-4512-late.yaml:5:10: error [LAPSE303] expires is in the past" in run.out
    assert "info [LAPSE303]" not in local.out


def test_merged_expired_requests_stay_information(tmp_path: Path) -> None:
    root = committed(tmp_path)
    run = lapse("validate --at 2026-12-02T00:00:00Z", cwd=root)
    assert run.code == 0, run.out
    assert "info [LAPSE303] expired" in run.out


def test_a_named_grant_file_is_compared_with_what_render_writes(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    assert lapse("render", cwd=root).code == 0
    grants = root / "terraform/grants/pci-prod.inc-4512-settlement-batch.tf"
    grants.write_text(grants.read_text().replace("13:00:00Z", "23:00:00Z"))

    run = lapse(f"validate {AT} terraform/grants/pci-prod.inc-4512-settlement-batch.tf", cwd=root)

    assert run.code == 1
    assert "terraform/grants/pci-prod.inc-4512-settlement-batch.tf:1:1: error [LAPSE142]" in run.out
    assert "1 file checked: 1 error in 1 file" in run.out


def test_render_says_how_many_requests_it_checked(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    run = lapse("render", cwd=root)
    assert run.code == 0
    assert "5 request files checked" in run.out


def test_a_folder_narrows_the_report_without_the_time_rules(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    place(root, "README.md", "# notes\n")

    folder = lapse(f"validate {AT} requests/staging", cwd=root)
    file = lapse(f"validate {AT} requests/staging/chg-1210-batch-runner.yaml", cwd=root)

    assert folder.code == 0, folder.out
    assert folder.out.endswith("2 files checked: no errors (0 warnings, 0 notes)\n")
    assert file.code == 1, "named, it is judged as a new request: no starts, 6 days from now"
    assert "error [LAPSE302]" in file.out
    assert lapse(f"validate {AT} .", cwd=root).code == 0


def test_codeowners_check_says_what_it_compared() -> None:
    run = lapse("codeowners --check", cwd=REPO)
    assert run.code == 0
    assert run.out == "2 files checked: .github/CODEOWNERS is current with policy/policy.yaml\n"


def test_the_job_summary_says_how_many_files_were_checked(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    run = lapse(
        f"validate {AT}",
        cwd=REPO,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert run.code == 0
    requests = len(list((REPO / "requests").rglob("*.yaml")))
    assert f"{requests + 2} files checked: no errors" in summary.read_text()
    assert f"{requests + 2} files checked: no errors" in run.out
