"""A folder grant is reviewed from the logs of the projects below the folder, where it is used.

The sample request chg-1207-folder-review grants dave two roles on folders/204518736091. Resource
Manager lists stg-payments (in the policy) and, one folder down, stg-ledger (not in it): both
projects' logs are read and both uses are explained by the folder grant.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from google.auth.credentials import AnonymousCredentials

from generator import cli
from generator.commands import adapters
from generator.review.logging_source import logging_client
from tests.support import answers_may_go_unused, make_repo

FOLDER = "folders/204518736091"
BELOW = "folders/770011223344"
CRM = "https://cloudresourcemanager.googleapis.com/v3"
LOGGING = "https://logging.googleapis.com/v2/entries:list"
LINE = [
    "review",
    "--source",
    "logging",
    "--until",
    "2026-12-10T00:00:00Z",
    "--since",
    "30d",
    "--project",
    "pci-prod-payments",
]


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("generator.core.retry.time.sleep", lambda _: None)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = make_repo(tmp_path / "repo", with_requests=True)
    assert cli.main(["render", "--root", str(repo)]) == 0
    monkeypatch.setattr(adapters, "build_session", requests.Session)
    monkeypatch.setattr(
        adapters, "logging_client", lambda project: logging_client(project, AnonymousCredentials())
    )
    return repo


def project(project_id: str, number: str, parent: str) -> dict[str, str]:
    return {
        "name": f"projects/{number}",
        "parent": parent,
        "projectId": project_id,
        "state": "ACTIVE",
        "displayName": project_id,
        "createTime": "2024-03-11T09:12:40.512Z",
        "updateTime": "2024-03-11T09:12:41.008Z",
        "etag": 'W/"a1b2c3"',
    }


def serve_tree(http: responses.RequestsMock, status: int = 200) -> None:
    if status != 200:
        error = {
            "error": {
                "code": status,
                "message": "The caller does not have permission",
                "status": "PERMISSION_DENIED",
            }
        }
        http.add(
            responses.GET,
            re.compile(rf"{re.escape(CRM)}/(projects|folders)\?.*"),
            json=error,
            status=status,
        )
        return
    children = {
        ("projects", FOLDER): [project("stg-payments", "415104041262", FOLDER)],
        ("projects", BELOW): [project("stg-ledger", "604815290731", BELOW)],
        ("folders", FOLDER): [
            {"name": BELOW, "parent": FOLDER, "displayName": "ledger", "state": "ACTIVE"}
        ],
        ("folders", BELOW): [
            {"name": "folders/880022334455", "parent": BELOW, "state": "DELETE_REQUESTED"}
        ],
    }

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        collection = request.path_url.split("?")[0].rsplit("/", 1)[1]
        parent = request.params["parent"]
        items = children.get((collection, parent), [])
        return 200, {}, json.dumps({collection: items} if items else {})

    http.add_callback(
        responses.GET, re.compile(rf"{re.escape(CRM)}/(projects|folders)\?.*"), callback=answer
    )


def use(project_id: str, insert_id: str) -> dict[str, Any]:
    name = f"projects/{project_id}"
    return {
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {"principalEmail": "dave@example.com"},
            "serviceName": "cloudresourcemanager.googleapis.com",
            "methodName": "GetIamPolicy",
            "authorizationInfo": [
                {
                    "resource": name,
                    "permission": "resourcemanager.projects.getIamPolicy",
                    "granted": True,
                }
            ],
            "resourceName": name,
        },
        "insertId": insert_id,
        "resource": {"type": "project", "labels": {"project_id": project_id}},
        "timestamp": "2026-12-04T10:00:00Z",
        "logName": f"{name}/logs/cloudaudit.googleapis.com%2Fdata_access",
        "receiveTimestamp": "2026-12-04T10:00:01Z",
    }


def serve_logs(http: responses.RequestsMock) -> list[list[str]]:
    asked: list[list[str]] = []
    uses = {
        "projects/stg-payments": use("stg-payments", "in-payments"),
        "projects/stg-ledger": use("stg-ledger", "in-ledger"),
    }

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        asked.append(body["resourceNames"])
        found = [uses[n] for n in body["resourceNames"] if n in uses]
        wanted = "dave@example.com" in body["filter"]
        return 200, {}, json.dumps({"entries": found} if found and wanted else {})

    http.add_callback(responses.POST, LOGGING, callback=answer)
    return asked


def folder_report(root: Path) -> dict[str, Any]:
    (path,) = (root / "reports").rglob("chg-1207-folder-review*.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_a_folder_grant_is_reviewed_from_the_projects_below_it(
    root: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    answers_may_go_unused(http, "the tree and the logs answer whatever is asked")
    serve_tree(http)
    asked = serve_logs(http)

    cli.main([*LINE, "--root", str(root)])

    out = capsys.readouterr().out
    read = {name for names in asked for name in names}
    assert {"projects/stg-payments", "projects/stg-ledger", FOLDER} <= read
    report = folder_report(root)
    assert report["complete"], report["gaps"]
    assert report["events"]["in_window"] == 2
    kinds = {f["kind"] for f in report["findings"]}
    assert not kinds & {"unexplained", "unverifiable"}, report["findings"]
    assert "chg-1207-folder-review" in out


def test_without_the_listing_the_folder_review_is_incomplete_with_the_fix(
    root: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    answers_may_go_unused(http, "the logs answer whatever is asked")
    serve_tree(http, status=403)
    serve_logs(http)

    code = cli.main([*LINE, "--root", str(root)])

    capsys.readouterr()
    assert code == 1
    report = folder_report(root)
    assert not report["complete"]
    (gap,) = report["gaps"]
    assert f"the projects below {FOLDER} could not be listed" in gap
    assert "403" in gap
    assert f"roles/browser on {FOLDER}" in gap
    assert "--folder=204518736091 --include-children" in gap
    # The gap is the folder grant's alone: the project grants' reviews are complete.
    (other,) = (root / "reports").rglob("inc-4512-settlement-batch*.json")
    assert json.loads(other.read_text())["complete"]
