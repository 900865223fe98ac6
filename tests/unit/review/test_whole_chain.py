"""An action is the person's wherever they appear in it; an action whose permission cannot be
told is a finding of its own; a HIGH finding names every role checked; one event counts once."""

from __future__ import annotations

from msgspec.structs import replace

from generator.core.audit_event import Event
from generator.core.model import Grant, Severity
from generator.review.analysis import review_all

from .conftest import GRACE, event, request, subject

FIRST_PARTY = "app-engine-appserver@prod.google.com"
RELAY = "relay@pci-prod-payments.iam.gserviceaccount.com"
INSTANCE = "instances/settlement"
SQL_LOG = "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Factivity"


def connect(when: str, permission: str = "cloudsql.instances.connect", **fields: object) -> Event:
    return replace(
        event(
            at_time=when,
            method="cloudsql.instances.connect",
            service="cloudsql.googleapis.com",
            resource=INSTANCE,
            permissions=((permission, INSTANCE, True),),
            log_name=SQL_LOG,
        ),
        **fields,  # type: ignore[arg-type]
    )


def kinds(events: list[Event]) -> set[tuple[Severity, str]]:
    (result,) = review_all([subject()], events, grace=GRACE)
    return {(f.severity, f.kind) for f in result.findings}


def test_the_caller_behind_a_google_first_party_is_reviewed() -> None:
    # events.actor reads such an entry as the first party's, the person last in the chain.
    late = connect("2026-12-01T13:40:00", principal=FIRST_PARTY, chain=("alice@example.com",))
    wrong = connect(
        "2026-12-01T10:00:00",
        "cloudsql.instances.login",
        principal=FIRST_PARTY,
        chain=("alice@example.com",),
        insert_id="login",
    )
    found = kinds([late, wrong])
    assert (Severity.CRITICAL, "binding-not-expired") in found
    assert (Severity.HIGH, "unexplained") in found


def test_a_person_in_the_middle_of_a_chain_is_reviewed_through_what_follows() -> None:
    used = connect(
        "2026-12-01T10:00:00",
        "cloudsql.instances.login",
        principal=FIRST_PARTY,
        chain=("alice@example.com", RELAY),
    )
    (result,) = review_all([subject()], [used], grace=GRACE)
    messages = {f.kind: f.message for f in result.findings}
    assert "unexplained" in messages
    assert messages["delegation"] == f"acted through alice@example.com -> {RELAY}"


def test_an_action_whose_permission_cannot_be_told_is_unverifiable() -> None:
    unknown = event(
        method="google.container.v1.ClusterManager.SetLabels",
        service="container.googleapis.com",
        resource="projects/pci-prod-payments/zones/us-central1-c/clusters/c",
        permissions=(),
    )
    (result,) = review_all([subject()], [unknown], grace=GRACE)
    (finding,) = [f for f in result.findings if f.kind == "unverifiable"]
    assert finding.severity is Severity.MEDIUM
    assert finding.message.startswith("google.container.v1.ClusterManager.SetLabels on ")
    # After the grant (and grace) it is use of a binding that should be gone, as any other.
    after = replace(unknown, timestamp=unknown.timestamp.replace(hour=14), insert_id="late")
    assert (Severity.CRITICAL, "binding-not-expired") in kinds([after])


def test_a_high_finding_names_every_role_of_the_grant() -> None:
    grants = (
        Grant("roles/cloudsql.client", "project", "pci-prod-payments"),
        Grant("roles/storage.objectViewer", "bucket", "settlement-exports"),
        Grant("roles/iam.serviceAccountViewer", "project", "pci-prod-payments"),
    )
    used = connect("2026-12-01T10:00:00", "cloudsql.instances.login")
    (result,) = review_all([subject(request(grants=grants))], [used], grace=GRACE)
    (finding,) = [f for f in result.findings if f.kind == "unexplained"]
    assert finding.message.endswith(
        "permission not in roles/cloudsql.client, roles/iam.serviceAccountViewer;"
        " roles/storage.objectViewer not granted on it"
    )


def test_a_copy_out_is_one_finding_not_two() -> None:
    export = replace(
        connect("2026-12-01T10:00:00", "cloudsql.instances.export"),
        method="cloudsql.instances.export",
        copied_to="gs://home-backup/db.sql",
    )
    (result,) = review_all([subject()], [export], grace=GRACE)
    deviations = [f for f in result.findings if f.severity is not Severity.INFO]
    assert [(f.severity, f.kind) for f in deviations] == [(Severity.HIGH, "exfiltration")]
    # After expiry the use of a binding that should be gone is named as well.
    late = replace(export, timestamp=export.timestamp.replace(hour=14), insert_id="late")
    found = kinds([late])
    assert (Severity.HIGH, "exfiltration") in found


def test_two_reviewed_people_in_one_chain_each_get_the_event() -> None:
    bob = subject(request(id="inc-4530-other", requester="bob@example.com"))
    used = connect(
        "2026-12-01T10:00:00",
        "cloudsql.instances.login",
        principal="alice@example.com",
        chain=("bob@example.com",),
    )
    reviews = review_all([subject(), bob], [used], grace=GRACE)
    assert [r.count_in_window for r in reviews] == [1, 1]
