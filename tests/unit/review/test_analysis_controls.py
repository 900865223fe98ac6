"""Review attribution and severity held against one-line bugs: which events count, and how much.

Driven through `review_all`, the function `lapse review` calls with every subject and event.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from msgspec.structs import replace

from generator.core.audit_event import Event
from generator.core.model import Grant, Severity
from generator.review.analysis import review_all
from generator.review.copies import UNKNOWN

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


def test_a_persistence_message_without_a_resource_or_a_delta_says_so() -> None:
    change = event(method="SetIamPolicy", resource="", insert_id="c")
    (finding, *_) = review_all([subject()], [change], grace=GRACE)[0].findings
    assert finding.message == (
        "SetIamPolicy on ? (no delta recorded): a policy change can outlive the window"
    )


def test_a_persistence_message_lists_every_delta() -> None:
    change = event(
        method="SetIamPolicy",
        resource=PROJECT,
        permissions=(("resourcemanager.projects.setIamPolicy", PROJECT, True),),
        deltas=(
            ("ADD", "user:alice@example.com", "roles/owner"),
            ("REMOVE", "user:bob@example.com", "roles/viewer"),
        ),
        insert_id="c",
    )
    (finding, *_) = review_all([subject()], [change], grace=GRACE)[0].findings
    assert finding.message == (
        f"SetIamPolicy on {PROJECT} (ADD user:alice@example.com roles/owner, REMOVE"
        " user:bob@example.com roles/viewer): a policy change can outlive the window"
    )


ACCOUNT = "batch@pci-prod-payments.iam.gserviceaccount.com"


@pytest.mark.parametrize(
    ("destination", "copied_out"),
    [
        ("gs://home-backup/db.sql", True),
        # A path inside a foreign bucket spelling a granted resource is still a foreign bucket.
        (f"gs://home-backup/serviceAccounts/{ACCOUNT}/db.sql", True),
        (f"gs://home-backup/projects/_/buckets/settlement-exports/{ACCOUNT}", True),
        # A bare bucket name (a rewrite's destinationBucket) is a bucket, not a name in the
        # project whose log holds the entry.
        ("home-backup", True),
        ("gs://settlement-exports/2026/12/db.sql", False),
        ("gs://settlement-exports", False),
        ("settlement-exports", False),
    ],
)
def test_a_copy_is_judged_by_the_bucket_it_lands_in(destination: str, copied_out: bool) -> None:
    grants = (
        Grant("roles/cloudsql.client", "project", "pci-prod-payments"),
        Grant("roles/storage.objectViewer", "bucket", "settlement-exports"),
        Grant("roles/iam.serviceAccountUser", "service_account", ACCOUNT),
    )
    lock = {
        "roles/cloudsql.client": frozenset({"cloudsql.instances.export"}),
        "roles/storage.objectViewer": frozenset({"storage.objects.get"}),
        "roles/iam.serviceAccountUser": frozenset({"iam.serviceAccounts.actAs"}),
    }
    export = replace(
        event(
            method="cloudsql.instances.export",
            service="cloudsql.googleapis.com",
            resource=f"{PROJECT}/instances/settlement",
            insert_id="export",
        ),
        copied_to=destination,
    )
    review = review_all(
        [subject(request(grants=grants), permissions_by_role=lock)], [export], grace=GRACE
    )[0]
    expected = [
        (
            f"cloudsql.instances.export copied data from {PROJECT}/instances/settlement to"
            f" {destination}, outside the granted resources: a copy out of the environment,"
            " whatever the role allows"
        )
    ]
    assert [f.message for f in review.findings] == (expected if copied_out else [])


@pytest.mark.parametrize(
    ("table", "copied_out"),
    [
        ("projects/home/datasets/scratch/tables/t", True),
        ("projects/pci-prod-analytics/datasets/chargebacks/tables/t2", False),
    ],
)
def test_a_table_copy_is_judged_by_the_table_it_lands_in(table: str, copied_out: bool) -> None:
    dataset = Grant("roles/bigquery.dataViewer", "dataset", "pci-prod-analytics.chargebacks")
    source = "projects/pci-prod-analytics/datasets/chargebacks/tables/t"
    copy = replace(
        event(
            method="google.cloud.bigquery.v2.JobService.InsertJob",
            service="bigquery.googleapis.com",
            resource=source,
            permissions=(("bigquery.tables.getData", source, True),),
            log_name="projects/pci-prod-analytics/logs/cloudaudit.googleapis.com%2Fdata_access",
            insert_id="copy",
        ),
        copied_to=table,
    )
    review = review_all([subject(request(grants=(dataset,)))], [copy], grace=GRACE)[0]
    copies = [f.message for f in review.findings if f.kind == "exfiltration"]
    assert copies == (
        [
            f"google.cloud.bigquery.v2.JobService.InsertJob copied data from {source} to {table},"
            " outside the granted resources: a copy out of the environment, whatever the role"
            " allows"
        ]
        if copied_out
        else []
    )


COMPUTE = (Grant("roles/compute.instanceAdmin.v1", "project", "pci-prod-payments"),)
VM = f"{PROJECT}/zones/europe-west3-a/instances/vm-1"


@pytest.mark.parametrize(("verb", "permission"), [("insert", "create"), ("patch", "update")])
def test_a_rest_verb_maps_to_the_permission_it_needs(verb: str, permission: str) -> None:
    # Without authorizationInfo the method names the permission; REST says insert and patch.
    call = event(
        method=f"v1.compute.instances.{verb}",
        service="compute.googleapis.com",
        resource=VM,
        permissions=(),
        insert_id="call",
    )
    held = subject(
        request(grants=COMPUTE),
        permissions_by_role={
            "roles/compute.instanceAdmin.v1": frozenset({f"compute.instances.{permission}"})
        },
    )
    assert review_all([held], [call], grace=GRACE)[0].findings == ()
    without = subject(
        request(grants=COMPUTE),
        permissions_by_role={"roles/compute.instanceAdmin.v1": frozenset()},
    )
    (finding,) = review_all([without], [call], grace=GRACE)[0].findings
    assert finding.message == (
        f"compute.instances.{permission} on {VM} is not explained by this grant: permission"
        " not in roles/compute.instanceAdmin.v1"
    )


def test_a_method_named_after_another_service_maps_to_no_permission() -> None:
    # `compute.instances.start` logged by another service is not that permission's use.
    call = event(
        method="compute.instances.start",
        service="osconfig.googleapis.com",
        resource=VM,
        permissions=(),
        insert_id="call",
    )
    held = subject(
        request(grants=COMPUTE),
        permissions_by_role={"roles/compute.instanceAdmin.v1": frozenset()},
    )
    (finding,) = review_all([held], [call], grace=GRACE)[0].findings
    assert (finding.severity, finding.kind, finding.message) == (
        Severity.MEDIUM,
        "unverifiable",
        f"compute.instances.start on {VM}: the entry names no permission and its method maps"
        " to none, so this grant cannot be shown to allow it",
    )


def test_a_name_relative_to_the_logs_project_is_read_in_that_project() -> None:
    # Cloud SQL names instances relative to the project whose log holds the entry.
    call = event(
        method="google.cloud.sql.v1.SqlInstancesService.Get",
        service="cloudsql.googleapis.com",
        resource="instances/settlement",
        permissions=(),
        insert_id="call",
    )
    (finding,) = review_all([subject()], [call], grace=GRACE)[0].findings
    assert (finding.kind, finding.message) == (
        "unverifiable",
        "google.cloud.sql.v1.SqlInstancesService.Get on instances/settlement: the entry names no"
        " permission and its method maps to none, so this grant cannot be shown to allow it",
    )
    elsewhere = replace(call, log_name="projects/home/logs/cloudaudit.googleapis.com%2Fdata_access")
    (finding,) = review_all([subject()], [elsewhere], grace=GRACE)[0].findings
    assert (finding.kind, finding.message) == (
        "unexplained",
        "google.cloud.sql.v1.SqlInstancesService.Get on instances/settlement is not explained by"
        " this grant: resource outside the granted resources",
    )


def test_a_copy_to_a_destination_the_entry_does_not_show_names_what_it_knows() -> None:
    unnamed = replace(
        event(method="", service="", resource="", permissions=(), insert_id="copy"),
        copied_to=UNKNOWN,
    )
    messages = [f.message for f in review_all([subject()], [unnamed], grace=GRACE)[0].findings]
    assert messages[0] == (
        "a copy on ? copied data to a destination the entry does not show: possibly out of the"
        " environment"
    )


def test_a_copy_out_of_an_unnamed_resource_says_so() -> None:
    export = replace(
        event(method="cloudsql.instances.export", resource="", permissions=(), insert_id="x"),
        copied_to="gs://home-backup/db.sql",
    )
    messages = [f.message for f in review_all([subject()], [export], grace=GRACE)[0].findings]
    assert messages[0] == (
        "cloudsql.instances.export copied data from ? to gs://home-backup/db.sql, outside the"
        " granted resources: a copy out of the environment, whatever the role allows"
    )


def test_a_failed_copy_is_not_a_copy_out() -> None:
    export = replace(
        event(
            method="cloudsql.instances.export",
            service="cloudsql.googleapis.com",
            resource=f"{PROJECT}/instances/settlement",
            status=13,
            insert_id="x",
        ),
        copied_to="gs://home-backup/db.sql",
    )
    assert all(kind != "exfiltration" for _, kind, _ in findings_of([export]))


def test_a_denial_without_authorization_info_names_the_method_and_the_resource() -> None:
    named = event(resource=f"{PROJECT}/instances/x", permissions=(), status=7, insert_id="d")
    unnamed = event(resource="", permissions=(), status=7, insert_id="u")
    messages = [
        f.message for f in review_all([subject()], [named, unnamed], grace=GRACE)[0].findings
    ]
    assert messages[:2] == [
        "storage.objects.get on ? denied",
        f"storage.objects.get on {PROJECT}/instances/x denied",
    ]


def test_an_unmapped_method_used_after_the_grace_period_is_named() -> None:
    late = event(
        at_time="2026-12-01T15:00:00",
        method="google.cloud.sql.v1.SqlInstancesService.Get",
        service="cloudsql.googleapis.com",
        resource=f"{PROJECT}/instances/settlement",
        permissions=(),
        insert_id="late",
    )
    (finding, *_) = review_all([subject()], [late], grace=GRACE)[0].findings
    assert finding.message == (
        f"google.cloud.sql.v1.SqlInstancesService.Get on {PROJECT}/instances/settlement succeeded"
        " after the grant expired (and its grace period): the binding did not expire"
    )


def test_every_role_granted_elsewhere_is_named() -> None:
    grants = (
        Grant("roles/cloudsql.client", "project", "pci-prod-payments"),
        Grant("roles/bigquery.dataViewer", "dataset", "pci-prod-analytics.chargebacks"),
        Grant("roles/secretmanager.viewer", "secret", "projects/pci-prod-analytics/secrets/s"),
    )
    use = event(
        resource=f"{PROJECT}/instances/settlement",
        permissions=(("cloudsql.instances.export", f"{PROJECT}/instances/settlement", True),),
    )
    (finding, *_) = review_all([subject(request(grants=grants))], [use], grace=GRACE)[0].findings
    assert finding.message.endswith(
        ": permission not in roles/cloudsql.client; roles/bigquery.dataViewer,"
        " roles/secretmanager.viewer not granted on it"
    )


def test_a_role_missing_from_the_lock_is_named_with_the_fix() -> None:
    (finding, *_) = review_all(
        [subject(permissions_by_role={"roles/storage.objectViewer": frozenset()})],
        [event()],
        grace=GRACE,
    )[0].findings
    assert finding.message == (
        "roles/cloudsql.client is not in the roles lock: its permissions were not checked"
        " (run `lapse roles sync`)"
    )


OTHER = request(
    id="inc-4600-follow-up",
    starts="2026-12-01T11:00:00",
    expires="2026-12-01T12:00:00",
    grants=(Grant("roles/bigquery.dataViewer", "dataset", "pci-prod-analytics.chargebacks"),),
)
TABLE = "projects/pci-prod-analytics/datasets/chargebacks/tables/t"


@pytest.mark.parametrize(
    ("moment", "overlap", "explained"),
    [
        ("2026-12-01T10:59:59.999999", False, False),
        ("2026-12-01T11:00:00", True, True),  # the other window's first instant
        ("2026-12-01T11:59:59.999999", True, True),
        ("2026-12-01T12:00:00", False, True),  # its expiry: in its grace period
        ("2026-12-01T12:09:59.999999", False, True),
        ("2026-12-01T12:10:00", False, False),  # the end of its grace period
    ],
)
def test_another_grant_covers_and_explains_on_half_open_bounds(
    moment: str, overlap: bool, explained: bool
) -> None:
    read = event(
        at_time=moment,
        service="bigquery.googleapis.com",
        method="google.cloud.bigquery.v2.TableDataService.List",
        resource=TABLE,
        permissions=(("bigquery.tables.getData", TABLE, True),),
        insert_id="read",
    )
    undated = request(id="inc-4599-undated", starts=None, expires="2026-12-01T18:00:00")
    first, *_ = review_all([subject(), subject(undated), subject(OTHER)], [read], grace=GRACE)
    kinds = {f.kind for f in first.findings}
    assert ("overlap" in kinds) == overlap
    assert ("explained-by-other-grant" in kinds) == explained
    assert ("unexplained" in kinds) == (not explained)
