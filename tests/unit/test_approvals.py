"""Approval verification against GitHub's REST API, mocked at the HTTP layer.

Every test drives the real PyGithub calls through `GitHubClient`; response bodies come from
tests/data/github, shaped like GitHub's.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
import yaml
from responses import matchers

from generator.core.errors import ServiceError
from generator.core.model import Policy, Target
from generator.github.approvals import NO_PULL, ApprovalResult, _first_line, verify_approvals
from generator.github.client import GitHubClient
from tests.support import answers_may_go_unused

DATA = Path(__file__).parents[1] / "data" / "github"
API = "https://api.github.com:443"  # PyGithub always names the port
REPO = f"{API}/repos/example-org/access"
TEAM_MEMBERS = f"{API}/orgs/example-org/teams/pci-access-approvers/members"
MERGE = "e5bd3914e2e596debea16f433f57875b5b90bcd6"
HEAD = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
EARLIER = "0b1f9e3d7c5a2e8f4b6d0c9a1e3f5b7d9c2a4e6f"
PCI_REQUEST = "requests/pci-prod/inc-4512-settlement-batch.yaml"
STAGING_REQUEST = "requests/staging/chg-1207-folder-review.yaml"
PEOPLE = {
    "alice-ng": "alice@example.com",
    "bob-okafor": "bob@example.com",
    "carol-diaz": "carol@example.com",
    "dave-li": "dave@example.com",
    "erin-walsh": "erin@example.com",
    "frank-mueller": "frank@example.com",
    "grace-hopkins": "grace@example.com",
}


def shape(fixture: str, /, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{fixture}.json").read_text())
    data.update(changes)
    return data


def user(login: str) -> dict[str, Any]:
    return shape(
        "user",
        login=login,
        url=f"https://api.github.com/users/{login}",
        html_url=f"https://github.com/{login}",
    )


def pull(author: str = "alice-ng", **changes: Any) -> dict[str, Any]:
    return shape("pull", user=user(author), **changes)


def changed(filename: str, status: str = "added", previous: str | None = None) -> dict[str, Any]:
    item = shape("pull_file", filename=filename, status=status)
    if previous is not None:
        item["previous_filename"] = previous
    return item


def review(
    login: str,
    state: str = "APPROVED",
    commit: str | None = HEAD,
    review_id: int = 2406019913,
    submitted: str = "2026-11-30T08:40:02Z",
) -> dict[str, Any]:
    return shape(
        "review",
        id=review_id,
        user=user(login),
        state=state,
        commit_id=commit,
        submitted_at=submitted,
    )


def request_yaml(requester: str = "alice@example.com") -> str:
    return (
        f"requester: {requester}\n"
        "reason: Investigate failed settlement batch for merchant 4411\n"
        "ticket: INC-4512\n"
        "expires: 2026-11-30T13:00:00Z\n"
        "grants:\n"
        "  - role: roles/cloudsql.client\n"
        "    project: pci-prod-payments\n"
    )


def content(path: str, text: str) -> dict[str, Any]:
    encoded = base64.b64encode(text.encode()).decode()
    return shape("content_file", path=path, name=path.rsplit("/", 1)[1], content=encoded)


def target(name: str, *approvers: str) -> Target:
    return Target(
        name=name,
        approvers=approvers,
        max_duration=timedelta(hours=4),
        max_lead_time=timedelta(days=7),
        ticket_pattern="^INC-[0-9]{4,6}$",
        domains=("example.com",),
        roles=("roles/cloudsql.client",),
        resources={"project": ("pci-prod-payments",)},
        bucket_projects={},
        audit_services=(),
        persistence_exceptions={},
    )


def make_policy(**extra_people: str) -> Policy:
    return Policy(
        people={**PEOPLE, **extra_people},
        targets={
            "pci-prod": target("pci-prod", "@example-org/pci-access-approvers"),
            "staging": target("staging", "@example-org/platform-leads", "@erin-walsh"),
        },
        security_owners=("@example-org/security",),
    )


def serve(
    http: responses.RequestsMock,
    *,
    reviews: list[dict[str, Any]],
    files: list[dict[str, Any]] | None = None,
    author: str = "alice-ng",
    texts: dict[str, str] | None = None,
    members: tuple[str, ...] = ("carol-diaz", "dave-li"),
) -> None:
    """Answer the calls one verification may make for pull request #42, merged as MERGE.

    Which of them a verification skips (reviews, contents, team members) is asserted with
    `called` where it matters.
    """
    answers_may_go_unused(http, "every call a verification may make for pull request #42")
    http.add(responses.GET, f"{REPO}/commits/{MERGE}/pulls", json=[pull(author)])
    http.add(responses.GET, f"{REPO}/pulls/42/files", json=files or [changed(PCI_REQUEST)])
    http.add(responses.GET, f"{REPO}/pulls/42/reviews", json=reviews)
    for path, text in (texts or {PCI_REQUEST: request_yaml()}).items():
        http.add(
            responses.GET,
            f"{REPO}/contents/{path}",
            json=content(path, text),
            match=[matchers.query_param_matcher({"ref": MERGE})],
        )
    http.add(responses.GET, TEAM_MEMBERS, json=[user(login) for login in members])


def called(http: responses.RequestsMock, url: str) -> int:
    return sum((call.request.url or "").split("?")[0] == url for call in http.calls)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> GitHubClient:
    return GitHubClient("example-org/access", "test-token", sleep=sleeps.append)


def test_approved_by_a_direct_approver(http: responses.RequestsMock, client: GitHubClient) -> None:
    serve(
        http,
        files=[changed(STAGING_REQUEST)],
        texts={STAGING_REQUEST: request_yaml()},
        reviews=[review("erin-walsh")],
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok, result.failures
    (verdict,) = result.requests
    assert (verdict.path, verdict.requester, verdict.author) == (
        STAGING_REQUEST,
        "alice@example.com",
        "alice-ng",
    )
    assert (verdict.approvers, verdict.review_ids) == (("erin-walsh",), (2406019913,))
    assert called(http, TEAM_MEMBERS) == 0  # a direct handle needs no team lookup


def test_evidence_names_pull_approvers_and_times(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, reviews=[review("carol-diaz")])

    result = verify_approvals(client, make_policy(), MERGE)

    evidence = json.loads(result.to_json())
    assert evidence["pull_request"] == {
        "number": 42,
        "url": "https://github.com/example-org/access/pull/42",
        "author": "alice-ng",
        "base": "main",
        "head_sha": HEAD,
        "merge_commit_sha": MERGE,
        "merged_at": "2026-11-30T08:47:39Z",
    }
    assert evidence["requests"][0]["approvals"] == [
        {"approver": "carol-diaz", "review_id": 2406019913, "submitted_at": "2026-11-30T08:40:02Z"}
    ]
    assert (evidence["commit"], evidence["ok"], evidence["problems"]) == (MERGE, True, [])
    assert evidence["requests"][0]["path"] == PCI_REQUEST
    assert evidence["requests"][0]["requester"] == "alice@example.com"
    assert (evidence["requests"][0]["ok"], evidence["requests"][0]["reasons"]) == (True, [])
    # Stable bytes: keys sorted at every level, so two runs on one merge write one file.
    assert result.to_json() == json.dumps(evidence, indent=2, sort_keys=True, ensure_ascii=False)
    assert list(evidence) == sorted(evidence)


def test_team_approver_is_resolved_through_the_api_once(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    second = "requests/pci-prod/inc-4533-chargeback-query.yaml"
    serve(
        http,
        files=[changed(PCI_REQUEST), changed(second)],
        texts={PCI_REQUEST: request_yaml(), second: request_yaml()},
        reviews=[review("Carol-Diaz")],  # logins are case-insensitive
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok, result.failures
    assert [r.approvers for r in result.requests] == [("Carol-Diaz",), ("Carol-Diaz",)]
    assert called(http, TEAM_MEMBERS) == 1


def test_self_approval_does_not_count(http: responses.RequestsMock, client: GitHubClient) -> None:
    serve(http, reviews=[review("alice-ng")], members=("alice-ng", "carol-diaz"))

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert "@alice-ng is the pull request author" in result.requests[0].reasons[0]
    assert result.failures[0].startswith(f"{PCI_REQUEST}: no approval of the final head")


def test_approval_by_someone_who_is_not_an_approver(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, reviews=[review("frank-mueller")])

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert "@frank-mueller is not an approver of this target" in result.requests[0].reasons[0]


def test_approval_of_an_earlier_commit_is_stale(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, reviews=[review("carol-diaz", commit=EARLIER)])

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    reason = result.requests[0].reasons[0]
    assert f"@carol-diaz approved {EARLIER[:12]}, not the final head {HEAD[:12]}" in reason


def test_dismissed_review_does_not_count(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, reviews=[review("carol-diaz", state="DISMISSED")])

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert "@carol-diaz had their review dismissed" in result.requests[0].reasons[0]


def test_later_change_request_supersedes_approval(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(
        http,
        reviews=[
            review("carol-diaz", review_id=1, submitted="2026-11-30T08:40:02Z"),
            review(
                "carol-diaz", "CHANGES_REQUESTED", review_id=2, submitted="2026-11-30T08:44:10Z"
            ),
            review("carol-diaz", "COMMENTED", review_id=3, submitted="2026-11-30T08:45:00Z"),
        ],
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert "@carol-diaz requested changes (review 2)" in result.requests[0].reasons[0]


def test_author_who_is_not_the_requester(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, author="bob-okafor", reviews=[review("carol-diaz")])

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert result.requests[0].reasons == (
        "pull request author @bob-okafor is bob@example.com in policy.people, "
        "not the requester alice@example.com: requesters open their own requests",
    )


def test_requester_approving_through_a_second_account(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, reviews=[review("alice-admin")], members=("alice-admin", "carol-diaz"))

    result = verify_approvals(client, make_policy(**{"alice-admin": "alice@example.com"}), MERGE)

    assert not result.ok
    assert "@alice-admin is the requester" in result.requests[0].reasons[0]


def test_no_pull_request_merged_the_commit(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    # An open pull request's merge_commit_sha is only GitHub's test merge: it proves nothing.
    still_open = pull(state="open", merged_at=None, merge_commit_sha=MERGE)
    http.add(responses.GET, f"{REPO}/commits/{MERGE}/pulls", json=[still_open])

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert result.failures == (NO_PULL,)
    assert json.loads(result.to_json())["pull_request"] is None


def test_archive_move_needs_no_approval(http: responses.RequestsMock, client: GitHubClient) -> None:
    archived = "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml"
    serve(http, files=[changed(archived, "renamed", previous=PCI_REQUEST)], reviews=[])

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok
    assert result.requests == ()
    assert called(http, f"{REPO}/pulls/42/reviews") == 0


def test_removed_request_needs_no_approval(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, files=[changed(PCI_REQUEST, "removed")], reviews=[])

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok
    assert result.requests == ()


def test_move_into_requests_needs_approval(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(
        http, files=[changed(PCI_REQUEST, "renamed", previous="drafts/inc-4512.yaml")], reviews=[]
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert [r.path for r in result.requests] == [PCI_REQUEST]


def test_unreadable_request_is_a_failure_not_a_crash(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, texts={PCI_REQUEST: "requester: [unclosed\n"}, reviews=[review("carol-diaz")])

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert result.requests[0].requester is None
    assert result.requests[0].reasons[0].startswith(f"the request at {MERGE} is not valid YAML")


def test_forbidden_is_permanent(
    http: responses.RequestsMock, client: GitHubClient, sleeps: list[float]
) -> None:
    serve(http, reviews=[])
    http.replace(responses.GET, f"{REPO}/pulls/42/reviews", json=shape("error_403"), status=403)

    with pytest.raises(ServiceError) as caught:
        verify_approvals(client, make_policy(), MERGE)

    message = str(caught.value)
    assert "GET /repos/example-org/access/pulls/42/reviews" in message
    assert "Resource not accessible by integration" in message
    assert "the token lacks permission" in message
    assert sleeps == []
    assert called(http, f"{REPO}/pulls/42/reviews") == 1


def test_missing_team_is_permanent(
    http: responses.RequestsMock, client: GitHubClient, sleeps: list[float]
) -> None:
    serve(http, reviews=[review("carol-diaz")])
    http.replace(responses.GET, TEAM_MEMBERS, json=shape("error_404"), status=404)

    with pytest.raises(ServiceError) as caught:
        verify_approvals(client, make_policy(), MERGE)

    assert "members of @example-org/pci-access-approvers" in str(caught.value)
    assert "not found, or not visible to this token" in str(caught.value)
    assert sleeps == []


def test_server_errors_are_retried_with_backoff(
    http: responses.RequestsMock, client: GitHubClient, sleeps: list[float]
) -> None:
    http.add(responses.GET, f"{REPO}/pulls/42/reviews", json=shape("error_5xx"), status=502)
    http.add(
        responses.GET,
        f"{REPO}/pulls/42/reviews",
        body="<html>unicorn</html>",
        status=503,
        content_type="text/html",
    )
    serve(http, reviews=[review("carol-diaz")])

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok, result.failures
    assert sleeps == [1.0, 2.0]


def test_rate_limits_are_retried(
    http: responses.RequestsMock, client: GitHubClient, sleeps: list[float]
) -> None:
    http.add(
        responses.GET,
        f"{REPO}/commits/{MERGE}/pulls",
        json={"message": "API rate limit exceeded"},
        status=429,
        # GitHub's x-ratelimit headers come with every answer; retry-after goes first.
        headers={"Retry-After": "1", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"},
    )
    http.add(
        responses.GET,
        f"{REPO}/commits/{MERGE}/pulls",
        json=shape("error_secondary_rate_limit"),
        status=403,
        headers={"x-ratelimit-remaining": "4990", "x-ratelimit-reset": "1"},
    )
    serve(http, reviews=[review("carol-diaz")])

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok, result.failures
    assert sleeps == [1.0, 60.0]  # retry-after as sent; a secondary limit without it: a minute


def test_retries_exhausted_become_a_service_error(
    http: responses.RequestsMock, client: GitHubClient, sleeps: list[float]
) -> None:
    http.add(responses.GET, f"{REPO}/commits/{MERGE}/pulls", json=shape("error_5xx"), status=503)

    with pytest.raises(ServiceError) as caught:
        verify_approvals(client, make_policy(), MERGE)

    assert f"GET /repos/example-org/access/commits/{MERGE}/pulls" in str(caught.value)
    assert "503" in str(caught.value)
    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    assert called(http, f"{REPO}/commits/{MERGE}/pulls") == 5


def test_policy_changed_in_the_same_merge_is_refused(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(
        http,
        files=[changed(STAGING_REQUEST), changed("policy/policy.yaml", status="modified")],
        texts={STAGING_REQUEST: request_yaml()},
        reviews=[review("erin-walsh")],
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert result.failures == (
        "the pull request changes policy/policy.yaml together with requests; the rules that "
        "judge approvals must be merged on their own first",
    )


def test_evidence_keeps_text_as_written_not_escaped() -> None:
    result = ApprovalResult(MERGE, None, (), ("requests/pci-prod/prüfung.yaml: naïve",))
    assert '"requests/pci-prod/prüfung.yaml: naïve"' in result.to_json()


def test_a_yaml_error_without_words_is_named_by_its_kind() -> None:
    assert _first_line(yaml.YAMLError()) == "YAMLError"
    assert _first_line(yaml.YAMLError("\n  first\nsecond")) == "first"


def test_an_approval_of_no_named_commit_is_refused_in_words_a_person_can_read(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(
        http,
        files=[changed(STAGING_REQUEST)],
        texts={STAGING_REQUEST: request_yaml()},
        reviews=[review("erin-walsh", commit=None)],
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.requests[0].reasons == (
        f"no approval of the final head {HEAD[:12]} by an approver of staging "
        "(@example-org/platform-leads, @erin-walsh) other than the author and the requester "
        f"(@erin-walsh approved an unknown commit, not the final head {HEAD[:12]})",
    )


@pytest.fixture
def five_hours_west(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time zone five hours behind UTC, as on a runner set to New York."""
    monkeypatch.setenv("TZ", "EST+05")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("five_hours_west")
