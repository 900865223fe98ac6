"""Drift judges every binding lapse answers for, over recorded live policies.

The fixtures under tests/data/drift are shaped like the APIs' answers: Resource Manager
`getIamPolicy` (version 3) and BigQuery `datasets.get?accessPolicyVersion=3`.
"""

from __future__ import annotations

from typing import Any

import pytest
import responses

from generator.core.errors import ServiceError
from generator.core.model import Binding
from generator.gcp.dataset_access import member_of, policy_of_dataset
from generator.lifecycle import drift, drift_text
from generator.lifecycle.drift import DriftReport
from tests.unit.test_drift import ALICE_SQL, BOB_LOGS, NOW, PROJECT_URL, reader
from tests.unit.test_drift import policy as recorded

DATASET_URL = (
    "https://bigquery.googleapis.com/bigquery/v2/projects/pci-prod-analytics/datasets/chargebacks"
)
PEOPLE = [
    f"user:{name}@example.com"
    for name in ("alice", "bob", "carol", "dave", "erin", "frank", "grace")
]
CAROL_DATASET = Binding(
    address="google_bigquery_dataset_iam_member.inc-4533-chargeback-query_3a335114",
    source="requests/pci-prod/inc-4533-chargeback-query.yaml",
    kind="dataset",
    resource="pci-prod-analytics.chargebacks",
    role="roles/bigquery.dataViewer",
    member="user:carol@example.com",
    title="lapse/inc-4533-chargeback-query/3a335114",
    description="INC-4533: Reconcile November chargeback totals against the card network report",
    expression='request.time >= timestamp("2026-12-03T14:00:00Z") && '
    'request.time < timestamp("2026-12-03T17:00:00Z")',
)


def project_drift(http: responses.RequestsMock, fixture: str) -> DriftReport:
    http.add(responses.POST, PROJECT_URL, json=recorded(fixture))
    return drift.run_drift((ALICE_SQL, BOB_LOGS), reader(), NOW, people=PEOPLE)


def dataset_drift(http: responses.RequestsMock, body: dict[str, Any]) -> DriftReport:
    http.add(responses.GET, DATASET_URL, json=body)
    return drift.run_drift((CAROL_DATASET,), reader(), NOW, people=PEOPLE)


def judged(report: DriftReport) -> list[tuple[str, str, str, str]]:
    return [(f.severity, f.rule, f.member, f.role) for f in report.findings]


def test_condition_extended_to_2099_is_high_exits_1_and_opens_an_incident(
    http: responses.RequestsMock,
) -> None:
    report = project_drift(http, "project_extended_v3.json")

    assert judged(report) == [
        ("HIGH", "condition-extended", "user:alice@example.com", "roles/cloudsql.client")
    ]
    assert "2099-12-31" in report.findings[0].message
    assert drift_text.report_exit_code(report) == 1
    assert drift_text.incidents(report) == list(report.findings)


def test_a_persons_standing_and_side_channel_bindings_are_unexpected(
    http: responses.RequestsMock,
) -> None:
    report = project_drift(http, "project_people_v3.json")

    assert judged(report) == [
        ("HIGH", "unexpected", "user:dave@example.com", "roles/cloudsql.viewer"),
        ("MEDIUM", "unexpected", "user:frank@example.com", "roles/logging.viewer"),
        ("INFO", "unexpected", "user:grace@example.com", "roles/logging.viewer"),
    ]
    # Groups and service accounts on the same policy are not lapse's to judge.
    assert not {f.member for f in report.findings} & {
        "group:dba-oncall@example.com",
        "serviceAccount:settlement-batch@pci-prod-payments.iam.gserviceaccount.com",
    }
    assert drift_text.report_exit_code(report) == 1
    assert [f.member for f in drift_text.incidents(report)] == ["user:dave@example.com"]


def test_without_people_a_persons_binding_is_not_judged(http: responses.RequestsMock) -> None:
    http.add(responses.POST, PROJECT_URL, json=recorded("project_people_v3.json"))

    report = drift.run_drift((ALICE_SQL, BOB_LOGS), reader(), NOW)

    assert report.findings == ()


def test_only_info_findings_exit_0() -> None:
    live = recorded("project_healthy_v3.json")
    live["bindings"].append(
        {
            "role": "roles/logging.viewer",
            "members": ["user:grace@example.com"],
            "condition": {
                "title": "old",
                "expression": 'request.time < timestamp("2026-01-01T00:00:00Z")',
            },
        }
    )
    findings = drift.compare(
        (ALICE_SQL, BOB_LOGS), {("project", "pci-prod-payments"): live}, NOW, people=PEOPLE
    )
    report = DriftReport(findings, (("project", "pci-prod-payments"),))

    assert [f.severity for f in findings] == ["INFO"]
    assert drift_text.report_exit_code(report) == 0
    assert drift_text.incidents(report) == []


