"""Listing the projects below a folder: pages, states, loops and refusals."""

from __future__ import annotations

import json
import re
from typing import Any

import requests
import responses

from generator.gcp.descendants import ProjectTree

CRM = "https://cloudresourcemanager.googleapis.com/v3"
ROUTE = re.compile(rf"{re.escape(CRM)}/(projects|folders)\?.*")


def tree(http: responses.RequestsMock, answer: Any) -> ProjectTree:
    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        collection = request.path_url.split("?")[0].rsplit("/", 1)[1]
        status, body = answer(collection, request.params)
        return status, {}, json.dumps(body)

    http.add_callback(responses.GET, ROUTE, callback=reply)
    http.assert_all_requests_are_fired = False
    return ProjectTree(requests.Session(), sleep=lambda _: None)


def test_pages_are_followed_and_only_active_projects_kept(http: responses.RequestsMock) -> None:
    def answer(collection: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if collection == "folders":
            return 200, {}
        if params.get("pageToken") != "p2":
            return 200, {
                "projects": [{"name": "projects/1", "projectId": "a", "state": "ACTIVE"}],
                "nextPageToken": "p2",
            }
        return 200, {
            "projects": [
                {"name": "projects/2", "projectId": "b", "state": "ACTIVE"},
                {"name": "projects/3", "projectId": "c", "state": "DELETE_REQUESTED"},
            ]
        }

    found = tree(http, answer).descendants(["folders/9"])
    assert found.projects == {"folders/9": ["a", "b"]} and found.gaps == []


def test_a_folder_that_lists_itself_ends(http: responses.RequestsMock) -> None:
    def answer(collection: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if collection == "folders":
            return 200, {"folders": [{"name": params["parent"], "state": "ACTIVE"}]}
        return 200, {"projects": [{"projectId": "a", "state": "ACTIVE"}]}

    assert tree(http, answer).descendants(["folders/9"]).projects == {"folders/9": ["a"]}


def test_a_repeated_page_token_or_a_refusal_is_a_gap(http: responses.RequestsMock) -> None:
    def answer(collection: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if params["parent"] == "folders/1":
            return 200, {"nextPageToken": "same"}
        return 403, {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}

    found = tree(http, answer).descendants(["folders/1", "organizations/2"])
    assert found.projects == {}
    gaps = dict(found.gaps)
    assert "repeated a page" in gaps["folders/1"]
    assert "HTTP 403" in gaps["organizations/2"]
    assert "--organization=2 --include-children" in gaps["organizations/2"]


def test_a_tree_deeper_than_resource_manager_allows_is_a_gap(
    http: responses.RequestsMock,
) -> None:
    def answer(collection: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if collection == "projects":
            return 200, {}
        depth = int(params["parent"].split("/")[1]) + 1
        return 200, {"folders": [{"name": f"folders/{depth}", "state": "ACTIVE"}]}

    (gap,) = tree(http, answer).descendants(["folders/0"]).gaps
    assert "nested deeper than 10" in gap[1]


def test_the_setup_checklist_creates_the_doctor_role_with_every_permission_doctor_uses() -> None:
    from pathlib import Path

    from generator.gcp.doctor_access import DOCTOR_PERMISSIONS, permission_of

    readme = (Path(__file__).resolve().parents[2] / "docs" / "setup.md").read_text()
    lines = readme.splitlines()
    start = next(i for i, text in enumerate(lines) if "roles create lapseDoctor" in text)
    line = next(text for text in lines[start:] if text.strip().startswith("--permissions"))
    assert tuple(line.split()[1].split(",")) == DOCTOR_PERMISSIONS
    crm = "https://cloudresourcemanager.googleapis.com"
    assert permission_of("GET", f"{crm}/v3/projects:search?query=id%3Ap") == (
        "resourcemanager.projects.get"
    )
    assert permission_of("POST", f"{crm}/v1/projects/p:getIamPolicy") == (
        "resourcemanager.projects.getIamPolicy"
    )
    assert permission_of("DELETE", f"{crm}/v3/folders/1") == ""
