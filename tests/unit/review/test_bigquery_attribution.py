"""BigQuerySource reads every entry that is the person's, through the real client over REST.

The rows are what the sink query returns for entries that name the person other than as the
caller, that change a lapse binding, or that the review judges by fields beyond the caller.
"""

from __future__ import annotations

import json
from typing import Any

import responses
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from generator.core.model import Severity
from generator.review.analysis import review_all
from generator.review.bigquery_source import BigQuerySource

from .attribution_entries import (
    DEPLOYER,
    LAPSE_TITLE,
    PERSON,
    RUNNER,
    TERRAFORM,
    delegated_set_iam_policy,
    export_out,
    lapse_binding_by_terraform,
    mint_token,
    secret_read,
    subject_only_connect,
)
from .bigquery_rows import DATASET, query_parameters, query_response, scans, serve, sink_payload
from .conftest import GRACE, at, roles_lock, subject

START, END = at("2026-12-01T09:00:00"), at("2026-12-01T13:00:00")


def source() -> BigQuerySource:
    client = bigquery.Client(project="pci-audit-logs", credentials=AnonymousCredentials())
    return BigQuerySource(client, DATASET, attempts=3, sleep=lambda _: None)


def read(
    *entries: dict[str, Any], http: responses.RequestsMock
) -> tuple[BigQuerySource, list[Any]]:
    serve(http, query_response(*entries))
    src = source()
    return src, list(src.events([PERSON], START, END))


def test_the_sink_row_shape_is_the_documented_one() -> None:
    """The helper writes what the schema says: Json-suffixed Structs, serviceData by type."""
    payload = sink_payload(delegated_set_iam_policy()["protoPayload"])
    assert payload["servicedata_v1_iam"]["policyDelta"]["bindingDeltas"][0]["role"] == (
        "roles/owner"
    )
    assert json.loads(payload["requestJson"])["@type"].endswith("SetIamPolicyRequest")
    assert payload["metadataJson"] is None and "serviceData" not in payload
    link = payload["authenticationInfo"]["serviceAccountDelegationInfo"][0]
    assert link["firstPartyPrincipal"]["principalEmail"] == PERSON


def test_a_delegated_set_iam_policy_is_the_persons(http: responses.RequestsMock) -> None:
    src, events = read(delegated_set_iam_policy(), http=http)
    (event,) = events
    assert (event.principal, event.chain) == (PERSON, (DEPLOYER,))
    assert event.binding_deltas == (("ADD", f"user:{PERSON}", "roles/owner"),)
    (found,) = review_all([subject()], events, grace=GRACE)
    assert (Severity.CRITICAL, "persistence") in {(f.severity, f.kind) for f in found.findings}
    assert src.accounting.balanced


def test_an_entry_naming_the_person_only_as_subject_is_theirs(http: responses.RequestsMock) -> None:
    _, events = read(subject_only_connect(), http=http)
    (event,) = events
    assert (event.principal, event.method) == (PERSON, "cloudsql.instances.connect")


def test_a_lapse_binding_change_by_another_principal_dates_the_window(
    http: responses.RequestsMock,
) -> None:
    src, events = read(lapse_binding_by_terraform(), http=http)
    (event,) = events
    assert event.principal == TERRAFORM
    assert event.delta_conditions == (LAPSE_TITLE,)
    assert src.accounting.events == 1 and src.accounting.other_principals == 0
    (found,) = review_all([subject()], events, grace=GRACE)
    assert found.subject.binding_at == at("2026-12-01T09:02:00")


def test_a_project_named_by_number_is_resolved_from_the_resource_labels(
    http: responses.RequestsMock,
) -> None:
    _, events = read(secret_read(PERSON, "2026-12-01T09:30:00Z"), http=http)
    (event,) = events
    expected = "projects/pci-prod-payments/secrets/stripe-api-key/versions/3"
    assert event.resource_name == expected
    assert event.permissions == (("secretmanager.versions.access", expected, True),)


def test_an_export_out_of_the_grant_is_flagged_as_exfiltration(
    http: responses.RequestsMock,
) -> None:
    _, events = read(export_out(), http=http)
    (event,) = events
    assert event.copied_to == "gs://home-backup/settlement.sql"
    lock = {**roles_lock(), "roles/cloudsql.client": frozenset({"cloudsql.instances.export"})}
    (found,) = review_all([subject(permissions_by_role=lock)], events, grace=GRACE)
    assert [(f.severity, f.kind, f.evidence) for f in found.findings] == [
        (Severity.HIGH, "exfiltration", ("export-out",))
    ]


def test_a_token_minted_during_the_read_is_followed_from_its_minting(
    http: responses.RequestsMock,
) -> None:
    """The person mints a token for the runner at 10:00; the runner reads a secret at 10:05.

    The first query names only the person, so it cannot return the runner's read: a second
    query asks for the runner from the minting on. The person's delegated call through the
    runner comes back in both answers and is counted once.
    """
    through_runner = delegated_set_iam_policy("via-runner")
    through_runner["timestamp"] = "2026-12-01T10:02:00Z"
    through_runner["protoPayload"]["authenticationInfo"]["principalEmail"] = RUNNER
    runner_read = secret_read(RUNNER, "2026-12-01T10:05:00Z")
    serve(
        http,
        query_response(mint_token(), through_runner),
        query_response(through_runner, runner_read, job="job_Rf2"),
    )
    src = source()
    events = list(src.events([PERSON], START, END))

    assert [e.insert_id for e in events] == ["minted-token", "via-runner", "runner-secret"]
    first, second = scans(http)
    assert list(query_parameters(first)["principals"]) == [PERSON]
    assert list(query_parameters(second)["principals"]) == [RUNNER]
    assert query_parameters(second)["principals"][RUNNER].startswith("2026-12-01 10:00:00")
    assert query_parameters(second)["start"].startswith("2026-12-01 10:00:00")
    assert query_parameters(second)["end"].startswith("2026-12-01 13:00:00")
    assert src.accounting.read == 3 and src.accounting.balanced
    assert src.complete

    (found,) = review_all([subject()], events, grace=GRACE)
    theirs = [e for e in found.events_in_window if e.insert_id == "runner-secret"]
    assert [(e.principal, e.chain) for e in theirs] == [(PERSON, (RUNNER,))]


def test_following_stops_once_every_minted_account_was_read(
    http: responses.RequestsMock,
) -> None:
    """The runner mints for itself again: it is read once, so there is no third query."""
    again = mint_token("2026-12-01T10:30:00Z")
    again["insertId"] = "runner-mints-again"
    again["protoPayload"]["authenticationInfo"] = {"principalEmail": RUNNER}
    serve(http, query_response(mint_token()), query_response(again, job="job_Rf2"))
    src = source()
    assert [e.insert_id for e in src.events([PERSON], START, END)] == [
        "minted-token",
        "runner-mints-again",
    ]
    assert len(scans(http)) == 2
