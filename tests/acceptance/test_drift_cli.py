"""`lapse drift` end to end: one reading per policy, incidents from it, rendered files only."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from generator import cli
from generator.commands import adapters
from generator.gcp.iam_policies import policy_request
from generator.lifecycle.drift import DriftFinding
from generator.lifecycle.drift_text import incident_key
from generator.terraform.bindings import read_bindings
from tests.support import make_repo, serve_empty_policies

NOW = "2026-12-01T10:00:00Z"
PROJECT_URL = (
    "https://cloudresourcemanager.googleapis.com/v1/projects/pci-prod-payments:getIamPolicy"
)
GRANT_FILE = "terraform/grants/pci-prod.inc-4512-settlement-batch.tf"
EXTENDED = 'request.time < timestamp(\\"2099-12-31T23:59:59Z\\")'


class FakeIssues:
    """`ensure_issue` as the GitHub client promises it: one issue per key, ever."""

    def __init__(self) -> None:
        self.issues: dict[str, int] = {}
        self.calls: list[str] = []

    def ensure_issue(self, key: str, title: str, body: str, labels: Sequence[str]) -> int:
        self.calls.append(key)
        return self.issues.setdefault(key, 100 + len(self.issues))


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = make_repo(tmp_path, with_requests=True)
    assert cli.main(["render", "--root", str(repo)]) == 0
    monkeypatch.setattr(adapters, "build_session", requests.Session)
    return repo


@pytest.fixture
def issues(monkeypatch: pytest.MonkeyPatch) -> FakeIssues:
    fake = FakeIssues()
    monkeypatch.setattr(adapters, "github", lambda: fake)
    return fake


def payments_policy(root: Path, *, expression: str | None = None) -> dict[str, Any]:
    """The live policy of pci-prod-payments: the rendered grant, a lapse orphan, a person."""
    (alice,) = [
        b for b in read_bindings(root / "terraform/grants") if b.resource == "pci-prod-payments"
    ]
    condition = {
        "title": alice.title,
        "description": alice.description,
        "expression": expression or alice.expression,
    }
    return {
        "version": 3,
        "etag": "BwYqL2xV9wQ=",
        "bindings": [
            {"role": "roles/owner", "members": ["group:pci-platform-admins@example.com"]},
            {"role": alice.role, "members": [alice.member], "condition": condition},
            {
                "role": "roles/cloudsql.client",
                "members": ["user:erin@example.com"],
                "condition": {
                    "title": "lapse/inc-4498-hand-made/0badc0de",
                    "expression": 'request.time < timestamp("2026-12-03T00:00:00Z")',
                },
            },
            {"role": "roles/cloudsql.viewer", "members": ["user:dave@example.com"]},
        ],
    }


def drift(root: Path, *extra: str) -> int:
    return cli.main(["drift", "--format", "json", "--now", NOW, "--root", str(root), *extra])


def test_one_reading_per_policy_feeds_the_report_and_the_incidents(
    root: Path,
    http: responses.RequestsMock,
    issues: FakeIssues,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live = payments_policy(root, expression='request.time < timestamp("2099-12-31T23:59:59Z")')
    http.add(responses.POST, PROJECT_URL, json=live)
    serve_empty_policies(http)

    assert drift(root, "--open-issues") == 1

    report = json.loads(capsys.readouterr().out)
    reads = Counter(call.request.url.partition("?")[0] for call in http.calls)
    assert reads[PROJECT_URL] == 1
    assert set(reads.values()) == {1}, reads
    assert len(reads) == len(report["resources_checked"])
    found = {(f["severity"], f["rule"], f["member"]) for f in report["findings"]}
    assert {
        ("HIGH", "condition-extended", "user:alice@example.com"),
        ("HIGH", "orphan", "user:erin@example.com"),
        ("HIGH", "unexpected", "user:dave@example.com"),
    } <= found
    serious = [
        f["incident_key"] for f in report["findings"] if f["severity"] in ("CRITICAL", "HIGH")
    ]
    assert sorted(issues.calls) == sorted(serious)

    assert drift(root, "--open-issues") == 1
    assert len(issues.issues) == len(serious)  # the second run opened nothing new


def serve_rendered(http: responses.RequestsMock, root: Path) -> None:
    """Every rendered grant live, with its condition, each in its own API's shape."""
    policies: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for b in read_bindings(root / "terraform/grants"):
        condition = {"title": b.title, "description": b.description, "expression": b.expression}
        entry = {"role": b.role, "members": [b.member], "condition": condition}
        policies.setdefault((b.kind, b.resource), []).append(entry)
    for (kind, resource), bindings in policies.items():
        call = policy_request(kind, resource)
        body: dict[str, Any] = {"version": 3, "etag": "BwYq", "bindings": bindings}
        if kind == "dataset":
            access = [
                {
                    "role": e["role"],
                    "userByEmail": m.removeprefix("user:"),
                    "condition": e["condition"],
                }
                for e in bindings
                for m in e["members"]
            ]
            body = {"kind": "bigquery#dataset", "etag": "BwYq", "access": access}
        http.add(call.method, call.url, json=body)
    serve_empty_policies(http)


