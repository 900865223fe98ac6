"""A small stateful fake of GitHub's REST API behind `responses`, in GitHub's own JSON shapes.

It keeps refs, commits, pull requests and comments, so that a re-run after a failure at any
step can be watched converging.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import responses

from tests.support import answers_may_go_unused

DATA = Path(__file__).resolve().parent / "data" / "github"
API = "https://api.github.com:443"  # PyGithub always names the port
REPO = f"{API}/repos/example-org/access"
BASE = "9a4c2e7d51b0f3c8e6d2a1b7f4e3c9d8a7b6c5d4"
BASE_TREE = "691272480426f78a0138979dd3ce63b77f706feb"

Reply = tuple[int, dict[str, str], str]  # what a `responses` callback returns


def shape(fixture: str, /, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{fixture}.json").read_text())
    data.update(changes)
    return data


def git_ref(name: str, sha: str) -> dict[str, Any]:
    return shape(
        "git_ref",
        ref=name,
        url=f"https://api.github.com/repos/example-org/access/git/{name}",
        object={"type": "commit", "sha": sha, "url": f"{REPO}/git/commits/{sha}"},
    )


def commit(sha: str, tree: str) -> dict[str, Any]:
    return shape("git_commit", sha=sha, tree={"sha": tree, "url": f"{REPO}/git/trees/{tree}"})


def open_pull(number: int, title: str, body: str) -> dict[str, Any]:
    return shape(
        "pull",
        number=number,
        state="open",
        title=title,
        body=body,
        merged_at=None,
        merge_commit_sha=None,
        url=f"https://api.github.com/repos/example-org/access/pulls/{number}",
        html_url=f"https://github.com/example-org/access/pull/{number}",
        issue_url=f"https://api.github.com/repos/example-org/access/issues/{number}",
        labels=[],
    )


class FakeGitHub:
    """Just enough of GitHub's git data, pulls and issue comments API, with state.

    `failures[route]` makes that route answer 500 that many times, to stop a run at any step;
    `lost_ref_responses` creates a branch and then drops the connection before answering.
    """

    def __init__(self, http: responses.RequestsMock) -> None:
        self.http = http
        answers_may_go_unused(http, "a stateful fake of every route; tests assert which ran")
        self.refs = {"refs/heads/main": BASE}
        self.trees = {BASE: BASE_TREE}  # commit -> tree
        self.pulls: list[dict[str, Any]] = []
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.commits_made = 0
        self.failures: dict[str, int] = {}
        self.lost_ref_responses = 0  # refs created whose response never arrives
        self.tree_bodies: list[Any] = []
        self.commit_bodies: list[Any] = []
        self.blob_contents: list[bytes] = []
        self.label_bodies: list[Any] = []
        escaped = re.escape(REPO)
        routes: list[tuple[str, str | re.Pattern[str], str, Callable[[Any], Reply]]] = [
            ("GET", re.compile(rf"{escaped}/git/ref/.+"), "get_ref", self.get_ref),
            ("GET", re.compile(rf"{escaped}/git/commits/\w+"), "get_commit", self.get_commit),
            ("POST", f"{REPO}/git/blobs", "post_blob", self.post_blob),
            ("POST", f"{REPO}/git/trees", "post_tree", self.post_tree),
            ("POST", f"{REPO}/git/commits", "post_commit", self.post_commit),
            ("POST", f"{REPO}/git/refs", "post_ref", self.post_ref),
            ("PATCH", re.compile(rf"{escaped}/git/refs/.+"), "patch_ref", self.patch_ref),
            ("GET", f"{REPO}/pulls", "list_pulls", self.list_pulls),
            ("POST", f"{REPO}/pulls", "post_pull", self.post_pull),
            ("PATCH", re.compile(rf"{escaped}/pulls/\d+"), "patch_pull", self.patch_pull),
            ("POST", re.compile(rf"{escaped}/issues/\d+/labels"), "labels", self.post_labels),
            (
                "GET",
                re.compile(rf"{escaped}/issues/\d+/comments(\?.*)?"),
                "list_comments",
                self.list_comments,
            ),
            (
                "POST",
                re.compile(rf"{escaped}/issues/\d+/comments"),
                "post_comment",
                self.post_comment,
            ),
        ]
        for method, url, name, callback in routes:
            http.add_callback(method, url, callback=self.failing(name, callback))

    def failing(self, name: str, callback: Callable[[Any], Reply]) -> Callable[[Any], Reply]:
        def answer(request: Any) -> Reply:
            if self.failures.get(name, 0) > 0:
                self.failures[name] -= 1
                return self.reply(500, shape("error_5xx"))
            return callback(request)

        return answer

    @staticmethod
    def reply(status: int, data: Any) -> Reply:
        return status, {"Content-Type": "application/json"}, json.dumps(data)

    @staticmethod
    def sha_of(data: Any) -> str:
        return hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()

    @staticmethod
    def number(request: Any, after: str) -> int:
        return int(request.path_url.split(after, 1)[1].split("/")[0].split("?")[0])

    def get_ref(self, request: Any) -> Reply:
        name = "refs/" + request.path_url.split("/git/ref/", 1)[1]
        if name not in self.refs:
            return self.reply(404, shape("error_404"))
        return self.reply(200, git_ref(name, self.refs[name]))

    def get_commit(self, request: Any) -> Reply:
        sha = request.path_url.rsplit("/", 1)[1]
        return self.reply(200, commit(sha, self.trees[sha]))

    def post_blob(self, request: Any) -> Reply:
        data = json.loads(request.body)
        self.blob_contents.append(base64.b64decode(data["content"]))
        return self.reply(201, shape("git_blob", sha=self.sha_of(data)))

    def post_tree(self, request: Any) -> Reply:
        # Git trees are content-addressed: the same entries on the same base give the same sha.
        data = json.loads(request.body)
        self.tree_bodies.append(data)
        return self.reply(201, shape("git_tree", sha=self.sha_of(data)))

    def post_commit(self, request: Any) -> Reply:
        self.commits_made += 1
        data = json.loads(request.body)
        self.commit_bodies.append(data)
        sha = self.sha_of([data, self.commits_made])  # commits carry a timestamp: always new
        self.trees[sha] = data["tree"]
        return self.reply(201, commit(sha, data["tree"]))

    def post_ref(self, request: Any) -> Reply:
        data = json.loads(request.body)
        if data["ref"] in self.refs:
            return self.reply(422, {"message": "Reference already exists"})
        self.refs[data["ref"]] = data["sha"]
        if self.lost_ref_responses:
            self.lost_ref_responses -= 1
            raise requests.ConnectionError("connection reset after the ref was created")
        return self.reply(201, git_ref(data["ref"], data["sha"]))

    def patch_ref(self, request: Any) -> Reply:
        name = "refs/" + request.path_url.split("/git/refs/", 1)[1]
        self.refs[name] = json.loads(request.body)["sha"]
        return self.reply(200, git_ref(name, self.refs[name]))

    def list_pulls(self, request: Any) -> Reply:
        # As GitHub filters: `state` (default open), `head` as owner:branch, `base` as a branch.
        query = parse_qs(urlsplit(request.url).query)
        state = query.get("state", ["open"])[0]
        head = query.get("head", [None])[0]
        base = query.get("base", [None])[0]
        found = [
            p
            for p in self.pulls
            if state in ("all", p["state"])
            and head in (None, p["head"]["label"])
            and base in (None, p["base"]["ref"])
        ]
        return self.reply(200, found)

    def post_pull(self, request: Any) -> Reply:
        data = json.loads(request.body)
        created = open_pull(43 + len(self.pulls), data["title"], data["body"])
        created["head"] = {
            **created["head"],
            "ref": data["head"],
            "label": f"example-org:{data['head']}",
        }
        created["base"] = {
            **created["base"],
            "ref": data["base"],
            "label": f"example-org:{data['base']}",
        }
        self.pulls.append(created)
        return self.reply(201, created)

    def add_pull(self, number: int, head: str, base: str = "main", state: str = "open") -> None:
        """A pull request someone else opened, from `head` (a branch of example-org) to `base`."""
        pull = open_pull(number, f"Unrelated pull request #{number}", "")
        pull["state"] = state
        pull["head"] = {**pull["head"], "ref": head, "label": f"example-org:{head}"}
        pull["base"] = {**pull["base"], "ref": base, "label": f"example-org:{base}"}
        self.pulls.append(pull)

    def patch_pull(self, request: Any) -> Reply:
        found = next(p for p in self.pulls if p["number"] == self.number(request, "/pulls/"))
        found.update(json.loads(request.body))
        return self.reply(200, found)

    def post_labels(self, request: Any) -> Reply:
        body = json.loads(request.body)
        self.label_bodies.append(body)
        names = body["labels"]
        found = next(p for p in self.pulls if p["number"] == self.number(request, "/issues/"))
        found["labels"] += [shape("label", name=name) for name in names]
        return self.reply(200, found["labels"])

    def list_comments(self, request: Any) -> Reply:
        return self.reply(200, self.comments.get(self.number(request, "/issues/"), []))

    def post_comment(self, request: Any) -> Reply:
        listing = self.comments.setdefault(self.number(request, "/issues/"), [])
        body = json.loads(request.body)["body"]
        created = shape("issue_comment", id=1000 + len(listing), body=body)
        listing.append(created)
        return self.reply(201, created)

    @property
    def branches(self) -> list[str]:
        return sorted(self.refs)

    def tree_at(self, branch: str) -> str:
        return self.trees[self.refs[f"refs/heads/{branch}"]]
