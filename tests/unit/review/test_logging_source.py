"""LoggingSource against the Cloud Logging HTTP API, mocked with `responses`."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from google.auth.credentials import AnonymousCredentials

from generator.review.analysis import review_all
from generator.review.logging_source import (
    LoggingSource,
    audit_filter,
    logging_client,
    principal_batches,
)

from .attribution_entries import (
    PERSON,
    RUNNER,
    delegated_set_iam_policy,
    lapse_binding_by_terraform,
    mint_token,
    secret_read,
)
from .conftest import GRACE, at, load_entry, subject

URL = "https://logging.googleapis.com/v2/entries:list"
START, END = at("2026-12-01T09:00:00"), at("2026-12-01T13:00:00")
PROJECT = "projects/pci-prod-payments"


def source(resources: tuple[str, ...] = (PROJECT,), attempts: int = 5) -> LoggingSource:
    client = logging_client("pci-prod-payments", AnonymousCredentials())
    return LoggingSource(client, resources, attempts=attempts, sleep=lambda _: None)


def entry(insert_id: str, timestamp: str, principal: str = "alice@example.com") -> dict[str, Any]:
    data = load_entry("storage_objects_get")
    data["insertId"] = insert_id
    data["timestamp"] = timestamp
    data["protoPayload"]["authenticationInfo"]["principalEmail"] = principal
    return data


def page(*entries: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"entries": list(entries)}
    if token:
        body["nextPageToken"] = token
    return body


def error(code: int, status: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"{status} (test)", "status": status}}


def bodies(http: responses.RequestsMock) -> list[dict[str, Any]]:
    return [json.loads(c.request.body) for c in http.calls if c.request.url.startswith(URL)]


def test_filter_always_carries_both_time_bounds_and_page_size(http: responses.RequestsMock) -> None:
    """Regression: without a timestamp clause the client silently reads only the last 24 hours."""
    http.add(responses.POST, URL, json=page())
    list(source().events(["alice@example.com", "bob@example.com"], START, END))
    (body,) = bodies(http)
    assert body["pageSize"] == 1000
    assert body["orderBy"] == "timestamp asc"
    assert body["resourceNames"] == [PROJECT]
    assert 'timestamp>="2026-12-01T09:00:00Z"' in body["filter"]
    assert 'timestamp<"2026-12-01T13:00:00Z"' in body["filter"]
    assert 'logName:"cloudaudit.googleapis.com"' in body["filter"]
    assert (
        'protoPayload.authenticationInfo.principalEmail=("alice@example.com" OR "bob@example.com")'
        in body["filter"]
    )


def test_pagination_across_three_pages(http: responses.RequestsMock) -> None:
    http.add(responses.POST, URL, json=page(entry("a", "2026-12-01T09:01:00Z"), token="p2"))
    http.add(responses.POST, URL, json=page(entry("b", "2026-12-01T09:02:00Z"), token="p3"))
    http.add(responses.POST, URL, json=page(entry("c", "2026-12-01T09:03:00.5Z")))
    src = source()
    assert [e.insert_id for e in src.events(["alice@example.com"], START, END)] == ["a", "b", "c"]
    assert [b.get("pageToken") for b in bodies(http)] == [None, "p2", "p3"]
    assert src.complete


def test_429_then_success_resumes_without_duplicates(http: responses.RequestsMock) -> None:
    http.add(
        responses.POST,
        URL,
        json=page(
            entry("a", "2026-12-01T09:01:00Z"), entry("b", "2026-12-01T09:02:00Z"), token="p2"
        ),
    )
    http.add(responses.POST, URL, status=429, json=error(429, "RESOURCE_EXHAUSTED"))
    # The reopened read starts at the last timestamp handed out, so "b" comes again: skipped.
    http.add(
        responses.POST,
        URL,
        json=page(entry("b", "2026-12-01T09:02:00Z"), entry("c", "2026-12-01T09:05:00Z")),
    )
    src = source()
    assert [e.insert_id for e in src.events(["alice@example.com"], START, END)] == ["a", "b", "c"]
    assert src.complete
    assert 'timestamp>="2026-12-01T09:02:00Z"' in bodies(http)[-1]["filter"]


def test_429_on_the_first_page_then_success(http: responses.RequestsMock) -> None:
    http.add(responses.POST, URL, status=429, json=error(429, "RESOURCE_EXHAUSTED"))
    http.add(responses.POST, URL, json=page(entry("a", "2026-12-01T09:01:00Z")))
    src = source()
    assert [e.insert_id for e in src.events(["alice@example.com"], START, END)] == ["a"]
    assert src.complete


def test_500_until_exhaustion_records_a_gap_and_goes_on(http: responses.RequestsMock) -> None:
    folder = "folders/204518736091"
    http.add(
        responses.POST,
        URL,
        json=page(entry("a", "2026-12-01T09:01:00Z"), token="p2"),
        match=[
            responses.matchers.json_params_matcher({"resourceNames": [PROJECT]}, strict_match=False)
        ],
    )
    http.add(
        responses.POST,
        URL,
        status=500,
        json=error(500, "INTERNAL"),
        match=[
            responses.matchers.json_params_matcher({"resourceNames": [PROJECT]}, strict_match=False)
        ],
    )
    http.add(
        responses.POST,
        URL,
        json=page(entry("f", "2026-12-01T10:00:00Z")),
        match=[
            responses.matchers.json_params_matcher({"resourceNames": [folder]}, strict_match=False)
        ],
    )
    src = source((PROJECT, folder), attempts=3)
    found = [e.insert_id for e in src.events(["alice@example.com"], START, END)]
    assert found == ["a", "f"]
    assert not src.complete
    (gap,) = src.gaps
    assert gap.startswith(f"{PROJECT} [2026-12-01T09:01:00Z, 2026-12-01T13:00:00Z): ")
    assert "InternalServerError" in gap


def test_permanent_error_is_a_gap_without_retries(http: responses.RequestsMock) -> None:
    http.add(responses.POST, URL, status=403, json=error(403, "PERMISSION_DENIED"))
    src = source()
    assert list(src.events(["alice@example.com"], START, END)) == []
    assert len(bodies(http)) == 1
    assert "Forbidden" in src.gaps[0]


def test_other_principals_and_non_audit_entries_are_dropped(http: responses.RequestsMock) -> None:
    http.add(
        responses.POST,
        URL,
        json=page(
            entry("x", "2026-12-01T09:01:00Z", "mallory@example.com"), load_entry("not_audit")
        ),
    )
    assert list(source().events(["alice@example.com"], START, END)) == []


def test_quotes_in_a_principal_cannot_change_the_filter() -> None:
    text = audit_filter(['a"b\\c@example.com'], START, END)
    assert 'principalEmail=("a\\"b\\\\c@example.com")' in text


def test_long_principal_lists_are_split() -> None:
    principals = [f"person-{i:04d}@example.com" for i in range(1000)]
    batches = principal_batches(principals)
    assert len(batches) > 1
    assert sorted(p for b in batches for p in b) == sorted(principals)
    assert all(len(audit_filter(b, START, END)) < 20_000 for b in batches)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        list(source().events(["alice@example.com"], START.replace(tzinfo=None), END))


def test_a_token_minted_during_the_read_is_followed_from_its_minting(
    http: responses.RequestsMock,
) -> None:
    """The person mints a token for the runner at 10:00; the runner reads a secret at 10:05.

    The first listing's filter names only the person, so the runner's read is not in it: a
    second listing asks for the runner from the minting on. The person's delegated call through
    the runner is in both listings and is counted once.
    """
    through_runner = delegated_set_iam_policy("via-runner")
    through_runner["timestamp"] = "2026-12-01T10:02:00Z"
    through_runner["protoPayload"]["authenticationInfo"]["principalEmail"] = RUNNER
    http.add(responses.POST, URL, json=page(mint_token(), through_runner))
    http.add(
        responses.POST,
        URL,
        json=page(through_runner, secret_read(RUNNER, "2026-12-01T10:05:00Z")),
    )
    src = source()
    events = list(src.events([PERSON], START, END))

    assert [e.insert_id for e in events] == ["minted-token", "via-runner", "runner-secret"]
    first, second = (b["filter"] for b in bodies(http))
    assert RUNNER not in first
    assert f'principalEmail=("{RUNNER}")' in second
    assert f'firstPartyPrincipal.principalEmail=("{RUNNER}")' in second
    assert PERSON not in second
    assert 'timestamp>="2026-12-01T10:00:00Z"' in second
    assert 'timestamp<"2026-12-01T13:00:00Z"' in second
    assert src.accounting.read == 3 and src.accounting.balanced
    assert src.complete

    (found,) = review_all([subject()], events, grace=GRACE)
    theirs = [e for e in found.events_in_window if e.insert_id == "runner-secret"]
    assert [(e.principal, e.chain) for e in theirs] == [(PERSON, (RUNNER,))]


def test_a_follow_up_listing_covers_every_resource_in_scope(http: responses.RequestsMock) -> None:
    """The token is minted in one project and used in another: both are listed again."""
    other = "projects/pci-prod-ledger"
    by_resource = [
        (PROJECT, page(mint_token())),
        (other, page()),
        (PROJECT, page()),
        (other, page(secret_read(RUNNER, "2026-12-01T10:05:00Z"))),
    ]
    for _, answer in by_resource:
        http.add(responses.POST, URL, json=answer)
    src = source((PROJECT, other))
    assert [e.insert_id for e in src.events([PERSON], START, END)] == [
        "minted-token",
        "runner-secret",
    ]
    listed = [(b["resourceNames"], RUNNER in b["filter"]) for b in bodies(http)]
    assert listed == [([PROJECT], False), ([other], False), ([PROJECT], True), ([other], True)]


def test_a_lapse_binding_change_in_every_batch_is_counted_once(
    http: responses.RequestsMock,
) -> None:
    """Every batch's filter asks for lapse binding changes: the second answer is known again."""
    people = [PERSON, *(f"person-{i:04d}@example.com" for i in range(400))]
    batches = principal_batches(people)
    assert len(batches) > 1
    for _ in batches:
        http.add(responses.POST, URL, json=page(lapse_binding_by_terraform()))
    src = source()
    assert [e.insert_id for e in src.events(people, START, END)] == ["lapse-binding"]
    assert src.accounting.read == 1 and src.accounting.balanced


