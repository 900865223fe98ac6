"""The review's classification: one test per outcome an approver would act on."""

from __future__ import annotations

from datetime import timedelta

from msgspec.structs import replace

from generator.core.audit_event import Login
from generator.core.model import Finding, Grant, Severity
from generator.review.analysis import (
    NO_ACTIVITY,
    action_counts,
    collect,
    fetch_window,
    link_windows,
    review,
    review_all,
    review_collected,
)
from generator.review.copies import copy_destination
from generator.review.events import LOGIN_SERVICE

from .conftest import GRACE, at, event, fixture_event, request, roles_lock, subject


def kinds(findings: tuple[Finding, ...]) -> list[tuple[Severity, str]]:
    return [(f.severity, f.kind) for f in findings]


def test_in_scope_activity_has_no_finding() -> None:
    events = [
        fixture_event("storage_objects_get"),
        fixture_event("cloudsql_connect"),
        fixture_event("no_resource_name"),
    ]
    result = review(subject(), events, grace=GRACE)
    assert result.findings == ()
    assert len(result.events_in_window) == 3
    assert result.complete


def test_critical_when_used_after_expiry() -> None:
    late = event(at_time="2026-12-01T15:00:00", insert_id="late-1")
    result = review(subject(), [event(), late], grace=GRACE)
    assert kinds(result.findings) == [(Severity.CRITICAL, "binding-not-expired")]
    assert result.findings[0].evidence == ("late-1",)
    assert result.events_after == (late,)


def test_use_within_the_grace_period_is_not_a_deviation() -> None:
    within_grace = event(at_time="2026-12-01T13:05:00", insert_id="grace-1")
    result = review(subject(), [event(), within_grace], grace=GRACE)
    assert result.findings == ()


def test_critical_persistence_via_set_iam_policy() -> None:
    result = review(subject(), [fixture_event("set_iam_policy")], grace=GRACE)
    assert (Severity.CRITICAL, "persistence") in kinds(result.findings)
    finding = next(f for f in result.findings if f.kind == "persistence")
    assert "ADD user:alice@example.com roles/cloudsql.admin" in finding.message
    assert finding.evidence == ("1x3fvq5e4o1m",)


def test_critical_persistence_via_dataset_policy_change() -> None:
    carol = request(
        id="inc-4533-chargeback-query",
        requester="carol@example.com",
        starts="2026-12-03T14:00:00",
        expires="2026-12-03T17:00:00",
        grants=(Grant("roles/bigquery.dataViewer", "dataset", "pci-prod-analytics.chargebacks"),),
    )
    result = review(subject(carol), [fixture_event("bigquery_dataset_change")], grace=GRACE)
    assert (Severity.CRITICAL, "persistence") in kinds(result.findings)


def test_critical_persistence_via_service_account_key() -> None:
    erin = request(
        id="chg-1210-batch-runner",
        requester="erin@example.com",
        starts=None,
        expires="2026-12-05T18:00:00",
        grants=(
            Grant(
                "roles/iam.serviceAccountViewer",
                "service_account",
                "batch-runner@stg-payments.iam.gserviceaccount.com",
            ),
        ),
        target="staging",
    )
    merged = at("2026-12-05T08:00:00")
    result = review(
        subject(erin, merged_at=merged), [fixture_event("create_service_account_key")], grace=GRACE
    )
    assert kinds(result.findings) == [(Severity.CRITICAL, "persistence")]
    assert result.findings[0].evidence == ("ub2sxe1c8kq",)
    assert result.window_start == merged


def test_high_when_resource_is_outside_the_grant() -> None:
    other_bucket = event(
        resource="projects/_/buckets/chargeback-evidence/objects/case-77.pdf", insert_id="other-1"
    )
    result = review(subject(), [event(), other_bucket], grace=GRACE)
    assert kinds(result.findings) == [(Severity.HIGH, "unexplained")]
    assert "resource outside the granted resources" in result.findings[0].message
    assert result.findings[0].evidence == ("other-1",)


def test_high_when_permission_is_outside_the_role() -> None:
    result = review(subject(), [fixture_event("console_write_no_request_metadata")], grace=GRACE)
    assert kinds(result.findings) == [(Severity.HIGH, "unexplained")]
    assert "permission not in roles/cloudsql.client" in result.findings[0].message


def test_high_for_an_entry_that_names_nothing_checkable() -> None:
    bare = event(resource="", permissions=(), method="jobservice.jobcompleted", insert_id="bare")
    result = review(subject(), [bare], grace=GRACE)
    assert kinds(result.findings) == [(Severity.HIGH, "unexplained")]


