"""`lapse drift`: live IAM policies (read as version 3) against the rendered grants."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from generator.core.errors import ConfigError, ServiceError
from generator.core.model import Binding
from generator.gcp import iam_policies as iam_api
from generator.gcp.iam_policies import IamPolicyReader
from generator.lifecycle import drift, drift_text
from generator.lifecycle.drift import DriftFinding, DriftReport

DATA = Path(__file__).resolve().parent.parent / "data" / "drift"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PROJECT_URL = (
    "https://cloudresourcemanager.googleapis.com/v1/projects/pci-prod-payments:getIamPolicy"
)
BUCKET_URL = "https://storage.googleapis.com/storage/v1/b/settlement-exports/iam"

ALICE_SQL = Binding(
    address="google_project_iam_member.inc_4512_settlement_batch_1f3a9c2e",
    source="requests/pci-prod/inc-4512-settlement-batch.yaml",
    kind="project",
    resource="pci-prod-payments",
    role="roles/cloudsql.client",
    member="user:alice@example.com",
    title="lapse/inc-4512-settlement-batch/1f3a9c2e",
    description="INC-4512: Investigate failed settlement batch for merchant 4411",
    expression='request.time >= timestamp("2026-12-01T09:00:00Z") && '
    'request.time < timestamp("2026-12-01T13:00:00Z")',
)
BOB_LOGS = Binding(
    address="google_project_iam_member.inc_4519_ledger_replay_7c0d41b8",
    source="requests/pci-prod/inc-4519-ledger-replay.yaml",
    kind="project",
    resource="pci-prod-payments",
    role="roles/logging.viewer",
    member="user:bob@example.com",
    title="lapse/inc-4519-ledger-replay/7c0d41b8",
    description="INC-4519: Replay ledger entries rejected by the settlement job",
    expression='request.time < timestamp("2026-12-01T16:00:00Z")',
)
ALICE_GCS = replace(
    ALICE_SQL,
    address="google_storage_bucket_iam_member.inc_4512_settlement_batch_9d27b6f4",
    kind="bucket",
    resource="settlement-exports",
    role="roles/storage.objectViewer",
    title="lapse/inc-4512-settlement-batch/9d27b6f4",
)
CAROL_OLD = Binding(
    address="google_project_iam_member.inc_4471_reconcile_fx_52e8aa10",
    source="requests/pci-prod/inc-4471-reconcile-fx.yaml",
    kind="project",
    resource="pci-prod-payments",
    role="roles/cloudsql.viewer",
    member="user:carol@example.com",
    title="lapse/inc-4471-reconcile-fx/52e8aa10",
    description="INC-4471: Reconcile FX rates for the October close",
    expression='request.time >= timestamp("2026-11-20T08:00:00Z") && '
    'request.time < timestamp("2026-11-20T12:00:00Z")',
)
REPO = (ALICE_SQL, BOB_LOGS)


def policy(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / name).read_text())
    return loaded


def reader() -> IamPolicyReader:
    return IamPolicyReader(requests.Session(), sleep=lambda _: None)


def serve_project(http: responses.RequestsMock, name: str) -> None:
    http.add(responses.POST, PROJECT_URL, json=policy(name))


def drift_against(http: responses.RequestsMock, name: str, **kwargs: Any) -> DriftReport:
    serve_project(http, name)
    bindings = kwargs.pop("bindings", REPO)
    return drift.run_drift(bindings, reader(), NOW, **kwargs)


def rules(report: DriftReport) -> list[tuple[str, str, str]]:
    return [(f.severity, f.rule, f.member) for f in report.findings]


# ---------------------------------------------------------------------------
# Findings, end to end through the HTTP layer.


def test_healthy_version_3_policy_has_no_findings(http: responses.RequestsMock) -> None:
    report = drift_against(http, "project_healthy_v3.json")

    assert report.findings == ()
    assert report.resources_checked == (("project", "pci-prod-payments"),)
    assert drift_text.report_exit_code(report) == 0
    assert drift_text.to_text(report) == "No drift: 1 IAM policy checked.\n"


def test_version_1_policy_with_stripped_conditions_is_critical(
    http: responses.RequestsMock,
) -> None:
    report = drift_against(http, "project_stripped_v1.json")

    assert rules(report) == [
        ("CRITICAL", "condition-stripped", "user:alice@example.com"),
        ("CRITICAL", "condition-stripped", "user:bob@example.com"),
    ]
    assert "live policy version 1" in report.findings[0].message
    assert "permanent" in report.findings[0].message
    assert drift_text.report_exit_code(report) == 1


def test_version_1_policy_without_the_grants_is_flagged_as_a_whole(
    http: responses.RequestsMock,
) -> None:
    report = drift_against(http, "project_no_conditions_v1.json")

    whole = [f for f in report.findings if not f.member]
    assert [(f.severity, f.rule, f.role, f.title) for f in whole] == [
        ("CRITICAL", "condition-stripped", "", "")
    ]
    assert "version 1" in whole[0].message
    # The grants that should be active now are also reported one by one.
    assert ("MEDIUM", "missing", "user:alice@example.com") in rules(report)
    assert drift_text.report_exit_code(report) == 1


def test_lapse_binding_unknown_to_the_repository_is_an_orphan(
    http: responses.RequestsMock,
) -> None:
    report = drift_against(http, "project_orphan_v3.json")

    assert rules(report) == [("HIGH", "orphan", "user:erin@example.com")]
    assert report.findings[0].title == "lapse/inc-4498-hand-made/0badc0de"
    assert drift_text.report_exit_code(report) == 1
    assert drift_text.incidents(report) == list(report.findings)


def test_expired_binding_still_in_the_policy_is_high(http: responses.RequestsMock) -> None:
    report = drift_against(http, "project_expired_v3.json", bindings=(*REPO, CAROL_OLD))

    assert rules(report) == [("HIGH", "expired-still-present", "user:carol@example.com")]
    assert "lapse expire" in report.findings[0].message


def test_expired_leftover_of_an_archived_request_is_not_also_an_orphan(
    http: responses.RequestsMock,
) -> None:
    report = drift_against(http, "project_expired_v3.json", archived=(CAROL_OLD,))

    assert rules(report) == [("HIGH", "expired-still-present", "user:carol@example.com")]
    assert "re-apply" in report.findings[0].message


def test_unconditional_binding_beside_the_conditional_one_is_critical(
    http: responses.RequestsMock,
) -> None:
    report = drift_against(http, "project_override_v3.json")

    assert rules(report) == [("CRITICAL", "overridden-by-unconditional", "user:alice@example.com")]
    assert drift_text.report_exit_code(report) == 1


def test_current_grant_absent_from_the_policy_is_missing(http: responses.RequestsMock) -> None:
    report = drift_against(http, "project_missing_v3.json")

    assert rules(report) == [("MEDIUM", "missing", "user:alice@example.com")]
    assert ALICE_SQL.source in report.findings[0].message
    assert drift_text.report_exit_code(report) == 1
    assert drift_text.incidents(report) == []  # MEDIUM: reported, no incident


@pytest.mark.parametrize(
    "expression",
    [
        'request.time >= timestamp("2026-12-02T09:00:00Z") && '
        'request.time < timestamp("2026-12-02T13:00:00Z")',
        'request.time < timestamp("2026-12-01T09:00:00Z")',
    ],
    ids=["pending", "expired"],
)
def test_absent_grant_outside_its_window_is_not_missing(
    http: responses.RequestsMock, expression: str
) -> None:
    report = drift_against(
        http,
        "project_missing_v3.json",
        bindings=(replace(ALICE_SQL, expression=expression), BOB_LOGS),
    )

    assert report.findings == ()


def test_archived_grant_left_without_its_condition_is_critical(
    http: responses.RequestsMock,
) -> None:
    report = drift_against(
        http, "project_stripped_v1.json", bindings=(BOB_LOGS,), archived=(ALICE_SQL,)
    )

    assert ("CRITICAL", "condition-stripped", "user:alice@example.com") in rules(report)


def test_live_condition_that_differs_from_the_rendered_one_is_high() -> None:
    live = policy("project_healthy_v3.json")
    live["bindings"][2]["condition"]["expression"] = (
        'request.time < timestamp("2027-12-01T13:00:00Z")'
    )

    findings = drift.compare(REPO, {("project", "pci-prod-payments"): live}, NOW)

    assert [(f.severity, f.rule) for f in findings] == [("HIGH", "condition-extended")]
    assert "2027-12-01" in findings[0].message


def test_live_condition_narrowed_inside_the_window_is_medium() -> None:
    live = policy("project_healthy_v3.json")
    live["bindings"][2]["condition"]["expression"] = (
        'request.time < timestamp("2026-12-01T11:00:00Z")'
    )

    findings = drift.compare(REPO, {("project", "pci-prod-payments"): live}, NOW)

    assert [(f.severity, f.rule) for f in findings] == [("MEDIUM", "condition-changed")]


def test_policy_with_no_version_and_no_bindings_is_read_as_version_1() -> None:
    findings = drift.compare([ALICE_GCS], {("bucket", "settlement-exports"): {"etag": "CAE="}}, NOW)

    assert [(f.rule, f.member) for f in findings] == [
        ("condition-stripped", ""),
        ("missing", "user:alice@example.com"),
    ]


def test_non_lapse_conditional_bindings_are_left_alone() -> None:
    live = policy("project_healthy_v3.json")
    live["bindings"].append(
        {
            "role": "roles/cloudsql.viewer",
            "members": ["group:dba-oncall@example.com"],
            "condition": {
                "title": "business-hours",
                "expression": "request.time.getHours('Europe/Berlin') < 18",
            },
        }
    )

    assert drift.compare(REPO, {("project", "pci-prod-payments"): live}, NOW) == ()


def test_two_spellings_of_a_dataset_are_one_policy(http: responses.RequestsMock) -> None:
    url = "https://bigquery.googleapis.com/bigquery/v2/projects/pci-prod-analytics/datasets/chargebacks"
    dataset = {
        "kind": "bigquery#dataset",
        "etag": "BwYq",
        "access": [{"role": "roles/cloudsql.client", "userByEmail": "alice@example.com"}],
    }
    http.add(responses.GET, url, json=dataset)
    short = replace(ALICE_SQL, kind="dataset", resource="pci-prod-analytics.chargebacks")
    long = replace(short, resource="projects/pci-prod-analytics/datasets/chargebacks")

    report = drift.run_drift([short, long], reader(), NOW)

    assert len(http.calls) == 1
    assert report.resources_checked == (
        ("dataset", "projects/pci-prod-analytics/datasets/chargebacks"),
    )
    assert [(f.rule, f.member) for f in report.findings] == [
        ("condition-stripped", "user:alice@example.com")
    ]


def test_also_check_sweeps_resources_no_current_grant_names(
    http: responses.RequestsMock,
) -> None:
    http.add(responses.GET, BUCKET_URL, json=policy("bucket_v3.json"))

    report = drift.run_drift([], reader(), NOW, also_check=[("bucket", "gs://settlement-exports")])

    assert rules(report) == [("HIGH", "orphan", "user:alice@example.com")]


def test_several_resources_are_all_read_and_reported_in_order(
    http: responses.RequestsMock,
) -> None:
    serve_project(http, "project_stripped_v1.json")
    http.add(responses.GET, BUCKET_URL, json=policy("bucket_v3.json"))

    report = drift.run_drift([ALICE_GCS, *REPO], reader(), NOW)

    assert report.resources_checked == (
        ("bucket", "settlement-exports"),
        ("project", "pci-prod-payments"),
    )
    assert [f.kind for f in report.findings] == ["project", "project"]


# ---------------------------------------------------------------------------
# The adapter: version 3 always, the right URL per kind, retries.


KIND_CASES = [
    (
        "project",
        "pci-prod-payments",
        "POST",
        PROJECT_URL,
    ),
    (
        "folder",
        "folders/204518736091",
        "POST",
        "https://cloudresourcemanager.googleapis.com/v3/folders/204518736091:getIamPolicy",
    ),
    (
        "organization",
        "618305524870",
        "POST",
        "https://cloudresourcemanager.googleapis.com/v3/organizations/618305524870:getIamPolicy",
    ),
    (
        "bucket",
        "settlement-exports",
        "GET",
        BUCKET_URL + "?optionsRequestedPolicyVersion=3",
    ),
    (
        "secret",
        "projects/pci-prod-payments/secrets/settlement-db-readonly",
        "GET",
        "https://secretmanager.googleapis.com/v1/projects/pci-prod-payments/secrets/"
        "settlement-db-readonly:getIamPolicy?options.requestedPolicyVersion=3",
    ),
    (
        "dataset",
        "pci-prod-analytics.chargebacks",
        "GET",
        "https://bigquery.googleapis.com/bigquery/v2/projects/pci-prod-analytics/datasets/"
        "chargebacks?accessPolicyVersion=3",
    ),
    (
        "service_account",
        "batch-runner@stg-payments.iam.gserviceaccount.com",
        "POST",
        "https://iam.googleapis.com/v1/projects/-/serviceAccounts/"
        "batch-runner@stg-payments.iam.gserviceaccount.com:getIamPolicy"
        "?options.requestedPolicyVersion=3",
    ),
]


@pytest.mark.parametrize(
    ("kind", "resource", "method", "url"), KIND_CASES, ids=[c[0] for c in KIND_CASES]
)
def test_each_kind_reads_its_own_url(
    http: responses.RequestsMock, kind: str, resource: str, method: str, url: str
) -> None:
    # BigQuery answers datasets.get with the dataset, its access list in it; the others a policy.
    answer = (
        {"kind": "bigquery#dataset", "etag": "BwYbH9aE6Kc=", "access": []}
        if kind == "dataset"
        else policy("project_healthy_v3.json")
    )
    http.add(method, url.partition("?")[0], json=answer)

    got = reader().get_policy(kind, resource)

    assert got["version"] == 3
    assert len(http.calls) == 1
    assert http.calls[0].request.method == method
    assert http.calls[0].request.url == url


@pytest.mark.parametrize(
    ("kind", "resource", "method", "url"), KIND_CASES, ids=[c[0] for c in KIND_CASES]
)
def test_every_request_asks_for_policy_version_3(
    http: responses.RequestsMock, kind: str, resource: str, method: str, url: str
) -> None:
    http.add(method, url.partition("?")[0], json={"etag": "ACAB"})

    reader().get_policy(kind, resource)

    sent = http.calls[0].request
    body = json.loads(sent.body) if sent.body else None
    in_query = bool(re.search(r"(equestedPolicyVersion|accessPolicyVersion)=3", sent.url or ""))
    in_body = body == {"options": {"requestedPolicyVersion": 3}}
    assert in_query != in_body  # exactly one of the two, as each API documents
    if method == "GET" or kind == "service_account":
        assert sent.body is None  # these APIs take no request body


def test_rate_limit_then_success_is_retried(http: responses.RequestsMock) -> None:
    http.add(responses.POST, PROJECT_URL, status=429, json=policy("error_429.json"))
    serve_project(http, "project_healthy_v3.json")
    waits: list[float] = []

    got = IamPolicyReader(requests.Session(), sleep=waits.append).get_policy(
        "project", "pci-prod-payments"
    )

    assert got["etag"] == "BwYqL2xV9wQ="
    assert len(http.calls) == 2
    assert waits == [1.0]


def test_server_errors_until_the_last_attempt_end_in_service_error(
    http: responses.RequestsMock,
) -> None:
    http.add(responses.POST, PROJECT_URL, status=500, json=policy("error_500.json"))

    with pytest.raises(ServiceError) as caught:
        IamPolicyReader(requests.Session(), attempts=3, sleep=lambda _: None).get_policy(
            "project", "pci-prod-payments"
        )

    assert len(http.calls) == 3
    assert "project pci-prod-payments" in str(caught.value)
    assert "HTTP 500" in str(caught.value)
    assert caught.value.exit_code == 3


def test_permission_denied_is_not_retried(http: responses.RequestsMock) -> None:
    # Cloud Storage's JSON API answers in its own shape: `errors[]` with a `reason`, no `status`.
    http.add(responses.GET, BUCKET_URL, status=403, json=policy("storage_error_403.json"))

    with pytest.raises(
        ServiceError,
        match=r"bucket settlement-exports.*HTTP 403 .*does not have "
        r"storage\.buckets\.getIamPolicy access",
    ):
        reader().get_policy("bucket", "settlement-exports")

    assert len(http.calls) == 1


def test_resource_manager_permission_denied_is_named(http: responses.RequestsMock) -> None:
    http.add(responses.POST, PROJECT_URL, status=403, json=policy("error_403.json"))

    with pytest.raises(
        ServiceError, match=r"project pci-prod-payments.*HTTP 403 PERMISSION_DENIED"
    ):
        reader().get_policy("project", "pci-prod-payments")

    assert len(http.calls) == 1


def test_connection_errors_are_retried(http: responses.RequestsMock) -> None:
    http.add(responses.POST, PROJECT_URL, body=requests.ConnectionError("reset by peer"))
    serve_project(http, "project_healthy_v3.json")

    assert reader().get_policy("project", "pci-prod-payments")["version"] == 3
    assert len(http.calls) == 2


def test_a_body_that_is_not_a_policy_is_a_service_error(http: responses.RequestsMock) -> None:
    http.add(responses.POST, PROJECT_URL, body="<html>proxy error</html>", status=200)

    with pytest.raises(ServiceError, match="project pci-prod-payments"):
        reader().get_policy("project", "pci-prod-payments")


@pytest.mark.parametrize(
    ("kind", "given", "canonical"),
    [
        ("project", "projects/pci-prod-payments", "pci-prod-payments"),
        ("folder", "204518736091", "folders/204518736091"),
        ("organization", "organizations/618305524870", "618305524870"),
        ("bucket", "gs://settlement-exports", "settlement-exports"),
        ("dataset", "p.d", "projects/p/datasets/d"),
        (
            "service_account",
            "projects/stg-payments/serviceAccounts/runner@stg-payments.iam.gserviceaccount.com",
            "runner@stg-payments.iam.gserviceaccount.com",
        ),
    ],
)
def test_resource_names_have_one_canonical_spelling(kind: str, given: str, canonical: str) -> None:
    assert iam_api.canonical_resource(kind, given) == canonical


@pytest.mark.parametrize(
    ("kind", "resource"),
    [
        ("topic", "projects/p/topics/t"),
        ("folder", "folders/engineering"),
        ("secret", "settlement-db-readonly"),
        ("dataset", "chargebacks"),
        ("service_account", "runner"),
    ],
)
def test_names_lapse_cannot_read_are_configuration_errors(kind: str, resource: str) -> None:
    with pytest.raises(ConfigError):
        iam_api.policy_request(kind, resource)


def test_build_session_uses_application_default_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.auth
    from google.auth.credentials import AnonymousCredentials
    from google.auth.transport.requests import AuthorizedSession

    scopes_asked: list[Any] = []

    def fake_default(scopes: Any = None, **_: Any) -> tuple[Any, str]:
        scopes_asked.append(scopes)
        return AnonymousCredentials(), "pci-prod-payments"  # type: ignore[no-untyped-call]

    monkeypatch.setattr(google.auth, "default", fake_default)

    session = iam_api.build_session()

    assert isinstance(session, AuthorizedSession)
    assert scopes_asked == [["https://www.googleapis.com/auth/cloud-platform"]]


def test_build_session_without_credentials_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    def no_credentials(**_: Any) -> tuple[Any, str]:
        raise DefaultCredentialsError("no ADC")  # type: ignore[no-untyped-call]

    monkeypatch.setattr(google.auth, "default", no_credentials)

    with pytest.raises(ConfigError, match="application-default login"):
        iam_api.build_session()


# ---------------------------------------------------------------------------
# Deciding expiry with CEL.


@pytest.mark.parametrize(
    ("expression", "state"),
    [
        (ALICE_SQL.expression, "active"),
        (BOB_LOGS.expression, "active"),
        (CAROL_OLD.expression, "expired"),
        ('request.time < timestamp("2026-12-01T10:00:00Z")', "expired"),
        ('request.time <= timestamp("2026-12-01T10:00:00Z")', "active"),
        ('request.time > timestamp("2026-12-01T10:00:00Z")', "pending"),
        (
            'request.time >= timestamp("2026-12-04T08:00:00Z") && '
            'request.time < timestamp("2026-12-04T20:00:00Z")',
            "pending",
        ),
        # Same instant written with an offset: CEL compares instants, not text.
        ('request.time < timestamp("2026-12-01T11:30:00+01:00")', "active"),
        ('request.time < timestamp("2026-12-01T10:30:00+01:00")', "expired"),
        ('resource.name.startsWith("projects/_/buckets/x")', "unknown"),
        ('request.time < timestamp("not a time")', "unknown"),
        ("request.time <", "unknown"),
    ],
)
def test_window_state_is_decided_by_evaluating_the_condition(expression: str, state: str) -> None:
    assert drift.window_state(expression, NOW) == state


def test_naive_now_is_taken_as_utc() -> None:
    live = {("project", "pci-prod-payments"): policy("project_missing_v3.json")}

    aware = drift.compare(REPO, live, NOW)
    naive = drift.compare(REPO, live, NOW.replace(tzinfo=None))

    assert naive == aware
    assert [f.rule for f in naive] == ["missing"]


# ---------------------------------------------------------------------------
# Reports and incidents.


def stripped_report() -> DriftReport:
    live = {("project", "pci-prod-payments"): policy("project_stripped_v1.json")}
    findings = drift.compare(REPO, live, NOW)
    return DriftReport(findings, (("project", "pci-prod-payments"),))


def test_text_report_lists_findings_then_a_summary() -> None:
    text = drift_text.to_text(stripped_report())

    lines = text.splitlines()
    assert lines[0] == (
        "CRITICAL condition-stripped: project pci-prod-payments roles/cloudsql.client "
        "user:alice@example.com lapse/inc-4512-settlement-batch/1f3a9c2e"
    )
    assert lines[-1] == "1 IAM policy checked: 2 critical, 0 high, 0 medium, 0 info."


def test_reports_are_deterministic_whatever_the_input_order() -> None:
    live = {("project", "pci-prod-payments"): policy("project_stripped_v1.json")}
    forward = DriftReport(drift.compare(REPO, live, NOW), (("project", "pci-prod-payments"),))
    backward = DriftReport(
        drift.compare(REPO[::-1], live, NOW), (("project", "pci-prod-payments"),)
    )

    assert drift_text.to_json(forward) == drift_text.to_json(backward)
    assert drift_text.to_text(forward) == drift_text.to_text(backward)


def test_json_report_carries_findings_keys_and_summary() -> None:
    document = json.loads(drift_text.to_json(stripped_report()))

    assert document["summary"] == {"CRITICAL": 2, "HIGH": 0, "MEDIUM": 0, "INFO": 0}
    assert document["resources_checked"] == [{"kind": "project", "resource": "pci-prod-payments"}]
    first = document["findings"][0]
    assert first["rule"] == "condition-stripped"
    assert first["incident_key"].startswith("lapse-drift-")


def test_incident_key_is_stable_per_grant_not_per_wording() -> None:
    finding = stripped_report().findings[0]
    same_grant = replace(
        finding, severity="CRITICAL", rule="overridden-by-unconditional", message="other words"
    )
    other_grant = replace(finding, member="user:bob@example.com")

    assert drift_text.incident_key(finding) == drift_text.incident_key(same_grant)
    assert drift_text.incident_key(finding) != drift_text.incident_key(other_grant)
    first_stripped = stripped_report().findings[0]
    assert drift_text.incident_key(finding) == drift_text.incident_key(first_stripped)


def test_incident_body_names_requirements_and_remediation() -> None:
    finding = stripped_report().findings[0]

    body = drift_text.incident_body(finding)

    assert body.startswith(f"<!-- {drift_text.incident_key(finding)} -->")
    for requirement in ("8.2.6", "8.2.7", "7.2.5", "12.10"):
        assert requirement in body
    assert "PCI DSS v4.0.1" in body
    assert 'methodName:"SetIamPolicy"' in body
    assert "Admin Activity" in body
    assert "Re-apply Terraform" in body
    assert "`user:alice@example.com`" in body


def test_incident_title_names_member_role_and_resource() -> None:
    finding = stripped_report().findings[0]

    assert drift_text.incident_title(finding) == (
        "IAM drift (condition-stripped): user:alice@example.com roles/cloudsql.client "
        "on project pci-prod-payments"
    )


def test_findings_are_frozen() -> None:
    finding: DriftFinding = stripped_report().findings[0]

    with pytest.raises(AttributeError):
        finding.severity = "HIGH"  # type: ignore[misc]


def test_incident_body_for_a_whole_policy_finding_names_no_grant() -> None:
    live = {("project", "pci-prod-payments"): policy("project_no_conditions_v1.json")}
    whole = next(f for f in drift.compare(REPO, live, NOW) if not f.member)

    body = drift_text.incident_body(whole)

    assert "(whole policy)" in body
    assert "``" not in body
    assert "Compare the live policy of project `pci-prod-payments`" in body
    assert drift_text.incident_title(whole) == (
        "IAM drift (condition-stripped): policy of project pci-prod-payments"
    )
