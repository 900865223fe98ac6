"""The commands that talk to Google and GitHub, run in-process with their adapters faked at
the edge: the IAM client object for `roles sync` (gRPC only), HTTP for everything else."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import responses
from google.api_core import exceptions as api_exceptions
from google.cloud.iam_admin_v1 import types

from generator import cli
from generator.commands import adapters
from generator.gcp.roles import load_lock
from tests.support import make_repo, serve_empty_policies

LOCK = "policy/roles.lock.json"


@dataclass
class FakeIAM:
    """IAMClient.get_role as the roles adapter calls it, from a table of real-shaped Roles."""

    roles: dict[str, types.Role | Exception]
    calls: list[str] = field(default_factory=list)

    def get_role(self, *, name: str) -> types.Role:
        self.calls.append(name)
        answer = self.roles[name]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _role(name: str, permissions: list[str]) -> types.Role:
    return types.Role(
        name=name,
        title="Cloud SQL Client",
        stage=types.Role.RoleLaunchStage.GA,
        included_permissions=permissions,
    )


def test_roles_sync_prints_added_permissions_and_writes_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path)
    before = load_lock(root / LOCK)["roles/cloudsql.client"].permissions
    gained = sorted([*before, "resourcemanager.projects.setIamPolicy"])
    fake = FakeIAM({"roles/cloudsql.client": _role("roles/cloudsql.client", gained)})
    monkeypatch.setattr(adapters, "build_iam_client", lambda: fake)

    code = cli.main(["roles", "sync", "--role", "roles/cloudsql.client", "--root", str(root)])

    assert code == 0
    assert (
        capsys.readouterr().out == "roles/cloudsql.client: +resourcemanager.projects.setIamPolicy\n"
    )
    assert load_lock(root / LOCK)["roles/cloudsql.client"].permissions == tuple(gained)
    assert cli.main(["validate", "--root", str(root)]) == 1  # the lock now makes it dangerous


def test_roles_sync_warns_when_a_role_gains_a_persistence_permission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path)
    before = load_lock(root / LOCK)["roles/logging.viewer"].permissions
    gained = sorted([*before, "logging.sinks.create", "logging.buckets.list"])
    fake = FakeIAM({"roles/logging.viewer": _role("roles/logging.viewer", gained)})
    monkeypatch.setattr(adapters, "build_iam_client", lambda: fake)

    code = cli.main(["roles", "sync", "--role", "roles/logging.viewer", "--root", str(root)])

    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == (
        "warning: roles/logging.viewer gained logging.sinks.create, which can leave access"
        " behind (log_routing: log_routing): LAPSE251/LAPSE253 refuse it unless excepted\n"
    )
    assert cli.main(["validate", "--root", str(root)]) == 1


def test_roles_sync_failure_on_one_role_leaves_the_file_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path)
    original = (root / LOCK).read_bytes()
    fake = FakeIAM(
        {
            "roles/cloudsql.client": _role("roles/cloudsql.client", ["cloudsql.instances.connect"]),
            "roles/logging.viewer": api_exceptions.PermissionDenied("iam.roles.get denied"),
        }
    )
    monkeypatch.setattr(adapters, "build_iam_client", lambda: fake)

    code = cli.main(
        [
            "roles",
            "sync",
            "--role",
            "roles/cloudsql.client",
            "--role",
            "roles/logging.viewer",
            "--root",
            str(root),
        ]
    )

    assert code == 3
    assert "roles/logging.viewer" in capsys.readouterr().err
    assert (root / LOCK).read_bytes() == original


def test_corrupt_lock_is_a_located_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path)
    (root / LOCK).write_text('{"format": 1, "roles": {\n  "roles/x": [\n')
    assert cli.main(["validate", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("policy/roles.lock.json:3:1: error [LAPSE252]")


API = "https://api.github.com:443/repos/example-org/access"
MERGE = "e5bd3914e2e596debea16f433f57875b5b90bcd6"


def test_verify_approvals_without_a_pull_request_exits_1_with_evidence(
    tmp_path: Path,
    http: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_repo(tmp_path)
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_REPOSITORY", "example-org/access")
    http.add(responses.GET, f"{API}/commits/{MERGE}/pulls", json=[])

    code = cli.main(["verify-approvals", "--commit", MERGE, "--root", str(root)])

    captured = capsys.readouterr()
    assert code == 1
    evidence = json.loads(captured.out)
    assert evidence["commit"] == MERGE and evidence["ok"] is False
    assert "not approved: no pull request merged this commit" in captured.err


def test_verify_approvals_needs_github_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    root = make_repo(tmp_path)
    assert cli.main(["verify-approvals", "--commit", MERGE, "--root", str(root)]) == 2


@pytest.mark.parametrize("broken_archive", [False, True])
def test_drift_finds_a_stripped_condition(
    tmp_path: Path,
    http: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    broken_archive: bool,
) -> None:
    root = make_repo(tmp_path, with_requests=True)
    assert cli.main(["render", "--root", str(root)]) == 0
    capsys.readouterr()
    if broken_archive:
        # One malformed file under archive/ is a located problem; the rest is still compared.
        # (validate refuses it, LAPSE134; drift reads what was merged, whatever state it is in.)
        (root / "archive/pci-prod/2026-11").mkdir(parents=True)
        broken = root / "archive/pci-prod/2026-11/inc-4000-broken.yaml"
        broken.write_text("requester: [unclosed\n")
    for name in [
        "inc-4530-secret-metadata",
        "inc-4533-chargeback-query",
        "chg-1207-folder-review",
        "chg-1210-batch-runner",
    ]:
        target = "pci-prod" if name.startswith("inc") else "staging"
        (root / "requests" / target / f"{name}.yaml").unlink()
        (root / "terraform/grants" / f"{target}.{name}.tf").unlink()
    monkeypatch.setattr(adapters, "build_session", requests.Session)
    stripped = {
        "version": 1,
        "etag": "BwYbH9aE6Kc=",
        "bindings": [{"role": "roles/cloudsql.client", "members": ["user:alice@example.com"]}],
    }
    bucket = {
        "kind": "storage#policy",
        "resourceId": "projects/_/buckets/settlement-exports",
        "version": 3,
        "etag": "CAE=",
        "bindings": [],
    }
    http.add(
        responses.POST,
        "https://cloudresourcemanager.googleapis.com/v1/projects/pci-prod-payments:getIamPolicy",
        json=stripped,
    )
    http.add(
        responses.GET,
        "https://storage.googleapis.com/storage/v1/b/settlement-exports/iam",
        json=bucket,
    )
    serve_empty_policies(http)  # every other resource the policy allows is swept too

    code = cli.main(
        ["drift", "--format", "json", "--now", "2026-12-01T10:00:00Z", "--root", str(root)]
    )

    assert code == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    severities = {(f["rule"], f["severity"]) for f in report["findings"]}
    assert ("condition-stripped", "CRITICAL") in severities
    if broken_archive:
        assert "archive/pci-prod/2026-11/inc-4000-broken.yaml:2:1: LAPSE101" in captured.err
