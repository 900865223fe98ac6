"""The contract check itself: what Google could not have sent or accepted is named."""

from __future__ import annotations

import json

from tests.google_contract import Exchange, match, problems_of

LOGS = "https://logging.googleapis.com/v2/entries:list"
POLICY = "https://cloudresourcemanager.googleapis.com/v1/projects/p:getIamPolicy"
DATASET = "https://bigquery.googleapis.com/bigquery/v2/projects/p/datasets/d"


def exchange(
    method: str, url: str, body: object = None, status: int = 200, answer: object = None
) -> Exchange:
    sent = json.dumps(body) if body is not None else None
    return Exchange(method, url, sent, status, json.dumps(answer) if answer is not None else None)


def test_methods_are_found_by_path_and_verb() -> None:
    assert match("POST", LOGS).id == "logging.entries.list"  # type: ignore[union-attr]
    assert match("GET", DATASET).id == "bigquery.datasets.get"  # type: ignore[union-attr]
    search = "https://cloudresourcemanager.googleapis.com/v3/projects:search"
    assert match("GET", search).id == "cloudresourcemanager.projects.search"  # type: ignore[union-attr]
    assert match("DELETE", LOGS) is None


def test_what_google_defines_passes() -> None:
    body = {
        "resourceNames": ["projects/p"],
        "filter": "x",
        "orderBy": "timestamp asc",
        "pageSize": 1,
    }
    answer = {"entries": [{"insertId": "a", "protoPayload": {"@type": "t", "anything": 1}}]}
    assert problems_of(exchange("POST", LOGS, body, answer=answer)) == []
    policy = {"version": 3, "etag": "x", "bindings": [{"role": "r", "members": ["user:a"]}]}
    assert (
        problems_of(
            exchange("POST", POLICY, {"options": {"requestedPolicyVersion": 3}}, answer=policy)
        )
        == []
    )


def test_unknown_fields_paths_and_parameters_are_named() -> None:
    assert problems_of(exchange("GET", DATASET, answer={"version": 3, "bindings": []})) == [
        f"GET {DATASET} (bigquery.datasets.get): response field Dataset.version",
        f"GET {DATASET} (bigquery.datasets.get): response field Dataset.bindings",
    ]
    (wrong,) = problems_of(
        exchange("POST", LOGS, {"resourceNames": [], "principals": []}, answer={})
    )
    assert "request field ListLogEntriesRequest.principals" in wrong
    (query,) = problems_of(
        exchange("GET", DATASET + "?accessPolicyVersion=3&datasetView=FULL&policy=1", answer={})
    )
    assert "query parameter 'policy'" in query
    (nowhere,) = problems_of(exchange("GET", "https://logging.googleapis.com/v2/nothing/here"))
    assert "no method" in nowhere


def test_errors_are_held_to_the_envelope() -> None:
    good = {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}
    assert problems_of(exchange("GET", DATASET, status=403, answer=good)) == []
    (bad,) = problems_of(exchange("GET", DATASET, status=403, answer={"message": "denied"}))
    assert "error envelope" in bad
