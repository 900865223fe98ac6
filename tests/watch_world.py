"""GitHub as `lapse watch` reads and writes it, served over HTTP in GitHub's own shapes.

State a test changes between runs: workflow runs per workflow file, the apply's deployment
records, open pull requests, and issues with their comments (opened, edited and closed by the
run under test, as GitHub would keep them).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import responses

from generator.core.times import format_utc
from tests.github_fake import shape
from tests.support import answers_may_go_unused

OWNER_NAME = "example-org/access"
API = f"https://api.github.com:443/repos/{OWNER_NAME}"
LAPSE = "github-actions[bot]"
APPLIED = "2f4c8e1d9b7a6c5e4d3f2a1b0c9d8e7f6a5b4c3d"  # the deployment fixture's commit
APPLY_RUN = 12817304566
Reply = tuple[int, dict[str, str], str]


def user(login: str) -> dict[str, Any]:
    data = shape("issue")["user"]
    return {**data, "login": login, "type": "Bot" if login.endswith("[bot]") else "User"}


def run(number: int, created: datetime, conclusion: str | None, **changes: Any) -> dict[str, Any]:
    return shape(
        "workflow_run",
        id=number,
        created_at=format_utc(created),
        updated_at=format_utc(created),
        status="completed" if conclusion else "in_progress",
        conclusion=conclusion,
        html_url=f"https://github.com/{OWNER_NAME}/actions/runs/{number}",
        **changes,
    )


def pull(number: int, head: str, created: datetime, labels: tuple[str, ...] = ()) -> dict[str, Any]:
    data = shape("pull", number=number, state="open", created_at=format_utc(created))
    data["head"] = {**data["head"], "ref": head}
    data["labels"] = [{**shape("label"), "name": name} for name in labels]
    return data


class WatchHub:
    def __init__(self, http: responses.RequestsMock) -> None:
        answers_may_go_unused(http, "a stateful fake of the routes lapse watch uses")
        self.runs: dict[str, list[dict[str, Any]]] = {}
        self.deployments: list[dict[str, Any]] = []
        self.pulls: list[dict[str, Any]] = []
        self.issues: list[dict[str, Any]] = []
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.refuse: set[str] = set()  # route names answered 403
        self.writes: list[str] = []
        routes = [
            ("GET", r"/actions/workflows/([^/?]+)/runs", "runs", self.list_runs),
            ("GET", r"/deployments", "deployments", self.list_deployments),
            ("GET", r"/deployments/(\d+)/statuses", "statuses", self.list_statuses),
            ("GET", r"/actions/runs/(\d+)", "run", self.get_run),
            ("GET", r"/pulls", "pulls", self.list_pulls),
            ("GET", r"/issues", "issues", self.list_issues),
            ("POST", r"/issues", "open", self.post_issue),
            ("PATCH", r"/issues/(\d+)", "edit", self.patch_issue),
            ("GET", r"/issues/(\d+)", "issue", self.get_issue),
            ("GET", r"/issues/(\d+)/comments", "comments", self.list_comments),
            ("POST", r"/issues/(\d+)/comments", "comment", self.post_comment),
        ]
        for method, path, name, answer in routes:
            pattern = re.compile(re.escape(API) + path + r"(\?.*)?$")
            http.add_callback(method, pattern, self._guard(name, answer, pattern))

    def _guard(self, name: str, answer: Any, pattern: re.Pattern[str]) -> Any:
        def reply(request: requests.PreparedRequest) -> Reply:
            if name in self.refuse:
                return self._json(403, shape("error_403"))
            if request.method != "GET":
                self.writes.append(f"{request.method} {name}")
            found = pattern.match(str(request.url))
            assert found is not None
            query = {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}
            result: Reply = answer(request, found.groups()[:-1], query)
            return result

        return reply

    @staticmethod
    def _json(status: int, data: Any) -> Reply:
        return status, {"Content-Type": "application/json"}, json.dumps(data)

    def list_runs(self, _request: Any, groups: tuple[str, ...], query: dict[str, str]) -> Reply:
        assert query.get("branch") == "main"
        listed = self.runs.get(groups[0], [])
        return self._json(200, {"total_count": len(listed), "workflow_runs": listed})

    def list_deployments(self, _r: Any, _g: tuple[str, ...], query: dict[str, str]) -> Reply:
        assert (query["environment"], query["task"]) == ("production", "lapse-apply")
        return self._json(200, self.deployments)

    def list_statuses(self, _r: Any, _g: tuple[str, ...], _q: dict[str, str]) -> Reply:
        return self._json(200, [shape("deployment_status")])

    def get_run(self, _r: Any, groups: tuple[str, ...], _q: dict[str, str]) -> Reply:
        every = [r for runs in self.runs.values() for r in runs]
        found = [r for r in every if str(r["id"]) == groups[0]]
        return self._json(200, found[0]) if found else self._json(404, shape("error_404"))

    def list_pulls(self, _r: Any, _g: tuple[str, ...], query: dict[str, str]) -> Reply:
        assert query["state"] == "open"
        return self._json(200, self.pulls if query.get("page", "1") == "1" else [])

    def list_issues(self, _r: Any, _g: tuple[str, ...], query: dict[str, str]) -> Reply:
        label = query.get("labels", "")
        found = [
            issue
            for issue in self.issues
            if issue["state"] == query.get("state", "open")
            and label in {each["name"] for each in issue["labels"]}
        ]
        return self._json(200, found if query.get("page", "1") == "1" else [])

    def add_issue(
        self,
        title: str,
        body: str,
        labels: list[str],
        by: str = LAPSE,
        created: str = "2026-12-07T09:00:00Z",
    ) -> dict[str, Any]:
        number = 100 + len(self.issues)
        issue = shape(
            "issue",
            number=number,
            id=2711094318 + number,
            title=title,
            body=body,
            state="open",
            user=user(by),
            labels=[{**shape("label"), "name": name} for name in labels],
            created_at=created,
            url=f"https://api.github.com/repos/{OWNER_NAME}/issues/{number}",
            html_url=f"https://github.com/{OWNER_NAME}/issues/{number}",
        )
        self.issues.append(issue)
        return issue

    def post_issue(self, request: Any, _g: tuple[str, ...], _q: dict[str, str]) -> Reply:
        body = json.loads(request.body)
        return self._json(201, self.add_issue(body["title"], body["body"], body["labels"]))

    def _issue(self, number: str) -> dict[str, Any]:
        return next(issue for issue in self.issues if str(issue["number"]) == number)

    def get_issue(self, _r: Any, groups: tuple[str, ...], _q: dict[str, str]) -> Reply:
        return self._json(200, self._issue(groups[0]))

    def patch_issue(self, request: Any, groups: tuple[str, ...], _q: dict[str, str]) -> Reply:
        issue = self._issue(groups[0])
        issue.update(json.loads(request.body))
        return self._json(200, issue)

    def list_comments(self, _r: Any, groups: tuple[str, ...], query: dict[str, str]) -> Reply:
        listed = self.comments.get(int(groups[0]), [])
        return self._json(200, listed if query.get("page", "1") == "1" else [])

    def post_comment(self, request: Any, groups: tuple[str, ...], _q: dict[str, str]) -> Reply:
        number = int(groups[0])
        made = shape(
            "issue_comment",
            body=json.loads(request.body)["body"],
            user=user(LAPSE),
            issue_url=f"https://api.github.com/repos/{OWNER_NAME}/issues/{number}",
        )
        self.comments.setdefault(number, []).append(made)
        return self._json(201, made)

    def opened(self, label: str = "lapse-control-failure") -> list[dict[str, Any]]:
        return [i for i in self.issues if label in {each["name"] for each in i["labels"]}]