def test_evidence_times_are_utc_whatever_the_machines_time_zone(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, reviews=[review("carol-diaz")])

    evidence = json.loads(verify_approvals(client, make_policy(), MERGE).to_json())

    assert evidence["pull_request"]["merged_at"] == "2026-11-30T08:47:39Z"
    assert evidence["requests"][0]["approvals"][0]["submitted_at"] == "2026-11-30T08:40:02Z"


def test_an_approval_without_a_time_is_evidence_with_none_not_a_crash(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    untimed = review("carol-diaz")
    del untimed["submitted_at"]  # optional in GitHub's schema of a review
    serve(http, reviews=[untimed])

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok, result.failures
    assert json.loads(result.to_json())["requests"][0]["approvals"] == [
        {"approver": "carol-diaz", "review_id": 2406019913, "submitted_at": None}
    ]


def test_a_reviewers_latest_word_is_the_one_submitted_last_whatever_its_id(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    """A review's id is fixed when it is started, its time when it is submitted."""
    serve(
        http,
        reviews=[
            review("carol-diaz", review_id=2, submitted="2026-11-30T08:40:02Z"),
            review(
                "carol-diaz", "CHANGES_REQUESTED", review_id=1, submitted="2026-11-30T08:44:10Z"
            ),
        ],
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert "@carol-diaz requested changes (review 1)" in result.requests[0].reasons[0]
