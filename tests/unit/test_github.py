"""The GitHub adapter's writes: one commit per change set, one pull request, one issue, one comment.

Calls go through the real PyGithub client to `responses` mocks shaped like GitHub's REST API.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from generator.core.errors import ConfigError, ServiceError
from generator.github.client import GitHubClient
from generator.github.records import hidden_marker
from tests.github_fake import FakeGitHub

Reply = tuple[int, dict[str, str], str]  # what a `responses` callback returns
DATA = Path(__file__).parents[1] / "data" / "github"
API = "https://api.github.com:443"  # PyGithub always names the port
REPO = f"{API}/repos/example-org/access"
BASE = "9a4c2e7d51b0f3c8e6d2a1b7f4e3c9d8a7b6c5d4"
BASE_TREE = "691272480426f78a0138979dd3ce63b77f706feb"
NEW_TREE = "cd8274d15fa3ae2ab983129fb037999f264ba9a7"
BLOB = "3a0f86fb8db8eea7ccbb9a95f325ddbedfb25e15"
NEW_COMMIT = "7638417db6d59f3c431d3e1f261cc637155684cd"
BRANCH = "lapse/expire"
ACTIVE = "requests/pci-prod/inc-4512-settlement-batch.yaml"
ARCHIVED = "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml"
REQUEST = b"requester: alice@example.com\nticket: INC-4512\n"
CHANGES: dict[str, bytes | None] = {ACTIVE: None, ARCHIVED: REQUEST}


def shape(fixture: str, /, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{fixture}.json").read_text())
    data.update(changes)
    return data


def ref(branch: str, sha: str) -> dict[str, Any]:
    return shape(
        "git_ref",
        ref=f"refs/heads/{branch}",
        url=f"https://api.github.com/repos/example-org/access/git/refs/heads/{branch}",
        object={"type": "commit", "sha": sha, "url": f"{REPO}/git/commits/{sha}"},
    )


def commit(sha: str, tree: str) -> dict[str, Any]:
    return shape("git_commit", sha=sha, tree={"sha": tree, "url": f"{REPO}/git/trees/{tree}"})


def pull(number: int, title: str, body: str, labels: list[str]) -> dict[str, Any]:
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
        labels=[shape("label", name=name) for name in labels],
    )


def issue(
    number: int, body: str, *, is_pull: bool = False, author: str = "lapse-bot[bot]"
) -> dict[str, Any]:
    kind = "pull" if is_pull else "issues"
    return shape(
        "issue",
        number=number,
        body=body,
        user={**shape("issue")["user"], "login": author},
        url=f"https://api.github.com/repos/example-org/access/issues/{number}",
        html_url=f"https://github.com/example-org/access/{kind}/{number}",
    )


def comment(comment_id: int, body: str) -> dict[str, Any]:
    return shape(
        "issue_comment",
        id=comment_id,
        body=body,
        url=f"https://api.github.com/repos/example-org/access/issues/comments/{comment_id}",
    )


def bodies(http: responses.RequestsMock, method: str, url: str) -> list[Any]:
    return [
        json.loads(call.request.body or "null")
        for call in http.calls
        if call.request.method == method and (call.request.url or "").split("?")[0] == url
    ]


def serve_base(http: responses.RequestsMock) -> None:
    http.add(responses.GET, f"{REPO}/git/ref/heads/main", json=ref("main", BASE))
    http.add(responses.GET, f"{REPO}/git/commits/{BASE}", json=commit(BASE, BASE_TREE))
    http.add(responses.POST, f"{REPO}/git/blobs", json=shape("git_blob"), status=201)
    http.add(responses.POST, f"{REPO}/git/trees", json=shape("git_tree"), status=201)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> GitHubClient:
    return GitHubClient(
        "example-org/access", "test-token", sleep=sleeps.append, login="lapse-bot[bot]"
    )


def test_repository_must_be_owner_and_name() -> None:
    with pytest.raises(ConfigError, match="OWNER/NAME"):
        GitHubClient("access", "test-token")


def test_commit_changes_deletes_and_adds_in_one_commit(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve_base(http)
    http.add(responses.GET, f"{REPO}/git/ref/heads/{BRANCH}", json=shape("error_404"), status=404)
    http.add(responses.POST, f"{REPO}/git/commits", json=commit(NEW_COMMIT, NEW_TREE), status=201)
    http.add(responses.POST, f"{REPO}/git/refs", json=ref(BRANCH, NEW_COMMIT), status=201)

    sha = client.commit_changes(BRANCH, "main", CHANGES, "Archive expired requests")

    assert sha == NEW_COMMIT
    assert bodies(http, "POST", f"{REPO}/git/blobs") == [
        {"content": base64.b64encode(REQUEST).decode(), "encoding": "base64"}
    ]
    assert bodies(http, "POST", f"{REPO}/git/trees") == [
        {
            "base_tree": BASE_TREE,
            "tree": [
                {"path": ARCHIVED, "mode": "100644", "type": "blob", "sha": BLOB},
                {"path": ACTIVE, "mode": "100644", "type": "blob", "sha": None},
            ],
        }
    ]
    assert bodies(http, "POST", f"{REPO}/git/commits") == [
        {"message": "Archive expired requests", "tree": NEW_TREE, "parents": [BASE]}
    ]
    assert bodies(http, "POST", f"{REPO}/git/refs") == [
        {"ref": f"refs/heads/{BRANCH}", "sha": NEW_COMMIT}
    ]


def test_commit_changes_is_a_no_op_when_the_branch_already_matches(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve_base(http)
    previous = "5c1e9b0f7a3d2e4c6b8a0f1e3d5c7b9a2e4f6a8c"
    http.add(responses.GET, f"{REPO}/git/ref/heads/{BRANCH}", json=ref(BRANCH, previous))
    http.add(responses.GET, f"{REPO}/git/commits/{previous}", json=commit(previous, NEW_TREE))

    sha = client.commit_changes(BRANCH, "main", CHANGES, "Archive expired requests")

    assert sha == previous
    # Blobs and trees are content-addressed and invisible until a commit uses them.
    writes = [(c.request.method, c.request.url) for c in http.calls if c.request.method != "GET"]
    assert writes == [("POST", f"{REPO}/git/blobs"), ("POST", f"{REPO}/git/trees")]


def test_commit_changes_moves_a_stale_branch(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve_base(http)
    stale, stale_tree = "5c1e9b0f7a3d2e4c6b8a0f1e3d5c7b9a2e4f6a8c", "2f4e6a8c0b1d3f5e7a9c"
    http.add(responses.GET, f"{REPO}/git/ref/heads/{BRANCH}", json=ref(BRANCH, stale))
    http.add(responses.GET, f"{REPO}/git/commits/{stale}", json=commit(stale, stale_tree))
    http.add(responses.POST, f"{REPO}/git/commits", json=commit(NEW_COMMIT, NEW_TREE), status=201)
    http.add(responses.PATCH, f"{REPO}/git/refs/heads/{BRANCH}", json=ref(BRANCH, NEW_COMMIT))

    assert client.commit_changes(BRANCH, "main", CHANGES, "Archive") == NEW_COMMIT
    assert bodies(http, "PATCH", f"{REPO}/git/refs/heads/{BRANCH}") == [
        {"sha": NEW_COMMIT, "force": True}
    ]


def test_ensure_pull_request_opens_once_then_updates(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    listing = f"{REPO}/pulls"
    query = matchers.query_param_matcher(
        {"state": "open", "head": f"example-org:{BRANCH}", "base": "main", "per_page": "100"}
    )
    opened = pull(43, "Archive expired requests", "first body", [])
    http.add(responses.GET, listing, json=[], match=[query])
    http.add(responses.POST, listing, json=opened, status=201)
    http.add(responses.POST, f"{REPO}/issues/43/labels", json=[shape("label")])

    first = client.ensure_pull_request(
        BRANCH, "main", "Archive expired requests", "first body", ["lapse"]
    )

    labelled = {**opened, "labels": [shape("label")]}
    http.replace(responses.GET, listing, json=[labelled], match=[query])
    http.add(responses.PATCH, f"{REPO}/pulls/43", json={**labelled, "body": "second body"})
    second = client.ensure_pull_request(
        BRANCH, "main", "Archive expired requests", "second body", ["lapse"]
    )

    assert first.number == second.number == 43
    assert bodies(http, "POST", listing) == [
        {"base": "main", "head": BRANCH, "title": "Archive expired requests", "body": "first body"}
    ]
    assert bodies(http, "PATCH", f"{REPO}/pulls/43") == [
        {"title": "Archive expired requests", "body": "second body"}
    ]
    assert bodies(http, "POST", f"{REPO}/issues/43/labels") == [{"labels": ["lapse"]}]


def test_ensure_issue_finds_its_marker_on_a_later_page(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    marker = hidden_marker("review/pci-prod/inc-4512")
    page_two = "https://api.github.com/repositories/731205566/issues?state=all&labels=lapse&per_page=100&page=2"
    http.add(
        responses.GET,
        f"{REPO}/issues",
        json=[issue(61, "Unrelated."), issue(60, f"Quoting it: {marker}", is_pull=True)],
        headers={"Link": f'<{page_two}>; rel="next", <{page_two}>; rel="last"'},
        match=[
            matchers.query_param_matcher({"state": "all", "labels": "lapse", "per_page": "100"})
        ],
    )
    http.add(
        responses.GET,
        f"{API}/repositories/731205566/issues",
        json=[issue(57, f"Deviation found.\n\n{marker}")],
        match=[
            matchers.query_param_matcher(
                {"state": "all", "labels": "lapse", "per_page": "100", "page": "2"}
            )
        ],
    )

    number = client.ensure_issue("review/pci-prod/inc-4512", "Deviation", "Again.", ["lapse"])

    assert number == 57
    assert bodies(http, "POST", f"{REPO}/issues") == []


def test_ensure_issue_opens_one_with_its_marker(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    http.add(responses.GET, f"{REPO}/issues", json=[])
    http.add(responses.POST, f"{REPO}/issues", json=issue(58, "x"), status=201)

    assert client.ensure_issue("drift/pci-prod", "Drift", "Bindings differ.", ["lapse"]) == 58
    assert bodies(http, "POST", f"{REPO}/issues") == [
        {
            "title": "Drift",
            "body": f"Bindings differ.\n\n{hidden_marker('drift/pci-prod')}",
            "labels": ["lapse"],
        }
    ]


def test_many_issues_ensured_in_one_run_list_the_labelled_issues_once(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    # `lapse emergency check` and the review ensure one issue per grant: listing every
    # labelled issue for each would grow with the square of the history.
    filed = [
        issue(50 + n, f"Emergency {n}.\n\n{hidden_marker(f'emergency/{n}')}") for n in range(5)
    ]
    http.add(responses.GET, f"{REPO}/issues", json=[issue(49, "Unrelated."), *filed])
    http.add(responses.POST, f"{REPO}/issues", json=issue(60, "x"), status=201)

    numbers = [client.ensure_issue(f"emergency/{n}", "E", "Body.", ["lapse"]) for n in range(6)]
    again = client.ensure_issue("emergency/5", "E", "Body.", ["lapse"])

    assert numbers == [50, 51, 52, 53, 54, 60] and again == 60
    listings = [
        c for c in http.calls if c.request.method == "GET" and "/issues" in str(c.request.url)
    ]
    assert len(listings) == 1
    assert len(bodies(http, "POST", f"{REPO}/issues")) == 1


def test_an_issue_opened_by_a_create_that_failed_is_found_by_the_retry(
    http: responses.RequestsMock, client: GitHubClient, sleeps: list[float]
) -> None:
    marker = hidden_marker("review/pci-prod/inc-4512")
    http.add(responses.GET, f"{REPO}/issues", json=[])
    # GitHub opened it, but the answer was lost: the retry lists again rather than trusting
    # what it listed before, and opens no second issue.
    http.add(responses.POST, f"{REPO}/issues", json=shape("error_5xx"), status=502)
    http.add(responses.GET, f"{REPO}/issues", json=[issue(58, f"Deviation.\n\n{marker}")])

    number = client.ensure_issue("review/pci-prod/inc-4512", "Deviation", "Found.", ["lapse"])

    assert number == 58
    assert len(bodies(http, "POST", f"{REPO}/issues")) == 1
    assert sleeps


def test_upsert_comment_creates_then_edits_in_place(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    comments = f"{REPO}/issues/43/comments"
    marker = hidden_marker("plan")
    http.add(responses.GET, comments, json=[comment(1, "Looks good to me.")])
    http.add(responses.POST, comments, json=comment(2, f"plan v1\n\n{marker}"), status=201)
    client.upsert_comment(43, "plan", "plan v1")

    http.replace(
        responses.GET,
        comments,
        json=[comment(1, "Looks good to me."), comment(2, f"plan v1\n\n{marker}")],
    )
    http.add(responses.PATCH, f"{REPO}/issues/comments/2", json=comment(2, "plan v2"))
    client.upsert_comment(43, "plan", "plan v2")

    assert bodies(http, "POST", comments) == [{"body": f"plan v1\n\n{marker}"}]
    assert bodies(http, "PATCH", f"{REPO}/issues/comments/2") == [{"body": f"plan v2\n\n{marker}"}]


def test_comment_once_does_not_repeat(http: responses.RequestsMock, client: GitHubClient) -> None:
    comments = f"{REPO}/issues/43/comments"
    marker = hidden_marker("welcome")
    http.add(responses.GET, comments, json=[])
    http.add(responses.POST, comments, json=comment(3, f"hi\n\n{marker}"), status=201)
    assert client.comment_once(43, "welcome", "hi") is True

    http.replace(responses.GET, comments, json=[comment(3, f"hi\n\n{marker}")])
    assert client.comment_once(43, "welcome", "hi") is False
    assert len(bodies(http, "POST", comments)) == 1


def expire(client: GitHubClient) -> int:
    client.commit_changes(BRANCH, "main", CHANGES, "Archive expired requests")
    return client.ensure_pull_request(BRANCH, "main", "Archive expired requests", "body", []).number


def test_rerun_after_failure_converges_to_one_branch_and_one_pull(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    github = FakeGitHub(http)
    github.failures["post_pull"] = 5  # every attempt of the first run fails after the branch exists

    with pytest.raises(ServiceError, match="ensuring one pull request"):
        expire(client)
    assert f"refs/heads/{BRANCH}" in github.refs and github.pulls == []

    assert expire(client) == 43
    assert expire(client) == 43
    assert github.commits_made == 1
    assert len(github.pulls) == 1
    assert sorted(github.refs) == ["refs/heads/lapse/expire", "refs/heads/main"]


def test_branch_created_despite_a_lost_response_is_not_created_twice(
    http: responses.RequestsMock, client: GitHubClient, sleeps: list[float]
) -> None:
    github = FakeGitHub(http)
    github.lost_ref_responses = 1

    sha = client.commit_changes(BRANCH, "main", CHANGES, "Archive expired requests")

    assert github.refs[f"refs/heads/{BRANCH}"] == sha
    assert sleeps == [1.0]


def test_an_issue_someone_else_filed_with_the_marker_does_not_silence_an_incident(
    http: responses.RequestsMock, sleeps: list[float]
) -> None:
    marker = hidden_marker("review-inc-4512")
    spoof = issue(57, f"Nothing to see.\n\n{marker}", author="mallory")
    http.add(responses.GET, f"{API}/user", json=shape("authenticated_user"))
    http.add(responses.GET, f"{REPO}/issues", json=[spoof])
    http.add(responses.POST, f"{REPO}/issues", json=issue(58, "x"), status=201)
    unnamed = GitHubClient("example-org/access", "test-token", sleep=sleeps.append)

    assert unnamed.ensure_issue("review-inc-4512", "Deviation", "Found.", ["lapse"]) == 58
    assert len(bodies(http, "POST", f"{REPO}/issues")) == 1
    # Its own identity was read from GET /user, once.
    assert [c.request.url for c in http.calls].count(f"{API}/user") == 1


def test_an_identity_that_cannot_be_told_is_a_configuration_error(
    http: responses.RequestsMock, sleeps: list[float]
) -> None:
    http.add(responses.GET, f"{API}/user", json=shape("error_403"), status=403)
    unnamed = GitHubClient("example-org/access", "test-token", sleep=sleeps.append)
    with pytest.raises(ConfigError, match="LAPSE_GITHUB_LOGIN"):
        unnamed.ensure_issue("review-inc-4512", "Deviation", "Found.", ["lapse"])


def test_reports_accumulate_on_the_branch_while_its_pull_request_is_open(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    github = FakeGitHub(http)
    first = {"reports/pci-prod/2026-12/inc-4512.md": b"first"}
    second = {"reports/pci-prod/2026-12/inc-4530.md": b"second"}

    one = client.commit_changes("lapse/review", "main", first, "Review 1", accumulate=True)
    client.ensure_pull_request("lapse/review", "main", "Post-access review", "body", [])
    two = client.commit_changes("lapse/review", "main", second, "Review 2", accumulate=True)

    # The second commit builds on the first (its tree and its parent), not on main.
    assert github.tree_bodies[1]["base_tree"] == github.trees[one]
    assert github.commit_bodies[1]["parents"] == [one]
    assert github.refs["refs/heads/lapse/review"] == two

    github.pulls[0]["state"] = "closed"  # merged: the next run starts again from main
    client.commit_changes("lapse/review", "main", second, "Review 3", accumulate=True)
    assert github.tree_bodies[2]["base_tree"] == BASE_TREE
    assert github.commit_bodies[2]["parents"] == [BASE]
