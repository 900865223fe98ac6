"""A grant is reviewed until its complete report is there, however long ago it ended."""

from __future__ import annotations

import json
from pathlib import Path

from tests.acceptance.cli import lapse
from tests.acceptance.test_review_windows import git, repository, request_text, set_iam_policy
from tests.support import export_manifest, make_repo, place

RID = "inc-4800-late"


def export(tmp_path: Path) -> Path:
    log = tmp_path / "audit.jsonl"
    entry = set_iam_policy(
        "late-backdoor",
        "2026-12-04T10:00:00Z",
        by="alice@example.com",
        member="user:mallory@example.com",
        title="backdoor",
    )
    log.write_text(json.dumps(entry) + "\n")
    export_manifest(log)
    return log


def test_a_grant_that_ended_five_days_ago_is_reviewed_with_since_2d(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    text = request_text("2026-12-05T00:00:00Z", "2026-12-04T08:00:00Z", "INC-4800")
    place(root, f"archive/pci-prod/2026-12/{RID}.yaml", text)
    log = export(tmp_path)

    run = lapse(f"review --source file:{log} --at 2026-12-10T00:00:00Z --since 2d", cwd=root)

    assert run.code == 1, run.out + run.err
    assert "1 grant reviewed" in run.out
    report = json.loads((root / f"reports/pci-prod/2026-12/{RID}.json").read_text())
    assert report["complete"] is True
    assert ("CRITICAL", "persistence") in {(f["severity"], f["kind"]) for f in report["findings"]}

    # Once its complete report is there, the next day's review passes it over.
    again = lapse(f"review --source file:{log} --at 2026-12-11T00:00:00Z --since 2d", cwd=root)
    assert "0 grants reviewed" in again.out, again.out


def test_past_the_policy_retention_the_report_is_incomplete_and_says_why(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    policy = root / "policy/policy.yaml"
    limit = "  reason_max_length: 500\n"
    policy.write_text(policy.read_text().replace(limit, limit + "  audit_log_retention_days: 30\n"))
    text = request_text("2026-11-01T00:00:00Z", "2026-10-31T20:00:00Z", "INC-4801")
    place(root, "archive/pci-prod/2026-11/inc-4801-old.yaml", text)
    log = export(tmp_path)

    run = lapse(f"review --source file:{log} --at 2026-12-10T00:00:00Z --since 2d", cwd=root)

    assert run.code == 1, run.out + run.err
    report = json.loads((root / "reports/pci-prod/2026-11/inc-4801-old.json").read_text())
    assert report["complete"] is False
    assert any("no longer kept" in gap and "30" in gap for gap in report["gaps"]), report["gaps"]


def test_a_grant_reviewed_again_gets_a_new_edition_and_main_keeps_its_report(
    tmp_path: Path,
) -> None:
    # The first review had no logs (INCOMPLETE) and its report was merged; the next review has
    # them. The report on main stays as it was (LAPSE151): the new one is edition 2.
    root = repository(tmp_path)
    text = request_text("2026-12-05T00:00:00Z", "2026-12-04T08:00:00Z", "INC-4802")
    place(root, "archive/pci-prod/2026-12/inc-4802-again.yaml", text)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    first = lapse(f"review --source file:{empty} --at 2026-12-06T00:00:00Z --since 2d", cwd=root)
    assert "INCOMPLETE" in first.out, first.out
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Post-access reviews", when="2026-12-06T01:00:00Z")
    merged = (root / "reports/pci-prod/2026-12/inc-4802-again.json").read_bytes()
    log = export(tmp_path)

    second = lapse(f"review --source file:{log} --at 2026-12-06T00:00:00Z --since 2d", cwd=root)

    assert "1 grant reviewed" in second.out, second.out
    folder = root / "reports/pci-prod/2026-12"
    assert (folder / "inc-4802-again.json").read_bytes() == merged
    again = json.loads((folder / "inc-4802-again.2.json").read_text())
    assert again["complete"] is True
    assert (folder / "inc-4802-again.2.md").is_file()
    assert (root / "reports/summary/2026-12-06.2.json").is_file()
    git(root, "checkout", "-qb", "lapse/review")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Post-access reviews, again", when="2026-12-06T02:00:00Z")
    assert lapse("validate --changed-since main", cwd=root).code == 0
    # Complete now: the next day's review passes it over.
    third = lapse(f"review --source file:{log} --at 2026-12-07T00:00:00Z --since 2d", cwd=root)
    assert "0 grants reviewed" in third.out, third.out