def test_medium_for_denied_attempts() -> None:
    bob = request(
        id="inc-4530-secret-metadata",
        requester="bob@example.com",
        starts="2026-12-02T06:30:00",
        expires="2026-12-02T08:30:00",
        grants=(
            Grant(
                "roles/secretmanager.viewer",
                "secret",
                "projects/pci-prod-payments/secrets/settlement-db-readonly",
            ),
        ),
    )
    result = review(subject(bob), [fixture_event("denied_secret_access")], grace=GRACE)
    assert kinds(result.findings) == [(Severity.MEDIUM, "denied")]
    assert result.findings[0].evidence == ("f3xq9ad5m2r",)


def test_info_when_nothing_happened_in_the_window() -> None:
    result = review(subject(), [], grace=GRACE)
    assert result.findings == (Finding(Severity.INFO, "no-activity", NO_ACTIVITY),)


def test_findings_are_grouped_with_all_their_evidence() -> None:
    late = [event(at_time=f"2026-12-01T15:0{i}:00", insert_id=f"late-{i}") for i in range(3)]
    result = review(subject(), [event(), *late], grace=GRACE)
    assert len(result.findings) == 1
    assert result.findings[0].evidence == ("late-0", "late-1", "late-2")


def test_other_principals_and_earlier_events_are_ignored() -> None:
    result = review(
        subject(),
        [
            event(principal="mallory@example.com", insert_id="m"),
            event(at_time="2026-12-01T08:00:00", insert_id="early"),
            event(principal="Alice@Example.com", insert_id="mine"),
        ],
        grace=GRACE,
    )
    assert [e.insert_id for e in result.events_in_window] == ["mine"]


def test_a_window_dated_by_its_binding_counts_from_the_binding_on() -> None:
    # Nothing dates the window until the whole log is read: the use before the binding
    # appeared is not this grant's, however the tally held the window while it was read.
    added = ("ADD", "user:alice@example.com", "roles/cloudsql.client")
    binding = event(
        at_time="2026-12-01T09:00:00",
        principal="terraform@pci-prod-payments.iam.gserviceaccount.com",
        method="SetIamPolicy",
        permissions=(),
        deltas=(added,),
        insert_id="bind",
    )
    binding = replace(binding, delta_conditions=("lapse/inc-4512-settlement-batch/0",))
    early = event(at_time="2026-12-01T08:30:00", insert_id="early")
    late = event(at_time="2026-12-01T09:30:00", insert_id="late")

    (found,) = review_all([subject(request(starts=None))], [early, binding, late], grace=GRACE)

    assert found.window_start == at("2026-12-01T09:00:00")
    assert (found.count_in_window, found.first_event_at) == (1, late.timestamp)
    assert [e.insert_id for e in found.events_in_window] == ["late"]


def test_a_later_window_of_the_same_person_counts_in_both_and_is_named() -> None:
    first = request()
    second = request(
        id="inc-4600-follow-up", starts="2026-12-01T16:00:00", expires="2026-12-01T18:00:00"
    )
    in_second = event(at_time="2026-12-01T16:30:00", insert_id="second-window")
    reviews = review_all([subject(first), subject(second)], [event(), in_second], grace=GRACE)
    # After the first window the read would be CRITICAL there, but the second grant explains it.
    first_kinds = {(f.severity, f.kind, f.evidence) for f in reviews[0].findings}
    assert first_kinds == {
        (Severity.INFO, "explained-by-other-grant", ("second-window",)),
        (Severity.INFO, "overlap", ("second-window",)),
    }
    assert [e.insert_id for e in reviews[1].events_in_window] == ["second-window"]


def test_link_windows_and_fetch_window() -> None:
    subjects = link_windows(
        [
            subject(request()),
            subject(
                request(
                    id="inc-4600-x", starts="2026-12-02T09:00:00", expires="2026-12-02T10:00:00"
                )
            ),
        ]
    )
    assert subjects[0].other_windows == (
        (at("2026-12-02T09:00:00"), at("2026-12-02T10:00:00"), "inc-4600-x"),
    )
    principals, start, end = fetch_window(subjects, until=at("2026-12-03T00:00:00"))
    assert principals == frozenset({"alice@example.com"})
    assert (start, end) == (at("2026-12-01T09:00:00"), at("2026-12-03T00:00:00"))


def test_unknown_start_reads_back_the_longest_duration() -> None:
    no_start = subject(request(starts=None))
    _, start, _ = fetch_window(
        [no_start], until=at("2026-12-02T00:00:00"), longest=timedelta(hours=4)
    )
    assert start == at("2026-12-01T09:00:00")


def test_role_missing_from_the_lock_is_reported_once() -> None:
    result = review(
        subject(
            permissions_by_role={"roles/storage.objectViewer": frozenset({"storage.objects.get"})}
        ),
        [event(), fixture_event("cloudsql_connect")],
        grace=GRACE,
    )
    assert kinds(result.findings) == [(Severity.INFO, "unchecked-role")]


