"""The whole lifecycle, in a real git repository, with the real CLI.

new -> validate -> render -> simulate (active) -> merge -> verify-approvals (GitHub over HTTP)
-> time passes -> simulate (inactive) -> expire --mode local -> review from an audit export
-> report and incident issue.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import responses

from generator import cli
from tests.acceptance.cli import lapse
from tests.support import archive_of, export_manifest, make_repo

DATA = Path(__file__).resolve().parent.parent / "data" / "github"
API = "https://api.github.com:443/repos/example-org/access"
REQUEST = "requests/pci-prod/inc-4600-reconcile-settlement-batch-4411.yaml"
GIT = ["git", "-c", "user.name=Alice Ng", "-c", "user.email=alice@example.com"]


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        [*GIT, *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def fixture(shape: str, /, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{shape}.json").read_text())
    data.update(changes)
    return data


def user(login: str) -> dict[str, Any]:
    return fixture("user", login=login, url=f"https://api.github.com/users/{login}")


def serve_github(http: responses.RequestsMock, merge: str, head: str, text: str) -> None:
    pull = fixture("pull", user=user("alice-ng"), merge_commit_sha=merge)
    pull["head"]["sha"] = head
    http.add(responses.GET, f"{API}/commits/{merge}/pulls", json=[pull])
    http.add(responses.GET, f"{API}/commits/{head}/pulls", json=[pull])  # the commit that added it
    http.add(
        responses.GET,
        f"{API}/pulls/42/files",
        json=[
            fixture("pull_file", filename=REQUEST, status="added"),
            fixture(
                "pull_file",
                filename="terraform/grants/pci-prod.inc-4600-reconcile-settlement-batch-4411.tf",
                status="added",
            ),
        ],
    )
    http.add(
        responses.GET,
        f"{API}/pulls/42/reviews",
        json=[fixture("review", user=user("carol-diaz"), state="APPROVED", commit_id=head)],
    )
    http.add(
        responses.GET,
        re.compile(rf"{re.escape(API)}/contents/.*"),
        json=fixture(
            "content_file",
            path=REQUEST,
            name=REQUEST.rsplit("/", 1)[1],
            content=base64.b64encode(text.encode()).decode(),
        ),
    )
    http.add(
        responses.GET,
        "https://api.github.com:443/orgs/example-org/teams/pci-access-approvers/members",
        json=[user("carol-diaz")],
    )


def audit_export(path: Path) -> Path:
    log = "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Fdata_access"
    resource = "projects/pci-prod-payments/instances/settlement-db"

    def entry(insert_id: str, at: str) -> dict[str, Any]:
        return {
            "insertId": insert_id,
            "logName": log,
            "timestamp": at,
            "protoPayload": {
                "serviceName": "cloudsql.googleapis.com",
                "methodName": "cloudsql.instances.connect",
                "resourceName": resource,
                "authenticationInfo": {"principalEmail": "alice@example.com"},
                "authorizationInfo": [
                    {
                        "resource": resource,
                        "granted": True,
                        "permission": "cloudsql.instances.connect",
                    }
                ],
            },
        }

    lines = [entry("during", "2026-11-30T09:30:00Z"), entry("hours-later", "2026-11-30T14:00:00Z")]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    export_manifest(path)
    return path


def test_lifecycle(
    tmp_path: Path,
    http: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_repo(tmp_path / "repo")
    (root / ".github").mkdir()
    assert lapse("codeowners", cwd=root).code == 0
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "lapse repository")
    git(root, "checkout", "-qb", "access/inc-4600")

    # The requester asks, validates and renders, as the README says.
    new = lapse(
        "new --now 2026-11-29T12:00:00Z --target pci-prod --role roles/cloudsql.client "
        "--project pci-prod-payments --starts 2026-11-30T09:00:00Z --duration 2h "
        "--ticket INC-4600 --reason 'Reconcile settlement batch 4411 against the bank "
        "file' --requester alice@example.com",
        cwd=root,
    )
    assert new.code == 0, new.err
    assert (root / REQUEST).exists()
    assert lapse("validate --now 2026-11-29T12:00:00Z --changed-since main", cwd=root).code == 0
    assert lapse("render", cwd=root).code == 0
    active = json.loads(lapse("simulate --at 2026-11-30T10:59:59Z --format json", cwd=root).out)
    assert [b["active"] for b in active["bindings"]] == [True]
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Request INC-4600")
    head = git(root, "rev-parse", "HEAD")

    # Approved and merged; apply proves the approval through GitHub's API first.
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge pull request #42", "access/inc-4600")
    merge = git(root, "rev-parse", "HEAD")
    serve_github(http, merge, head, (root / REQUEST).read_text())
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_REPOSITORY", "example-org/access")
    monkeypatch.setenv("LAPSE_GITHUB_LOGIN", "lapse-bot[bot]")
    assert cli.main(["verify-approvals", "--commit", merge, "--root", str(root)]) == 0
    evidence = json.loads(capsys.readouterr().out)
    assert evidence["ok"]
    assert [a["approver"] for a in evidence["requests"][0]["approvals"]] == ["carol-diaz"]

    # Time passes: the condition alone ends the access.
    after = json.loads(lapse("simulate --at 2026-11-30T11:00:00Z --format json", cwd=root).out)
    assert [b["active"] for b in after["bindings"]] == [False]

    # The scheduled cleanup archives it in one commit.
    before = git(root, "rev-list", "--count", "HEAD")
    expired = lapse("expire --mode local --now 2026-11-30T12:00:00Z", cwd=root)
    assert expired.code == 0, expired.err
    assert int(git(root, "rev-list", "--count", "HEAD")) == int(before) + 1
    archived = root / archive_of(REQUEST, "2026-11")
    assert archived.read_bytes() == git(root, "show", f"{merge}:{REQUEST}").encode() + b"\n"
    assert not list((root / "terraform/grants").glob("pci-prod.inc-*.tf"))
    assert lapse("render --check", cwd=root).code == 0

    # The review finds use hours after expiry: the binding did not expire. Incident.
    issues: list[dict[str, Any]] = []
    http.add(responses.GET, re.compile(rf"{re.escape(API)}/issues\?.*"), json=[])
    http.add_callback(
        responses.POST,
        f"{API}/issues",
        callback=lambda request: (
            issues.append(json.loads(request.body)) or 201,
            {"Content-Type": "application/json"},
            json.dumps(fixture("issue", number=57)),
        ),
    )
    log = audit_export(tmp_path / "audit.jsonl")
    code = cli.main(
        [
            "review",
            "--source",
            f"file:{log}",
            "--until",
            "2026-12-01T00:00:00Z",
            "--since",
            "2d",
            "--open-issues",
            "--root",
            str(root),
        ]
    )
    assert code == 1
    report = json.loads(
        (
            root / "reports/pci-prod/2026-11/inc-4600-reconcile-settlement-batch-4411.json"
        ).read_text()
    )
    assert {f["severity"] for f in report["findings"]} == {"CRITICAL"}
    assert report["approval"]["pull request"] == "#42"
    assert report["approval"]["approved by"] == ["carol-diaz"]
    (issue,) = issues
    assert issue["title"] == "Access review deviation: inc-4600-reconcile-settlement-batch-4411"
    assert "security-incident" in issue["labels"]