def test_a_clean_policy_set_exits_0_and_opens_nothing(
    root: Path, http: responses.RequestsMock, issues: FakeIssues
) -> None:
    serve_rendered(http, root)

    assert drift(root, "--open-issues") == 0
    assert issues.calls == []


def test_a_hand_extended_grant_file_is_not_trusted(
    root: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    path = root / GRANT_FILE
    text = path.read_text()
    start = text.index('expression  = "', text.index("google_project_iam_member")) + 15
    end = text.index('"\n', start)
    path.write_text(text[:start] + EXTENDED + text[end:])
    # The hand-edited window was applied: the live policy holds it.
    live = payments_policy(root, expression='request.time < timestamp("2099-12-31T23:59:59Z")')
    http.add(responses.POST, PROJECT_URL, json=live)
    serve_empty_policies(http)

    assert drift(root) == 1

    findings = json.loads(capsys.readouterr().out)["findings"]
    rules = {(f["rule"], f["resource"]) for f in findings}
    assert ("untrusted-grant-file", GRANT_FILE) in rules
    # The expected window comes from the request, so the live one is seen as extended.
    assert ("condition-extended", "pci-prod-payments") in rules


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("extra.tf.json", '{"resource": {}}\n'),
        ("hand-made.tf", 'resource "google_project_iam_member" "x" {}\n'),
        ("_module.tf", 'terraform {}\nresource "google_project_iam_member" "x" {}\n'),
        ("zz_override.tf", "# nothing\n"),
    ],
)
def test_files_render_would_not_write_are_reported(
    root: Path,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str,
) -> None:
    (root / "terraform/grants" / name).write_text(content)
    serve_empty_policies(http)

    code = cli.main(
        ["drift", "--format", "json", "--now", "2026-12-10T00:00:00Z", "--root", str(root)]
    )

    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert [(f["severity"], f["rule"], f["resource"]) for f in findings] == [
        ("HIGH", "untrusted-grant-file", f"terraform/grants/{name}")
    ]
    assert findings[0]["incident_key"] == incident_key_of(findings[0])


def test_a_symlinked_grant_file_is_not_trusted(
    root: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    path = root / GRANT_FILE
    copy = root / "elsewhere.tf"
    copy.write_bytes(path.read_bytes())
    path.unlink()
    os.symlink(copy, path)
    serve_empty_policies(http)

    code = cli.main(
        ["drift", "--format", "json", "--now", "2026-12-10T00:00:00Z", "--root", str(root)]
    )

    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert [(f["rule"], f["resource"]) for f in findings] == [("untrusted-grant-file", GRANT_FILE)]


def incident_key_of(finding: dict[str, Any]) -> str:
    fields = {k: v for k, v in finding.items() if k != "incident_key"}
    return incident_key(DriftFinding(**fields))
