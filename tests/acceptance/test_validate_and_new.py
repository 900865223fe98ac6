"""`lapse validate` and `lapse new`, driven like a user at a shell."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.acceptance.cli import lapse
from tests.support import REPO, make_repo, place

NOW = "--now 2026-11-29T12:00:00Z"
BAD = (
    "# yaml-language-server: $schema=../../schemas/access-request.schema.json\n"
    "requester: zed@example.com\n"
    "reason: Investigate failed settlement batch for merchant 4411\n"
    "ticket: JIRA-1\n"
    "expires: 2026-11-30T13:00:00Z\n"
    "grants:\n"
    "  - role: roles/owner\n"
    "    project: pci-prod-payments\n"
)


def test_repository_samples_validate_clean() -> None:
    run = lapse(f"validate {NOW}", cwd=REPO)
    assert run.code == 0, run.out + run.err
    assert run.out.strip().endswith("no errors (0 warnings, 0 notes)")


def test_text_report_names_file_line_column_and_rule(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "requests/pci-prod/inc-9-bad.yaml", BAD)

    run = lapse(f"validate {NOW}", cwd=root)

    assert run.code == 1
    lines = run.out.splitlines()
    assert (
        "requests/pci-prod/inc-9-bad.yaml:2:12: error [LAPSE201] 'zed@example.com' is not a "
        "person in policy/policy.yaml" in lines
    )
    assert any(
        line.startswith("requests/pci-prod/inc-9-bad.yaml:4:9: error [LAPSE231]") for line in lines
    )
    assert any(
        line.startswith("requests/pci-prod/inc-9-bad.yaml:7:5: error [LAPSE210]") for line in lines
    )
    assert lines[-1] == "3 files checked: 3 errors in 1 file (0 warnings, 0 notes)"


def test_json_report(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "requests/pci-prod/inc-9-bad.yaml", BAD)

    run = lapse(f"validate {NOW} --format json", cwd=root)

    assert run.code == 1
    found = json.loads(run.out)["problems"]
    assert [(p["line"], p["col"], p["rule"]) for p in found] == [
        (2, 12, "LAPSE201"),
        (4, 9, "LAPSE231"),
        (7, 5, "LAPSE210"),
    ]
    assert all(p["path"] == "requests/pci-prod/inc-9-bad.yaml" and p["hint"] for p in found)


def test_github_annotations_line_by_line_and_step_summary(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "requests/pci-prod/inc-9-bad.yaml", BAD)
    summary = tmp_path / "summary.md"

    run = lapse(
        f"validate {NOW}",
        cwd=root,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )

    assert run.code == 1
    annotations = [line for line in run.out.splitlines() if line.startswith("::")]
    assert annotations[0] == (
        "::error file=requests/pci-prod/inc-9-bad.yaml,line=2,col=12,title=LAPSE201::"
        "[LAPSE201] 'zed@example.com' is not a person in policy/policy.yaml%0Ahint: add the "
        "person under `people` (GitHub login -> email) in a separate, security-reviewed change"
    )
    assert [a.split("::")[1].split(",")[1:3] for a in annotations] == [
        ["line=2", "col=12"],
        ["line=4", "col=9"],
        ["line=7", "col=5"],
    ]
    assert "requests/pci-prod/inc-9-bad.yaml:2:12: error [LAPSE201]" in run.out  # full report too
    table = summary.read_text()
    assert "| `requests/pci-prod/inc-9-bad.yaml` | 2:12 | LAPSE201 | error |" in table


def test_time_rules_apply_to_named_files_only(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    old = BAD.replace("zed@", "alice@").replace("JIRA-1", "INC-4512")
    old = old.replace("roles/owner", "roles/cloudsql.client")
    old = old.replace("2026-11-30T13:00:00Z", "2026-11-01T13:00:00Z\nstarts: 2026-11-01T10:00:00Z")
    place(root, "requests/pci-prod/inc-4512-old.yaml", old)

    everything = lapse(f"validate {NOW}", cwd=root)
    named = lapse(f"validate {NOW} requests/pci-prod/inc-4512-old.yaml", cwd=root)

    assert everything.code == 0
    assert "info [LAPSE303] expired" in everything.out
    assert named.code == 1
    assert "error [LAPSE303] expires is in the past" in named.out


def test_changed_since_holds_new_files_to_the_time_rules(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=root, check=True)
    late = BAD.replace("zed@", "alice@").replace("JIRA-1", "INC-4512")
    late = late.replace("roles/owner", "roles/cloudsql.client")
    place(root, "requests/pci-prod/inc-4512-late.yaml", late)  # no starts: 25h from now

    run = lapse(f"validate {NOW} --changed-since main", cwd=root)

    assert run.code == 1
    assert "requests/pci-prod/inc-4512-late.yaml:5:10: error [LAPSE302]" in run.out


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert lapse("validate --now yesterday", cwd=REPO).code == 2
    assert lapse("validate", cwd=tmp_path).code == 2  # not a lapse repository
    assert lapse("validate no/such/file.yaml", cwd=REPO).code == 2


def test_new_writes_a_valid_request(tmp_path: Path) -> None:
    root = make_repo(tmp_path)

    run = lapse(
        f"new {NOW} --target pci-prod --role roles/cloudsql.client --project pci-prod-payments "
        "--duration 2h --reason 'Investigate failed settlement batch for merchant 4411' "
        "--ticket INC-4512 --requester alice@example.com",
        cwd=root,
    )

    assert run.code == 0, run.err
    path = root / "requests/pci-prod/inc-4512-investigate-failed-settlement-batch.yaml"
    assert run.out.startswith("wrote requests/pci-prod/inc-4512-investigate-failed-settlement")
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schemas/")
    data = yaml.safe_load(text)
    assert data["expires"].isoformat() == "2026-11-29T14:00:00+00:00"
    assert "starts" not in data
    assert data["grants"] == [{"role": "roles/cloudsql.client", "project": "pci-prod-payments"}]
    assert lapse(f"validate {NOW} {path.relative_to(root)}", cwd=root).code == 0


def test_new_picks_a_fresh_id_and_never_overwrites(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    line = (
        f"new {NOW} --target staging --role roles/cloudsql.client --project stg-payments "
        "--starts 2026-11-30T08:00:00Z --expires 2026-11-30T10:00:00Z --ticket CHG-1300 "
        "--reason 'Replay the staging settlement import' --requester bob@example.com"
    )
    first, second = lapse(line, cwd=root), lapse(line, cwd=root)

    assert first.code == second.code == 0
    names = sorted(p.name for p in (root / "requests/staging").iterdir())
    assert names == [
        "chg-1300-replay-the-staging-settlement-2.yaml",
        "chg-1300-replay-the-staging-settlement.yaml",
    ]


def test_new_refuses_with_the_problems_validate_prints(tmp_path: Path) -> None:
    root = make_repo(tmp_path)

    run = lapse(
        f"new {NOW} --target pci-prod --role roles/owner --project pci-prod-payments "
        "--duration 9h --reason 'Fix it' --ticket INC-4512 --requester alice@example.com",
        cwd=root,
    )

    assert run.code == 1
    assert "error [LAPSE210] roles/owner is a basic role" in run.err
    assert "error [LAPSE302] window of 9h" in run.err
    assert "error [LAPSE232]" in run.err
    assert not list((root / "requests").rglob("*.yaml")), "nothing is left behind"


def test_new_requester_from_git_config(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "config", "user.email", "carol@example.com"], cwd=root, check=True)

    run = lapse(
        f"new {NOW} --target pci-prod --role roles/bigquery.dataViewer "
        "--dataset pci-prod-analytics.chargebacks --duration 1h --ticket INC-4600 "
        "--reason 'Reconcile chargeback totals for November'",
        cwd=root,
    )

    assert run.code == 0, run.err
    written = next((root / "requests/pci-prod").iterdir())
    assert yaml.safe_load(written.read_text())["requester"] == "carol@example.com"


def test_new_needs_exactly_one_resource(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    run = lapse(
        f"new {NOW} --target pci-prod --role roles/cloudsql.client --duration 1h "
        "--ticket INC-4512 --reason 'Investigate failed settlement' "
        "--requester alice@example.com",
        cwd=root,
    )
    assert run.code == 2
    assert "name exactly one resource" in run.err