def test_a_persons_unconditional_copy_of_their_grant_is_critical_not_unexpected() -> None:
    live = recorded("project_healthy_v3.json")
    live["bindings"].append(
        {"role": "roles/cloudsql.client", "members": ["user:alice@example.com"]}
    )

    findings = drift.compare(
        (ALICE_SQL, BOB_LOGS), {("project", "pci-prod-payments"): live}, NOW, people=PEOPLE
    )

    assert [(f.severity, f.rule) for f in findings] == [("CRITICAL", "overridden-by-unconditional")]


def test_dataset_policy_is_read_through_datasets_get(http: responses.RequestsMock) -> None:
    report = dataset_drift(http, recorded("dataset_chargebacks.json"))

    (call,) = http.calls
    assert call.request.method == "GET"
    assert call.request.url == DATASET_URL + "?accessPolicyVersion=3"
    # Carol's READER entry is her rendered dataViewer grant, condition and all: no finding.
    # Erin's unconditional iamMember entry is a person's standing access.
    assert judged(report) == [
        ("HIGH", "unexpected", "user:erin@example.com", "roles/bigquery.dataViewer")
    ]
    assert report.resources_checked == (
        ("dataset", "projects/pci-prod-analytics/datasets/chargebacks"),
    )


def test_dataset_entry_without_its_condition_is_stripped(http: responses.RequestsMock) -> None:
    body = recorded("dataset_chargebacks.json")
    for entry in body["access"]:
        entry.pop("condition", None)

    report = dataset_drift(http, body)

    assert ("CRITICAL", "condition-stripped", "user:carol@example.com", CAROL_DATASET.role) in (
        judged(report)
    )


def test_dataset_read_with_hidden_conditions_is_refused(http: responses.RequestsMock) -> None:
    body = recorded("dataset_chargebacks.json")
    body["access"][5] = {
        "role": "roles/bigquery.dataViewer_with_conditionalbinding_7a34awqsda",
        "userByEmail": "carol@example.com",
    }

    with pytest.raises(ServiceError, match="accessPolicyVersion=3"):
        dataset_drift(http, body)


def test_dataset_access_list_as_an_allow_policy() -> None:
    policy = policy_of_dataset(recorded("dataset_chargebacks.json"))

    assert policy["version"] == 3
    assert policy["etag"] == "u9Ye3Mh0Qx7wJ1Xq2Zs8Pw=="
    pairs = {(b["role"], m) for b in policy["bindings"] for m in b["members"]}
    assert pairs == {
        ("roles/bigquery.dataEditor", "specialGroup:projectWriters"),
        ("roles/bigquery.dataOwner", "specialGroup:projectOwners"),
        (
            "roles/bigquery.dataOwner",
            "serviceAccount:analytics-loader@pci-prod-analytics.iam.gserviceaccount.com",
        ),
        ("roles/bigquery.dataViewer", "specialGroup:projectReaders"),
        ("roles/bigquery.dataViewer", "group:chargeback-analysts@example.com"),
        ("roles/bigquery.dataViewer", "user:carol@example.com"),
        ("roles/bigquery.dataViewer", "user:erin@example.com"),
    }
    (conditional,) = [b for b in policy["bindings"] if "condition" in b]
    assert conditional["condition"]["title"] == CAROL_DATASET.title


@pytest.mark.parametrize(
    ("entry", "member"),
    [
        ({"userByEmail": "a@example.com"}, "user:a@example.com"),
        (
            {"userByEmail": "x@p-1.iam.gserviceaccount.com"},
            "serviceAccount:x@p-1.iam.gserviceaccount.com",
        ),
        ({"iamMember": "principal://iam.googleapis.com/x"}, "principal://iam.googleapis.com/x"),
        ({"groupByEmail": "g@example.com"}, "group:g@example.com"),
        ({"domain": "example.com"}, "domain:example.com"),
        ({"specialGroup": "allAuthenticatedUsers"}, "allAuthenticatedUsers"),
        ({"view": {"projectId": "p", "datasetId": "d", "tableId": "t"}}, None),
        ({"routine": {"projectId": "p", "datasetId": "d", "routineId": "r"}}, None),
    ],
)
def test_each_grantee_field_names_its_member(entry: dict[str, Any], member: str | None) -> None:
    assert member_of(entry) == member


def test_a_person_is_recognised_whatever_the_case_of_the_email() -> None:
    live = recorded("project_healthy_v3.json")
    live["bindings"].append({"role": "roles/cloudsql.viewer", "members": ["user:Dave@Example.com"]})

    findings = drift.compare(
        (ALICE_SQL, BOB_LOGS), {("project", "pci-prod-payments"): live}, NOW, people=PEOPLE
    )

    assert [(f.severity, f.rule, f.member) for f in findings] == [
        ("HIGH", "unexpected", "user:Dave@Example.com")
    ]