def test_action_counts_group_by_service_method_resource() -> None:
    counts = action_counts(
        [
            event(insert_id="a"),
            event(insert_id="b"),
            event(method="storage.objects.list", insert_id="c"),
        ]
    )
    assert [(a.method, a.count) for a in counts] == [
        ("storage.objects.get", 2),
        ("storage.objects.list", 1),
    ]


def test_sources_gaps_make_the_review_incomplete() -> None:
    result = review(subject(), [event()], grace=GRACE, gaps=["projects/p: 503 after 5 tries"])
    assert not result.complete
    assert result.gaps == ("projects/p: 503 after 5 tries",)


def test_critical_persistence_via_bucket_policy_change() -> None:
    change = event(
        method="storage.setIamPermissions",
        resource="projects/_/buckets/settlement-exports",
        permissions=(
            ("storage.buckets.setIamPolicy", "projects/_/buckets/settlement-exports", True),
        ),
        deltas=(("ADD", "allUsers", "roles/storage.objectViewer"),),
        insert_id="bucket-policy",
    )
    result = review(subject(), [change], grace=GRACE)
    assert kinds(result.findings) == [(Severity.CRITICAL, "persistence")]
    assert "ADD allUsers roles/storage.objectViewer" in result.findings[0].message


def test_denied_policy_change_is_a_denied_attempt_not_persistence() -> None:
    denied = event(
        method="SetIamPolicy",
        resource="projects/pci-prod-payments",
        permissions=(
            ("resourcemanager.projects.setIamPolicy", "projects/pci-prod-payments", False),
        ),
        status=7,
    )
    result = review(subject(), [denied], grace=GRACE)
    assert kinds(result.findings) == [(Severity.MEDIUM, "denied")]


def test_a_copy_out_of_the_granted_resources_is_high_even_when_the_role_allows_it() -> None:
    export = replace(
        event(
            method="cloudsql.instances.export",
            service="cloudsql.googleapis.com",
            resource="projects/pci-prod-payments/instances/settlement-db",
            insert_id="export",
        ),
        copied_to="gs://home-backup/db.sql",
    )
    inside = replace(export, insert_id="export-inside", copied_to="gs://settlement-exports/x.sql")
    lock = {**roles_lock(), "roles/cloudsql.client": frozenset({"cloudsql.instances.export"})}

    result = review(subject(permissions_by_role=lock), [export, inside], grace=GRACE)

    assert [
        (f.severity, f.kind, f.evidence) for f in result.findings if f.kind != "no-activity"
    ] == [(Severity.HIGH, "exfiltration", ("export",))]


def test_bigquery_extract_jobs_name_their_destination() -> None:
    payload = {
        "metadata": {
            "jobInsertion": {
                "job": {
                    "jobConfig": {
                        "type": "EXPORT",
                        "extractConfig": {"destinationUris": ["gs://elsewhere/t-*.csv"]},
                    }
                }
            }
        }
    }
    assert copy_destination("google.cloud.bigquery.v2.JobService.InsertJob", payload) == (
        "gs://elsewhere/t-*.csv"
    )
    legacy = {
        "serviceData": {
            "jobInsertRequest": {
                "resource": {
                    "jobConfiguration": {
                        "tableCopy": {
                            "destinationTable": {
                                "projectId": "home",
                                "datasetId": "d",
                                "tableId": "t",
                            }
                        }
                    }
                }
            }
        }
    }
    assert copy_destination("jobservice.insert", legacy) == "projects/home/datasets/d/tables/t"
    assert copy_destination("storage.objects.get", {}) == ""


def test_action_counts_keep_each_actions_denials_and_its_first_and_last_time() -> None:
    denied = (
        ("storage.objects.get", "projects/_/buckets/settlement-exports/objects/a.csv", False),
    )
    counts = action_counts(
        [
            event(at_time="2026-12-01T10:00:00", permissions=denied, status=7, insert_id="a"),
            event(at_time="2026-12-01T09:15:00", permissions=denied, status=7, insert_id="b"),
            event(at_time="2026-12-01T11:45:00", insert_id="c"),
            event(at_time="2026-12-01T10:30:00", insert_id="d"),
        ]
    )
    assert [(a.count, a.denied, a.first, a.last) for a in counts] == [
        (4, 2, at("2026-12-01T09:15:00"), at("2026-12-01T11:45:00"))
    ]


def test_a_review_that_did_not_keep_its_events_reads_back_none() -> None:
    late = event(at_time="2026-12-01T15:00:00", insert_id="late")
    collected = collect([subject()], [event(), late], grace=GRACE, keep_events=False)
    (result,) = review_collected(collected)
    assert (result.count_in_window, result.count_after) == (1, 1)
    assert result.events_in_window == ()
    assert result.events_after == ()


