"""Review attribution and severity held against one-line bugs: which events count, and how much.

Driven through `review_all`, the function `lapse review` calls with every subject and event.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from generator.core.model import Event, Severity
from generator.review.analysis import review_all

from .conftest import GRACE, at, event, request, subject

PROJECT = "projects/pci-prod-payments"
CONNECT = (("cloudsql.instances.connect", f"{PROJECT}/instances/settlement", True),)


def findings_of(events: list[Event]) -> list[tuple[Severity, str, tuple[str, ...]]]:
    reviews = review_all([subject()], events, grace=GRACE)
    return [(f.severity, f.kind, f.evidence) for f in reviews[0].findings]


def test_an_event_in_another_window_does_not_hide_later_events() -> None:
    # Input order matters to a loop that stops early: the other window's event comes first.
    first = request()
    other = request(
        id="inc-4600-follow-up", starts="2026-12-02T09:00:00", expires="2026-12-02T13:00:00"
    )
    events = [
        event(at_time="2026-12-02T10:00:00", insert_id="other-window"),
        event(insert_id="in-window"),
        event(at_time="2026-12-01T15:00:00", insert_id="after-expiry"),
    ]
    reviews = review_all([subject(first), subject(other)], events, grace=GRACE)

    assert [e.insert_id for e in reviews[0].events_in_window] == ["in-window"]
    assert "after-expiry" in [e.insert_id for e in reviews[0].events_after]
    critical = [f for f in reviews[0].findings if f.kind == "binding-not-expired"]
    assert critical and "after-expiry" in critical[0].evidence


def test_an_event_before_the_start_does_not_hide_later_events() -> None:
    events = [
        event(at_time="2026-12-01T08:00:00", insert_id="early"),
        event(at_time="2026-12-01T15:00:00", insert_id="after-expiry"),
    ]
    assert findings_of(events) == [
        (Severity.CRITICAL, "binding-not-expired", ("after-expiry",)),
        (Severity.INFO, "no-activity", ()),
    ]


def test_another_persons_event_does_not_hide_later_events() -> None:
    events = [
        event(principal="mallory@example.com", insert_id="m"),
        event(at_time="2026-12-01T15:00:00", insert_id="after-expiry"),
    ]
    assert findings_of(events) == [
        (Severity.CRITICAL, "binding-not-expired", ("after-expiry",)),
        (Severity.INFO, "no-activity", ()),
    ]


@pytest.mark.parametrize(
    "method",
    [
        "SetIamPolicy",
        "google.iam.admin.v1.SetIAMPolicy",
        "google.iam.v1.IAMPolicy.SetIamPolicy",
        "storage.setIamPermissions",
        "google.iam.admin.v1.CreateServiceAccountKey",
        "google.iam.admin.v1.UploadServiceAccountKey",
    ],
)
def test_every_spelling_of_a_policy_change_or_key_is_critical(method: str) -> None:
    change = event(
        method=method,
        service="iam.googleapis.com",
        resource="projects/-/serviceAccounts/batch-runner@stg-payments.iam.gserviceaccount.com",
        permissions=(("iam.serviceAccounts.setIamPolicy", "", True),),
        insert_id="change",
    )
    assert findings_of([change])[0] == (Severity.CRITICAL, "persistence", ("change",))


def test_getiampolicy_is_not_a_policy_change() -> None:
    read = event(
        method="GetIamPolicy",
        resource=PROJECT,
        permissions=(("resourcemanager.projects.getIamPolicy", PROJECT, True),),
        insert_id="read",
    )
    assert all(kind != "persistence" for _, kind, _ in findings_of([read]))


@pytest.mark.parametrize("status", [3, 9, 13])
def test_a_failed_policy_change_that_was_not_denied_is_not_persistence(status: int) -> None:
    failed = event(
        method="SetIamPolicy",
        resource=PROJECT,
        permissions=(("resourcemanager.projects.setIamPolicy", PROJECT, True),),
        status=status,
        insert_id="failed",
    )
    found = findings_of([failed])
    assert all(kind != "persistence" for _, kind, _ in found)
    # It still used a permission the role does not hold: an approver should see that.
    assert (Severity.HIGH, "unexplained", ("failed",)) in found


def test_a_status_7_denial_without_authorization_info_is_reported() -> None:
    denied = event(resource=f"{PROJECT}/instances/x", permissions=(), status=7, insert_id="d")
    assert findings_of([denied]) == [(Severity.MEDIUM, "denied", ("d",))]


def test_an_entry_without_authorization_info_outside_the_grant_is_unexplained() -> None:
    outside = event(resource="projects/pci-prod-analytics", permissions=(), insert_id="outside")
    assert findings_of([outside]) == [(Severity.HIGH, "unexplained", ("outside",))]


def test_an_entry_without_authorization_info_after_the_grace_period_is_reported() -> None:
    late = event(
        at_time="2026-12-01T15:00:00",
        resource=f"{PROJECT}/instances/settlement",
        permissions=(),
        insert_id="late",
    )
    found = findings_of([event(), late])
    assert any(f[0] in (Severity.CRITICAL, Severity.HIGH) and "late" in f[2] for f in found)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-12-01T12:59:59.999999", []),  # the last instant of the window
        ("2026-12-01T13:00:00", []),  # the expiry instant starts the grace period
        ("2026-12-01T13:09:59.999999", []),  # the last instant of grace
        ("2026-12-01T13:10:00", [(Severity.CRITICAL, "binding-not-expired", ("edge",))]),
    ],
)
def test_the_grace_period_is_half_open(
    moment: str, expected: list[tuple[Severity, str, tuple[str, ...]]]
) -> None:
    assert timedelta(minutes=10) == GRACE
    edge = event(at_time=moment, permissions=CONNECT, insert_id="edge")
    found = findings_of([event(insert_id="in-window"), edge])
    assert found == expected


def test_use_outside_the_grant_during_grace_is_high() -> None:
    outside = event(
        at_time="2026-12-01T13:00:00", resource="projects/pci-prod-analytics", insert_id="g"
    )
    assert (Severity.HIGH, "unexplained", ("g",)) in findings_of([event(), outside])


def test_an_event_at_the_expiry_instant_is_not_activity_in_the_window() -> None:
    edge = event(at_time="2026-12-01T13:00:00", permissions=CONNECT, insert_id="edge")
    assert findings_of([edge]) == [(Severity.INFO, "no-activity", ())]
    assert at("2026-12-01T13:00:00") == request().window.expires


def test_messages_name_the_permission_the_resource_and_what_happened() -> None:
    late = event(at_time="2026-12-01T15:00:00", permissions=CONNECT, insert_id="late")
    denied = event(
        permissions=(("secretmanager.versions.access", "projects/p/secrets/s", False),),
        status=7,
        insert_id="denied",
    )
    outside = event(resource="projects/pci-prod-analytics", permissions=(), insert_id="out")
    bare = event(resource="", permissions=(), method="", service="", insert_id="bare")
    checked = event(resource="projects/pci-prod-analytics/datasets/x", insert_id="checked")
    events = [event(), late, denied, outside, bare, checked]
    reviews = review_all([subject()], events, grace=GRACE)
    messages = {f.kind + ":" + ",".join(f.evidence): f.message for f in reviews[0].findings}
    assert messages["binding-not-expired:late"] == (
        f"cloudsql.instances.connect on {PROJECT}/instances/settlement succeeded after the grant"
        " expired (and its grace period): the binding did not expire"
    )
    assert messages["denied:denied"] == (
        "secretmanager.versions.access on projects/p/secrets/s denied"
    )
    assert messages["unexplained:out"] == (
        "storage.objects.get on projects/pci-prod-analytics is not explained by this grant:"
        " resource outside the granted resources"
    )
    assert messages["unexplained:checked"] == (
        "storage.objects.get on projects/pci-prod-analytics/datasets/x is not explained by this"
        " grant: resource outside the granted resources"
    )
    assert messages["unexplained:bare"] == (
        "an action on ? is not explained by this grant: the entry names no resource and no"
        " permission"
    )


def test_a_persistence_message_names_the_resource() -> None:
    change = event(
        method="SetIamPolicy",
        resource=PROJECT,
        permissions=(("resourcemanager.projects.setIamPolicy", PROJECT, True),),
        deltas=(("ADD", "user:alice@example.com", "roles/owner"),),
        insert_id="c",
    )
    (finding, *_) = review_all([subject()], [change], grace=GRACE)[0].findings
    assert finding.message == (
        f"SetIamPolicy on {PROJECT} (ADD user:alice@example.com roles/owner): a policy change"
        " can outlive the window"
    )


def test_action_counts_count_denied_attempts() -> None:
    denied = event(
        permissions=(
            ("storage.objects.get", "projects/_/buckets/settlement-exports/objects/a.csv", False),
        ),
        status=7,
        insert_id="d",
    )
    (action,) = review_all([subject()], [event(), denied], grace=GRACE)[0].actions
    assert (action.count, action.denied) == (2, 1)


@pytest.mark.parametrize(
    ("status", "granted"),
    [(7, True), (0, False)],
    ids=["refused-without-a-denied-permission", "a-denied-permission-of-a-call-that-ran"],
)
def test_either_sign_of_a_denial_counts_it(status: int, granted: bool) -> None:
    # Entries without authorizationInfo still carry status 7; a partly refused call, code 0.
    resource = "projects/_/buckets/settlement-exports/objects/a.csv"
    denied = event(permissions=(("storage.objects.get", resource, granted),), status=status)
    (action,) = review_all([subject()], [denied], grace=GRACE)[0].actions
    assert (action.count, action.denied) == (1, 1)


def test_acting_as_a_service_account_makes_its_activity_the_persons() -> None:
    account = "batch@pci-prod-payments.iam.gserviceaccount.com"
    name = f"projects/pci-prod-payments/serviceAccounts/{account}"
    act_as = event(
        method="compute.instances.setServiceAccount",
        service="compute.googleapis.com",
        resource="projects/pci-prod-payments/zones/europe-west3-a/instances/vm-1",
        permissions=(("iam.serviceAccounts.actAs", name, True),),
        insert_id="act-as",
    )
    used = event(at_time="2026-12-01T09:45:00", principal=account, insert_id="used")
    review = review_all([subject()], [act_as, used], grace=GRACE)[0]
    delegated = [f for f in review.findings if f.kind == "delegation"]
    assert [(f.evidence, f.message) for f in delegated] == [
        (("used",), f"acted through alice@example.com -> {account}")
    ]


def test_a_snapshot_of_an_unnamed_resource_says_so() -> None:
    snapshot = event(method="v1.compute.disks.createSnapshot", resource="", permissions=())
    found = [f for f in review_all([subject()], [snapshot], grace=GRACE)[0].findings]
    assert any(
        f.message.startswith("v1.compute.disks.createSnapshot on ? copies data") for f in found
    ), [f.message for f in found]