def test_subjects_name_people_as_users_and_service_accounts_as_such() -> None:
    text = audit_filter([PERSON, RUNNER], START, END)
    assert f'principalSubject=("user:{PERSON}" OR "serviceAccount:{RUNNER}")' in text


def test_an_account_minted_by_a_followed_account_is_followed_in_turn(
    http: responses.RequestsMock,
) -> None:
    """The person mints for the runner; the runner mints for the ledger account; both are read."""
    ledger = "ledger@pci-prod-payments.iam.gserviceaccount.com"
    relay = mint_token("2026-12-01T10:10:00Z")
    relay["insertId"] = "runner-mints-ledger"
    relay["protoPayload"]["authenticationInfo"] = {"principalEmail": RUNNER}
    relay["protoPayload"]["resourceName"] = f"projects/-/serviceAccounts/{ledger}"
    http.add(responses.POST, URL, json=page(mint_token()))
    http.add(responses.POST, URL, json=page(relay))
    http.add(responses.POST, URL, json=page(secret_read(ledger, "2026-12-01T10:20:00Z", "l")))
    src = source()
    found = [e.insert_id for e in src.events([PERSON], START, END)]
    assert found == ["minted-token", "runner-mints-ledger", "l"]
    third = bodies(http)[2]["filter"]
    assert f'principalEmail=("{ledger}")' in third
    assert 'timestamp>="2026-12-01T10:10:00Z"' in third
