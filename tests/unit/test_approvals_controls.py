"""Approval controls that a one-line bug could switch off with the rest of the suite green.

Each test is named after the control it holds; together with test_approvals.py they kill the
mutants listed in tests/mutation/README.md. Everything goes through `verify_approvals` and the
real `GitHubClient`, mocked at the HTTP layer, so the tests survive refactors of the helpers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
import yaml
from responses import matchers

from generator.github.approvals import NO_PULL, verify_approvals
from generator.github.client import GitHubClient
from tests.unit.test_approvals import (
    HEAD,
    MERGE,
    PCI_REQUEST,
    REPO,
    STAGING_REQUEST,
    TEAM_MEMBERS,
    changed,
    make_policy,
    pull,
    request_yaml,
    review,
    serve,
    user,
)

OTHER_MERGE = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"


@pytest.fixture
def client() -> GitHubClient:
    return GitHubClient("example-org/access", "test-token", sleep=lambda _: None)


@pytest.mark.parametrize("status", ["modified", "changed", "copied", "added", "renamed"])
def test_every_status_that_brings_request_bytes_needs_an_approval(
    http: responses.RequestsMock, client: GitHubClient, status: str
) -> None:
    # Editing an approved request (a later expiry, another role) is a new request.
    previous = "requests/pci-prod/old.yaml" if status in ("renamed", "copied") else None
    serve(http, files=[changed(PCI_REQUEST, status, previous)], reviews=[])

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert [r.path for r in result.requests] == [PCI_REQUEST]
    assert result.requests[0].reasons == (
        f"no approval of the final head {HEAD[:12]} by an approver of pci-prod "
        "(@example-org/pci-access-approvers) other than the author and the requester",
    )


@pytest.mark.parametrize("status", ["removed", "unchanged"])
def test_statuses_that_bring_no_request_bytes_need_no_approval(
    http: responses.RequestsMock, client: GitHubClient, status: str
) -> None:
    serve(http, files=[changed(PCI_REQUEST, status)], reviews=[])

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok
    assert result.requests == ()


def test_invalid_yaml_is_named_by_the_parsers_first_line(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    text = "requester: [unclosed\n"
    serve(http, texts={PCI_REQUEST: text}, reviews=[review("carol-diaz")])
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as error:
        first = str(error).strip().splitlines()[0]

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.requests[0].reasons[0] == f"the request at {MERGE} is not valid YAML: {first}"


def test_a_modified_request_with_a_valid_approval_passes(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, files=[changed(PCI_REQUEST, "modified")], reviews=[review("carol-diaz")])

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok, result.failures
    assert result.requests[0].approvers == ("carol-diaz",)


def test_author_outside_policy_people_is_refused(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, author="mallory-x", reviews=[review("carol-diaz")])

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert result.requests[0].reasons == ("pull request author @mallory-x is not in policy.people",)


def test_author_login_is_matched_case_insensitively(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, author="Alice-NG", reviews=[review("carol-diaz")])

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok, result.failures


def test_a_merged_pull_that_only_contains_the_commit_does_not_speak_for_it(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    # The commit sits in pull request #7 too, merged elsewhere with another merge commit.
    elsewhere = pull(number=7, merge_commit_sha=OTHER_MERGE)
    http.add(responses.GET, f"{REPO}/commits/{MERGE}/pulls", json=[elsewhere])

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert result.pull is None
    assert result.failures == (NO_PULL,)


def test_the_pull_whose_merge_commit_it_is_is_chosen_among_several(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, reviews=[review("carol-diaz")])
    elsewhere = pull(number=7, merge_commit_sha=OTHER_MERGE)
    # GitHub lists the merging pull request after the one that merely contains the commit.
    http.replace(
        responses.GET,
        f"{REPO}/commits/{MERGE}/pulls",
        json=[elsewhere, pull(merge_commit_sha=MERGE.upper())],
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok, result.failures
    assert result.pull is not None
    assert result.pull.number == 42


@pytest.mark.parametrize(
    "rule_file", [".github/CODEOWNERS", "schemas/request.schema.json", "policy/people.yaml"]
)
def test_rule_files_changed_with_requests_are_refused(
    http: responses.RequestsMock, client: GitHubClient, rule_file: str
) -> None:
    serve(
        http,
        files=[changed(STAGING_REQUEST), changed(rule_file, "modified")],
        texts={STAGING_REQUEST: request_yaml()},
        reviews=[review("erin-walsh")],
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert result.requests[0].ok  # the request itself was approved: the merge is what fails
    assert result.failures == (
        f"the pull request changes {rule_file} together with requests; the rules that judge "
        "approvals must be merged on their own first",
    )


def test_every_rule_file_changed_with_requests_is_named_in_order(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    rule_files = ["policy/policy.yaml", ".github/CODEOWNERS"]
    serve(
        http,
        files=[changed(STAGING_REQUEST), *(changed(f, "modified") for f in rule_files)],
        texts={STAGING_REQUEST: request_yaml()},
        reviews=[review("erin-walsh")],
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.failures == (
        "the pull request changes .github/CODEOWNERS, policy/policy.yaml together with "
        "requests; the rules that judge approvals must be merged on their own first",
    )


def test_rule_files_changed_alone_need_no_request_approval(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, files=[changed(".github/CODEOWNERS", "modified")], reviews=[])

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok
    assert result.requests == ()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("- just\n- a list\n", f"the request at {MERGE} names no requester"),
        ("reason: no requester here\n", f"the request at {MERGE} names no requester"),
        ("requester: '   '\n", f"the request at {MERGE} names no requester"),
        ("requester: 42\n", f"the request at {MERGE} names no requester"),
        ("", f"the request at {MERGE} names no requester"),
    ],
)
def test_a_request_without_a_usable_requester_is_refused_not_a_crash(
    http: responses.RequestsMock, client: GitHubClient, text: str, reason: str
) -> None:
    serve(http, texts={PCI_REQUEST: text}, reviews=[review("carol-diaz")])

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    (verdict,) = result.requests
    assert verdict.requester is None
    assert verdict.reasons == (reason,)


def test_a_requester_with_surrounding_space_is_read_stripped(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(
        http,
        texts={PCI_REQUEST: "requester: '  alice@example.com '\n"},
        reviews=[review("dave-li")],
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok, result.failures
    assert result.requests[0].requester == "alice@example.com"


def test_a_request_for_an_unknown_target_is_refused_not_a_crash(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    unknown = "requests/pci-shadow/inc-4512.yaml"
    serve(
        http,
        files=[changed(unknown)],
        texts={unknown: request_yaml()},
        reviews=[review("carol-diaz")],
    )

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    reasons = result.requests[0].reasons
    assert reasons[0] == "target pci-shadow is not in the policy, so no one may approve it"
    assert "by an approver of pci-shadow (no one)" in reasons[1]


def test_evidence_keys_the_apply_records(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(
        http,
        files=[changed(PCI_REQUEST), changed(STAGING_REQUEST)],
        texts={PCI_REQUEST: request_yaml(), STAGING_REQUEST: request_yaml("bob@example.com")},
        reviews=[review("carol-diaz")],
    )
    http.add(responses.GET, TEAM_MEMBERS.replace("pci-access-approvers", "platform-leads"), json=[])

    evidence = json.loads(verify_approvals(client, make_policy(), MERGE).to_json())

    assert evidence["commit"] == MERGE
    assert evidence["ok"] is False
    assert evidence["problems"] == []
    assert evidence["requests"][0] == {
        "path": PCI_REQUEST,
        "requester": "alice@example.com",
        "ok": True,
        "approvals": [
            {
                "approver": "carol-diaz",
                "review_id": 2406019913,
                "submitted_at": "2026-11-30T08:40:02Z",
            }
        ],
        "reasons": [],
    }
    staging = evidence["requests"][1]
    assert (staging["path"], staging["requester"], staging["ok"]) == (
        STAGING_REQUEST,
        "bob@example.com",
        False,
    )
    assert staging["approvals"] == []
    assert staging["reasons"][0].startswith("pull request author @alice-ng is alice@example.com")


# Pagination: GitHub answers at most 100 items a page and links the next one.
def paged(
    http: responses.RequestsMock, url: str, first: list[dict[str, Any]], second: list[Any]
) -> None:
    following = f"{url.replace(':443', '')}?per_page=100&page=2"
    http.replace(
        responses.GET,
        url,
        json=first,
        headers={"Link": f'<{following}>; rel="next", <{following}>; rel="last"'},
        match=[matchers.query_param_matcher({"per_page": "100"})],
    )
    http.add(
        responses.GET,
        url,
        json=second,
        match=[matchers.query_param_matcher({"per_page": "100", "page": "2"})],
    )


def test_reviews_on_a_second_page_are_read(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, reviews=[])
    commented = [review("frank-mueller", "COMMENTED", review_id=n) for n in range(1, 101)]
    paged(http, f"{REPO}/pulls/42/reviews", commented, [review("carol-diaz", review_id=101)])

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok, result.failures
    assert result.requests[0].review_ids == (101,)


def test_a_change_request_on_a_second_page_supersedes_the_approval(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, reviews=[])
    first = [review("carol-diaz", review_id=1, submitted="2026-11-30T08:40:02Z")]
    later = [
        review("carol-diaz", "CHANGES_REQUESTED", review_id=2, submitted="2026-11-30T08:45:00Z")
    ]
    paged(http, f"{REPO}/pulls/42/reviews", first, later)

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok
    assert "@carol-diaz requested changes (review 2)" in result.requests[0].reasons[0]


def test_request_files_on_a_second_page_are_judged(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(
        http,
        texts={STAGING_REQUEST: request_yaml(), PCI_REQUEST: request_yaml()},
        reviews=[review("erin-walsh")],
    )
    docs = [changed(f"docs/page-{n}.md") for n in range(99)]
    paged(http, f"{REPO}/pulls/42/files", [*docs, changed(STAGING_REQUEST)], [changed(PCI_REQUEST)])

    result = verify_approvals(client, make_policy(), MERGE)

    assert not result.ok  # erin approves staging only; the pci-prod request on page 2 has none
    assert [(r.path, r.ok) for r in result.requests] == [
        (PCI_REQUEST, False),
        (STAGING_REQUEST, True),
    ]


def test_team_members_on_a_second_page_are_approvers(
    http: responses.RequestsMock, client: GitHubClient
) -> None:
    serve(http, reviews=[review("dave-li")])
    first = [user(f"member-{n}") for n in range(100)]
    paged(http, TEAM_MEMBERS, first, [user("dave-li")])

    result = verify_approvals(client, make_policy(), MERGE)

    assert result.ok, result.failures
    assert result.requests[0].approvers == ("dave-li",)
    assert HEAD  # the approval is on the final head served by `serve`