def test_each_review_carries_its_subject_grace_first_event_and_own_actions() -> None:
    bob = request(id="inc-4600-bob", requester="bob@example.com")
    events = [
        event(at_time="2026-12-01T10:00:00", insert_id="a2"),
        event(at_time="2026-12-01T09:20:00", insert_id="a1"),
        event(principal="bob@example.com", method="storage.objects.list", insert_id="b1"),
    ]
    alice_review, bob_review = review_all([subject(), subject(bob)], events, grace=GRACE)
    assert (alice_review.subject.request.id, bob_review.subject.request.id) == (
        "inc-4512-settlement-batch",
        "inc-4600-bob",
    )
    assert alice_review.grace == bob_review.grace == GRACE
    assert alice_review.first_event_at == at("2026-12-01T09:20:00")
    assert bob_review.first_event_at == at("2026-12-01T09:30:00")
    assert [(a.method, a.count) for a in alice_review.actions] == [("storage.objects.get", 2)]
    assert [(a.method, a.count) for a in bob_review.actions] == [("storage.objects.list", 1)]


def test_login_audit_entries_are_kept_by_person_and_are_not_activity() -> None:
    login = Login(at("2026-12-01T09:00:00"), "google_password", ("password",), False, "l-1")
    signed_in = replace(
        event(at_time="2026-12-01T09:00:00", insert_id="l-1"),
        service=LOGIN_SERVICE,
        login=login,
    )
    collected = collect([subject()], [signed_in, event(insert_id="use")], grace=GRACE)
    assert collected.logins == {"alice@example.com": [login]}
    (result,) = review_collected(collected)
    assert [e.insert_id for e in result.events_in_window] == ["use"]


def test_a_window_without_starts_opens_when_its_binding_appears() -> None:
    undated = request(starts=None)
    ours = ("ADD", "user:alice@example.com", "roles/cloudsql.client")
    added = replace(
        event(at_time="2026-12-01T10:00:00", principal="terraform@p.iam.gserviceaccount.com"),
        binding_deltas=(ours,),
        delta_conditions=("lapse/inc-4512-settlement-batch/0",),
        insert_id="binding",
    )
    events = [
        event(at_time="2026-12-01T09:30:00", insert_id="before"),
        added,
        event(at_time="2026-12-01T10:30:00", insert_id="after"),
    ]
    collected = collect([subject(undated)], events, grace=GRACE)
    (dated,) = collected.subjects
    assert (dated.binding_at, dated.binding_entry) == (at("2026-12-01T10:00:00"), "binding")
    (result,) = review_collected(collected)
    assert (result.subject.binding_at, result.subject.binding_entry) == (
        at("2026-12-01T10:00:00"),
        "binding",
    )
    assert result.window_start == at("2026-12-01T10:00:00")
    assert [e.insert_id for e in result.events_in_window] == ["after"]


def test_a_persons_gaps_go_to_their_reviews_only() -> None:
    bob = request(id="inc-4600-bob", requester="bob@example.com")
    reviews = review_all(
        [subject(), subject(bob)],
        [event()],
        grace=GRACE,
        gaps=["projects/p: 503"],
        principal_gaps={"bob@example.com": ["logins: 403"]},
    )
    assert [r.gaps for r in reviews] == [("projects/p: 503",), ("projects/p: 503", "logins: 403")]


def test_the_times_of_actions_are_kept_only_when_asked() -> None:
    events = [
        event(at_time="2026-12-01T11:00:00", insert_id="b"),
        event(at_time="2026-12-01T09:40:00", insert_id="a"),
        event(at_time="2026-12-01T15:00:00", insert_id="late"),
    ]
    timed = collect([subject()], events, grace=GRACE, keep_events=False, times=True)
    (result,) = review_collected(timed)
    assert result.times_in_window == [at("2026-12-01T09:40:00"), at("2026-12-01T11:00:00")]
    untimed = collect([subject()], events, grace=GRACE, keep_events=False)
    (result,) = review_collected(untimed)
    assert result.times_in_window == []


def test_the_other_grants_a_subject_is_told_about_are_not_linked_themselves() -> None:
    second = request(id="inc-4600-follow-up", starts="2026-12-02T09:00:00")
    once = link_windows([subject(), subject(second)])
    assert [o.others for s in once for o in s.others] == [(), ()]
    assert link_windows(once) == once


def test_an_action_without_a_resource_is_counted_under_none() -> None:
    bare = event(resource="", permissions=(("storage.objects.list", "", True),))
    (action,) = review(subject(), [bare], grace=GRACE).actions
    assert (action.method, action.resource) == ("storage.objects.get", "")
