"""Review windows from a real git history: a request without `starts`, merged, archived by
`lapse expire`, still has its window; overlapping requests both report a shared event."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.acceptance.cli import lapse
from tests.support import export_manifest, make_repo, place

LOG = "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Factivity"
PROJECT = "projects/pci-prod-payments"


def git(root: Path, *args: str, when: str = "2026-11-20T00:00:00Z") -> str:
    env = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, check=True, env=env)
    return done.stdout.decode()


def request_text(expires: str, starts: str | None = None, ticket: str = "INC-4700") -> str:
    start = f"starts: {starts}\n" if starts else ""
    return (
        "requester: alice@example.com\n"
        "reason: Reconcile settlement batch 4411 against the bank file\n"
        f"ticket: {ticket}\n{start}expires: {expires}\n"
        "grants:\n  - role: roles/cloudsql.client\n    project: pci-prod-payments\n"
    )


def set_iam_policy(insert_id: str, at: str, *, by: str, member: str, title: str) -> dict[str, Any]:
    return {
        "insertId": insert_id,
        "logName": LOG,
        "timestamp": at,
        "resource": {"type": "project", "labels": {"project_id": "pci-prod-payments"}},
        "protoPayload": {
            "serviceName": "cloudresourcemanager.googleapis.com",
            "methodName": "SetIamPolicy",
            "resourceName": PROJECT,
            "authenticationInfo": {"principalEmail": by},
            "authorizationInfo": [
                {
                    "resource": PROJECT,
                    "permission": "resourcemanager.projects.setIamPolicy",
                    "granted": True,
                }
            ],
            "serviceData": {
                "policyDelta": {
                    "bindingDeltas": [
                        {
                            "action": "ADD",
                            "member": member,
                            "role": "roles/cloudsql.client",
                            "condition": {"title": title, "expression": "request.time < ..."},
                        }
                    ]
                }
            },
        },
    }


def repository(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "lapse")
    git(root, "config", "user.email", "lapse@example.com")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "lapse repository", when="2026-11-20T00:00:00Z")
    return root


def merge_request(root: Path, rid: str, text: str, *, authored: str, merged: str) -> None:
    git(root, "checkout", "-qb", f"access/{rid}")
    place(root, f"requests/pci-prod/{rid}.yaml", text)
    git(root, "add", "-A")
    # The branch commit claims an early date; only the merge on main counts.
    git(root, "commit", "-qm", f"Request {rid}", when=authored)
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", f"Merge {rid}", f"access/{rid}", when=merged)


def report(root: Path, rid: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / f"reports/pci-prod/2026-11/{rid}.json").read_text())
    return data


def test_archived_request_without_starts_keeps_its_window(tmp_path: Path) -> None:
    root = repository(tmp_path)
    rid = "inc-4700-reconcile"
    merge_request(
        root,
        rid,
        request_text("2026-11-30T11:00:00Z"),
        authored="2026-11-01T00:00:00Z",
        merged="2026-11-30T09:00:00Z",
    )
    expired = lapse(
        "expire --mode local --now 2026-11-30T12:00:00Z",
        cwd=root,
        env={"GIT_COMMITTER_DATE": "2026-11-30T12:00:00Z"},
    )
    assert expired.code == 0, expired.err
    assert (root / f"archive/pci-prod/2026-11/{rid}.yaml").exists()
    log = tmp_path / "audit.jsonl"
    log.write_text(
        json.dumps(
            set_iam_policy(
                "grant-everyone",
                "2026-11-30T10:00:00Z",
                by="alice@example.com",
                member="user:mallory@example.com",
                title="backdoor",
            )
        )
        + "\n"
    )

    export_manifest(log)
    run = lapse(f"review --source file:{log} --until 2026-12-01T00:00:00Z --since 2d", cwd=root)

    assert run.code == 1, run.out + run.err
    data = report(root, rid)
    assert data["window"]["start"] == "2026-11-30T09:00:00Z"  # the merge, not the archive
    assert "on main that brought the request in" in data["window"]["start_from"]
    assert ("CRITICAL", "persistence") in {(f["severity"], f["kind"]) for f in data["findings"]}
    assert "no-activity" not in {f["kind"] for f in data["findings"]}


def test_the_set_iam_policy_that_added_the_binding_dates_the_window(tmp_path: Path) -> None:
    root = repository(tmp_path)
    rid = "inc-4701-reconcile"
    merge_request(
        root,
        rid,
        request_text("2026-11-30T11:00:00Z", ticket="INC-4701"),
        authored="2026-11-01T00:00:00Z",
        merged="2026-11-30T09:00:00Z",
    )
    applied = set_iam_policy(
        "terraform-apply",
        "2026-11-30T09:07:00Z",
        by="terraform@pci-prod-payments.iam.gserviceaccount.com",
        member="user:alice@example.com",
        title=f"lapse/{rid}/project-pci-prod-payments",
    )
    log = tmp_path / "audit.jsonl"
    log.write_text(json.dumps(applied) + "\n")

    export_manifest(log)
    lapse(f"review --source file:{log} --until 2026-12-01T00:00:00Z --since 2d", cwd=root)

    data = report(root, rid)
    assert data["window"]["start"] == "2026-11-30T09:07:00Z"
    assert "terraform-apply" in data["window"]["start_from"]
    # The apply is terraform's, not alice's: it is no finding of hers.
    assert "persistence" not in {f["kind"] for f in data["findings"]}


def test_overlapping_requests_both_report_the_shared_event(tmp_path: Path) -> None:
    root = repository(tmp_path)
    merge_request(
        root,
        "inc-4702-first",
        request_text("2026-11-30T12:00:00Z", "2026-11-30T08:00:00Z", "INC-4702"),
        authored="2026-11-29T00:00:00Z",
        merged="2026-11-29T01:00:00Z",
    )
    merge_request(
        root,
        "inc-4703-second",
        request_text("2026-11-30T14:00:00Z", "2026-11-30T10:00:00Z", "INC-4703"),
        authored="2026-11-29T02:00:00Z",
        merged="2026-11-29T03:00:00Z",
    )
    log = tmp_path / "audit.jsonl"
    log.write_text(
        json.dumps(
            set_iam_policy(
                "shared",
                "2026-11-30T11:00:00Z",
                by="alice@example.com",
                member="user:mallory@example.com",
                title="backdoor",
            )
        )
        + "\n"
    )

    export_manifest(log)
    run = lapse(f"review --source file:{log} --until 2026-12-01T00:00:00Z --since 2d", cwd=root)

    assert run.code == 1
    for rid, other in (
        ("inc-4702-first", "inc-4703-second"),
        ("inc-4703-second", "inc-4702-first"),
    ):
        found = {
            (f["severity"], f["kind"], tuple(f["evidence"])) for f in report(root, rid)["findings"]
        }
        assert ("CRITICAL", "persistence", ("shared",)) in found
        assert ("INFO", "overlap", ("shared",)) in found
        assert any(
            other in f["message"] for f in report(root, rid)["findings"] if f["kind"] == "overlap"
        )
