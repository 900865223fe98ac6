"""The contract check itself: each kind of exchange GitHub could not have made is named."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from tests import github_contract as contract
from tests.github_fake import shape

API = "https://api.github.com:443"
REPO = f"{API}/repos/example-org/access"


@pytest.fixture(scope="module")
def spec() -> contract.Description:
    found = contract.description()
    if isinstance(found, str):
        pytest.fail(found)
    return found


def exchange(
    method: str,
    url: str,
    status: int,
    answer: Any = None,
    *,
    sent: Any = None,
    headers: dict[str, str] | None = None,
) -> Any:
    request = requests.Request(method, url, json=sent).prepare()
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {"Content-Type": "application/json"})
    response._content = b"" if answer is None else json.dumps(answer).encode()
    return SimpleNamespace(request=request, response=response)


def problems(spec: contract.Description, call: Any) -> str:
    return "\n".join(contract.contract_problems(spec, [call]))


def test_a_fixture_as_github_sends_it_passes(spec: contract.Description) -> None:
    label = shape("label", name="lapse")
    assert problems(spec, exchange("GET", f"{REPO}/labels/lapse", 200, label)) == ""


def test_a_missing_required_field_is_named_with_the_exchange(
    spec: contract.Description,
) -> None:
    label = shape("label", name="lapse")
    del label["node_id"]
    found = problems(spec, exchange("GET", f"{REPO}/labels/lapse", 200, label))
    assert "GET https://api.github.com:443/repos/example-org/access/labels/lapse -> 200" in found
    assert "issues/get-label" in found and "'node_id' is a required property" in found


def test_nullable_takes_null_and_a_field_that_is_not_takes_none(
    spec: contract.Description,
) -> None:
    assert (
        problems(spec, exchange("GET", f"{REPO}/labels/x", 200, shape("label", description=None)))
        == ""
    )
    found = problems(spec, exchange("GET", f"{REPO}/labels/x", 200, shape("label", name=None)))
    assert "at $.name: None is not of type 'string'" in found


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (("GET", f"{REPO}/no/such/route", 200, {}), "is no operation of GitHub's REST API"),
        (("GET", f"{REPO}/labels/x?colour=red", 200, None), "query parameter 'colour'"),
        (("GET", f"{REPO}/pulls?per_page=many", 200, []), "per_page='many'"),
        (("GET", f"{REPO}/issues/x/comments", 200, []), "path parameter issue_number='x'"),
        (("GET", f"{REPO}/labels/x", 418, {"message": "teapot"}), "status 418 is not declared"),
        (("GET", f"{REPO}/pulls/42/reviews", 403, {}), "'message' is a required property"),
        (("GET", f"{REPO}/labels/x", 200, None), "response body missing"),
    ],
    ids=["path", "query", "query type", "path type", "status", "error body", "no body"],
)
def test_each_kind_of_impossible_exchange_is_named(
    spec: contract.Description, call: tuple[str, str, int, Any], said: str
) -> None:
    assert said in problems(spec, exchange(*call))


def test_a_request_body_the_operation_does_not_declare_is_named(
    spec: contract.Description,
) -> None:
    url = f"{REPO}/issues/43/labels"
    bare = exchange("POST", url, 200, [shape("label")], sent=["lapse"])
    wrapped = exchange("POST", url, 200, [shape("label")], sent={"labels": ["lapse"]})
    assert "request body at $: ['lapse'] is not of type 'object'" in problems(spec, bare)
    assert problems(spec, wrapped) == ""


def test_a_rate_limit_answer_carries_githubs_headers(spec: contract.Description) -> None:
    body = shape("error_secondary_rate_limit")
    bare = exchange("GET", f"{REPO}/labels/x", 403, body)
    sent = {"Content-Type": "application/json", "x-ratelimit-remaining": "0"}
    primary = exchange("GET", f"{REPO}/labels/x", 403, body, headers=sent)
    assert "without the x-ratelimit-remaining header" in problems(spec, bare)
    assert "without the x-ratelimit-reset header" in problems(spec, primary)


def test_a_link_header_must_be_rfc_8288(spec: contract.Description) -> None:
    good = {"Content-Type": "application/json", "Link": f'<{REPO}/issues?page=2>; rel="next"'}
    bad = {"Content-Type": "application/json", "Link": f"{REPO}/issues?page=2; next"}
    url = f"{REPO}/issues"
    assert problems(spec, exchange("GET", url, 200, [], headers=good)) == ""
    assert "is not RFC 8288" in problems(spec, exchange("GET", url, 200, [], headers=bad))


def test_githubs_own_paging_links_are_checked_as_the_repository_route(
    spec: contract.Description,
) -> None:
    url = f"{API}/repositories/731642993/issues?page=2&colour=red"
    assert "query parameter 'colour'" in problems(spec, exchange("GET", url, 200, []))


def test_without_a_usable_description_the_check_fails_and_never_skips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = [exchange("GET", f"{REPO}/labels/x", 200, shape("label"))]
    monkeypatch.setattr(contract, "description", lambda: "description not found")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="needed under CI: description not found"):
        contract.check(calls)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.fail.Exception, match="needed: description not found"):
        contract.check(calls)


def test_a_description_other_than_the_pinned_one_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    generated = tmp_path / "openapi" / "generated"
    generated.mkdir(parents=True)
    (generated / "api.github.com.json").write_text("{}")
    (tmp_path / "openapi" / "package.json").write_text(
        json.dumps({"name": "@octokit/openapi", "version": "1.0.0"})
    )
    monkeypatch.setattr(contract, "INSTALLED", generated / "api.github.com.json")
    monkeypatch.delenv(contract.ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    contract.description.cache_clear()
    try:
        found = contract.description()
    finally:
        contract.description.cache_clear()
    assert found == (
        "@octokit/openapi@1.0.0 is installed, @octokit/openapi@23.0.2 is pinned: "
        "run .ci/fetch-github-openapi"
    )
