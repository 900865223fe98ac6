"""The committed part of GitHub's OpenAPI description: what the script extracts from the pinned
package, standing in for it where it is not installed, and failing any call it cannot check."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import github_contract as contract
from tests import github_openapi_subset as subset
from tests.github_fake import shape
from tests.unit.test_github_contract import API, REPO, exchange, problems


@pytest.fixture
def without_the_full_description(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setattr(contract, "INSTALLED", tmp_path / "absent" / "api.github.com.json")
    monkeypatch.delenv(contract.ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    contract.description.cache_clear()
    yield
    contract.description.cache_clear()


@pytest.fixture(scope="module")
def committed() -> contract.Description:
    found = contract.committed_subset()
    assert isinstance(found, contract.Description), found
    return found


def test_the_committed_subset_is_what_the_script_extracts() -> None:
    """From the pinned description where it is installed (always under CI): no value edited by
    hand, no operation or component added or lost. Elsewhere from the subset itself: its
    operations and exactly the components they reach, every one routed as the full one routes."""
    full = contract.full_description()
    if full is None and os.environ.get("CI") == "true":
        pytest.fail(
            f"the subset is checked against the pinned description under CI: {contract.absent()}"
        )
    assert not isinstance(full, str), full
    text = subset.DOCUMENT.read_text(encoding="utf-8")
    routes = json.loads(subset.ROUTES.read_text(encoding="utf-8"))
    wanted = subset.operations(json.loads(text))
    source = full.document if full else json.loads(text)
    assert subset.render(subset.extract(source, wanted)) == text
    if full:
        assert subset.render_routes(subset.route_index(full.document)) == subset.ROUTES.read_text()
    own = subset.route_index(json.loads(text))
    for method, template in wanted:
        assert method.lower() in routes[template]["methods"], f"{method} {template}: no route"
        assert set(own[template]["multi"]) <= set(routes[template]["multi"]), template


def test_the_subset_says_where_it_is_from_and_under_which_licence() -> None:
    sources = (subset.SUBSET / "SOURCES.md").read_text(encoding="utf-8")
    digest = re.search(r"sha256 `([0-9a-f]{64})`", sources)
    assert contract.PACKAGE in sources and "generated/api.github.com.json" in sources
    assert digest, "SOURCES.md names no sha256 of the full file"
    assert "MIT" in (subset.SUBSET / "LICENSE").read_text(encoding="utf-8")
    full = contract.full_description()
    if isinstance(full, contract.Description):
        read = contract.description_path().read_bytes()
        assert hashlib.sha256(read).hexdigest() == digest[1]


def test_without_the_full_description_the_committed_subset_checks_the_exchanges(
    without_the_full_description: None,
) -> None:
    spec = contract.description()
    assert isinstance(spec, contract.Description) and "tests/data/github_openapi" in spec.source
    contract.check([exchange("GET", f"{REPO}/labels/lapse", 200, shape("label", name="l"))])
    wrong = exchange("GET", f"{REPO}/labels/lapse", 200, shape("label", name=None))
    with pytest.raises(
        pytest.fail.Exception, match=r"(?s)checked against .*subset.*at \$\.name: None"
    ):
        contract.check([wrong])


def test_under_ci_the_full_description_is_required(
    without_the_full_description: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    calls = [exchange("GET", f"{REPO}/labels/lapse", 200, shape("label"))]
    with pytest.raises(pytest.fail.Exception, match=r"needed under CI: .* not found: run \.ci/fe"):
        contract.check(calls)


def test_a_description_named_but_absent_fails_rather_than_falls_back(
    without_the_full_description: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(contract.ENV, str(tmp_path / "nowhere.json"))
    calls = [exchange("GET", f"{REPO}/labels/lapse", 200, shape("label"))]
    with pytest.raises(
        pytest.fail.Exception, match=r"nowhere\.json not found: LAPSE_GITHUB_OPENAPI"
    ):
        contract.check(calls)


def test_an_operation_the_subset_lacks_fails_saying_how_to_add_it(
    committed: contract.Description, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "/emojis" not in committed.document["paths"]
    said = problems(committed, exchange("GET", f"{API}/emojis", 200, {"+1": "x"}))
    assert "GET /emojis is an operation of @octokit/openapi@23.0.2 that the subset" in said
    assert "python -m tests.github_openapi_subset --write --add 'GET /emojis'" in said
    monkeypatch.setattr(contract, "description", lambda: committed)
    with pytest.raises(pytest.fail.Exception, match="subset in tests/data/github_openapi lacks"):
        contract.check([exchange("GET", f"{API}/emojis", 200, {})])


def test_the_subset_routes_as_the_full_description_does(committed: contract.Description) -> None:
    """A path a more literal template of the full description takes is not read as a broader
    template the subset happens to hold; a path GitHub has no route for is still named so."""
    assert "get" in committed.document["paths"]["/repos/{owner}/{repo}/rulesets/{ruleset_id}"]
    assert "/repos/{owner}/{repo}/rulesets/rule-suites" not in committed.document["paths"]
    literal = problems(committed, exchange("GET", f"{REPO}/rulesets/rule-suites", 200, []))
    assert "GET /repos/{owner}/{repo}/rulesets/rule-suites is an operation" in literal
    assert "ruleset_id" not in literal
    assert "is no operation of GitHub's REST API" in problems(
        committed, exchange("GET", f"{REPO}/no/such/route", 200, {})
    )


DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"version": "1.0.0"},
    "tags": [{"name": "dropped"}],
    "paths": {
        "/a/{id}": {
            "parameters": [{"$ref": "#/components/parameters/id"}],
            "get": {
                "operationId": "a/get",
                "responses": {"200": {"$ref": "#/components/responses/thing"}},
            },
            "delete": {"operationId": "a/delete", "responses": {"204": {"description": "gone"}}},
        },
        "/b": {
            "get": {
                "operationId": "b/get",
                "responses": {"200": {"$ref": "#/components/responses/other"}},
            }
        },
    },
    "components": {
        "schemas": {
            "thing": {"properties": {"parts": {"items": {"$ref": "#/components/schemas/part"}}}},
            "part": {"properties": {"whole": {"$ref": "#/components/schemas/thing"}}},
            "unreached": {"type": "string"},
        },
        "parameters": {"id": {"name": "id", "in": "path", "x-multi-segment": True}},
        "responses": {
            "thing": {
                "headers": {"Link": {"$ref": "#/components/headers/link"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/thing"}}},
            },
            "other": {"description": "unreached"},
        },
        "headers": {"link": {"schema": {"type": "string"}}},
        "examples": {"unused": {"value": 1}},
    },
}


def test_extraction_takes_the_operations_and_every_component_they_reach_only() -> None:
    found = subset.extract(DOCUMENT, {("GET", "/a/{id}")})
    assert list(found) == ["openapi", "info", "paths", "components"]
    assert found["paths"] == {
        "/a/{id}": {k: DOCUMENT["paths"]["/a/{id}"][k] for k in ("parameters", "get")}
    }
    assert {k: sorted(v) for k, v in found["components"].items()} == {
        "schemas": ["part", "thing"],
        "parameters": ["id"],
        "responses": ["thing"],
        "headers": ["link"],
    }
    assert subset.route_index(DOCUMENT)["/a/{id}"] == {
        "methods": ["get", "delete"],
        "multi": ["id"],
    }


def test_extraction_refuses_what_the_description_does_not_hold() -> None:
    with pytest.raises(ValueError, match="not operations of the description"):
        subset.extract(DOCUMENT, {("POST", "/b")})
    broken = {**DOCUMENT, "paths": {"/c": {"get": {"$ref": "other.json#/x"}}}}
    with pytest.raises(ValueError, match="names no component"):
        subset.extract(broken, {("GET", "/c")})
    with pytest.raises(ValueError, match="is not 'METHOD /template'"):
        subset.parsed("FETCH /a")


def test_the_script_writes_compares_and_records(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(subset, "SUBSET", tmp_path)
    monkeypatch.setattr(subset, "DOCUMENT", tmp_path / "api.github.com.json")
    monkeypatch.setattr(subset, "ROUTES", tmp_path / "routes.json")
    monkeypatch.setattr(contract, "full_description", lambda: None)
    assert subset.main(["--write"]) == 2
    assert "not found: run .ci/fetch-github-openapi" in capsys.readouterr().err
    monkeypatch.setattr(contract, "full_description", lambda: contract.Description(DOCUMENT))
    assert subset.main(["--write", "--add", "GET /a/{id}"]) == 0
    assert subset.main([]) == 0
    assert list(json.loads(subset.DOCUMENT.read_text())["paths"]) == ["/a/{id}"]
    edited = subset.DOCUMENT.read_text().replace('"x-multi-segment": true', '"x-multi-segment": 0')
    subset.DOCUMENT.write_text(edited)
    assert subset.main([]) == 1
    log = tmp_path / "reached.txt"
    monkeypatch.setenv(contract.RECORD, str(log))
    spec = contract.Description(DOCUMENT)
    for path in ("/b", "/b", "/nowhere"):
        contract.contract_problems(spec, [exchange("GET", f"{API}{path}", 200, {})])
    assert log.read_text() == "GET /b\nGET /b\n"
    assert subset.main(["--write", "--recorded", str(log)]) == 0
    assert list(json.loads(subset.DOCUMENT.read_text())["paths"]) == ["/b"]
    assert subset.main(["--write", "--add", "PUT /b"]) == 2
