"""normalize(): real audit entry shapes, missing fields, and shapes no one planned for."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.review.events import NameResolver, may_rename, normalize, parse_timestamp
from tests.lanes import examples

from .conftest import fixture_event, load_entry


def test_storage_data_access_entry() -> None:
    event = fixture_event("storage_objects_get")
    assert event.insert_id == "1k9x2fhe3c1q"
    assert event.principal == "alice@example.com"
    assert event.service == "storage.googleapis.com"
    assert event.method == "storage.objects.get"
    assert event.caller_ip == "203.0.113.24"
    assert event.status_code == 0
    assert event.permissions == (
        (
            "storage.objects.get",
            "projects/_/buckets/settlement-exports/objects/2026-11-30/batch-4411.csv",
            True,
        ),
    )


def test_nanosecond_timestamp_becomes_aware_utc() -> None:
    event = fixture_event("storage_objects_get")
    assert event.timestamp == datetime(2026, 12, 1, 9, 14, 3, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T09:14:03Z", datetime(2026, 12, 1, 9, 14, 3, tzinfo=UTC)),
        ("2026-12-01T10:14:03.5+01:00", datetime(2026, 12, 1, 9, 14, 3, 500000, tzinfo=UTC)),
        ("2026-12-01t09:14:03.000000001z", datetime(2026, 12, 1, 9, 14, 3, tzinfo=UTC)),
    ],
)
def test_rfc3339_forms(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-01",
        "2026-12-01T09:14:03",
        "yesterday",
        1796116443,
        None,
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_unusable_timestamps(value: object) -> None:
    assert parse_timestamp(value) is None


def test_legacy_bigquery_entry_without_type_or_authorization_info() -> None:
    entry = load_entry("bigquery_legacy_jobcompleted")
    assert "@type" not in entry["protoPayload"]
    event = fixture_event("bigquery_legacy_jobcompleted")
    assert event.principal == "carol@example.com"
    assert event.method == "jobservice.jobcompleted"
    assert event.permissions == ()
    assert event.caller_ip == ""


def test_console_write_without_request_metadata() -> None:
    event = fixture_event("console_write_no_request_metadata")
    assert event.caller_ip == ""
    assert event.method == "cloudsql.instances.update"


def test_entry_without_resource_name_keeps_authorization_resource() -> None:
    event = fixture_event("no_resource_name")
    assert event.resource_name == ""
    assert event.permissions[0][1] == "projects/_/buckets/settlement-exports"


def test_set_iam_policy_binding_deltas_from_service_data() -> None:
    event = fixture_event("set_iam_policy")
    assert event.binding_deltas == (("ADD", "user:alice@example.com", "roles/cloudsql.admin"),)


def test_a_bigquery_dataset_change_dates_no_binding() -> None:
    # BigQueryAuditMetadata.DatasetChange documents `dataset` (the dataset after the change),
    # `reason` and `jobName`: no deltas, so no binding's appearance is read from it.
    event = fixture_event("bigquery_dataset_change")
    assert event.binding_deltas == () and event.delta_conditions == ()
    entry = load_entry("bigquery_dataset_change")
    change = entry["protoPayload"]["metadata"]["datasetChange"]
    assert set(change) <= {"dataset", "reason", "jobName"}
    # A path Google does not publish is not read, whatever an entry holds there.
    change["bindingDeltas"] = [
        {
            "action": "ADD",
            "role": "roles/bigquery.dataViewer",
            "member": "user:carol@example.com",
            "condition": {"title": "lapse/inc-4533-chargeback-query/x"},
        }
    ]
    event = normalize(entry)
    assert event is not None and event.binding_deltas == ()


def test_audit_data_under_metadata_is_read_too() -> None:
    entry = load_entry("set_iam_policy")
    entry["protoPayload"]["metadata"] = entry["protoPayload"].pop("serviceData")
    event = normalize(entry)
    assert event is not None
    assert event.binding_deltas == (("ADD", "user:alice@example.com", "roles/cloudsql.admin"),)


def test_a_sink_row_saved_to_a_file_reads_like_the_entry_it_came_from() -> None:
    # The BigQuery sink renames on export: protoPayload -> protopayload_auditlog, a Struct
    # becomes JSON text with a `Json` suffix, a typed serviceData a record named by its type.
    for name, moved in (
        ("set_iam_policy", ("serviceData", "servicedata_v1_iam")),
        ("bigquery_dataset_change", ("metadata", "metadataJson")),
    ):
        entry = load_entry(name)
        payload = dict(entry.pop("protoPayload"))
        value = payload.pop(moved[0])
        payload[moved[1]] = json.dumps(value) if moved[1].endswith("Json") else value
        payload["responseJson"] = None
        row = {**entry, "protopayload_auditlog": payload}
        assert normalize(row) == fixture_event(name), name


def test_missing_granted_means_denied_and_status_code_is_read() -> None:
    event = fixture_event("denied_secret_access")
    assert event.status_code == 7
    assert [granted for _, _, granted in event.permissions] == [False]


def test_absent_status_means_ok() -> None:
    entry = load_entry("cloudsql_connect")
    del entry["protoPayload"]["status"]
    event = normalize(entry)
    assert event is not None
    assert event.status_code == 0


def test_not_an_audit_entry() -> None:
    assert normalize(load_entry("not_audit")) is None


def test_audit_entry_without_timestamp_cannot_be_placed() -> None:
    entry = load_entry("cloudsql_connect")
    del entry["timestamp"]
    assert normalize(entry) is not None  # placed at receiveTimestamp
    del entry["receiveTimestamp"]
    assert normalize(entry) is None


def test_wrong_types_read_as_absent() -> None:
    entry: dict[str, Any] = {
        "timestamp": "2026-12-01T09:00:00Z",
        "insertId": 42,
        "protoPayload": {
            "authenticationInfo": ["alice@example.com"],
            "serviceName": {"name": "storage"},
            "status": {"code": "seven"},
            "authorizationInfo": [
                None,
                3,
                {"permission": 5},
                {"permission": "p", "granted": "yes"},
            ],
            "serviceData": {"policyDelta": {"bindingDeltas": "ADD"}},
            "requestMetadata": "203.0.113.1",
        },
    }
    event = normalize(entry)
    assert event is not None
    assert (event.insert_id, event.principal, event.service, event.caller_ip) == ("", "", "", "")
    assert event.status_code == 0
    assert event.permissions == (("p", "", False),)
    assert event.binding_deltas == ()


json_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
audit_keys = st.sampled_from(
    [
        "authorizationInfo",
        "authenticationInfo",
        "principalEmail",
        "status",
        "code",
        "serviceData",
        "metadata",
        "policyDelta",
        "bindingDeltas",
        "datasetChange",
        "granted",
        "permission",
        "resource",
        "requestMetadata",
        "callerIp",
    ]
)
audit_like = st.recursive(
    json_values,
    lambda children: (
        st.dictionaries(audit_keys, children, max_size=4) | st.lists(children, max_size=3)
    ),
    max_leaves=12,
)
entries = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": st.just("2026-12-01T09:14:03.123456789Z") | json_values,
        "protoPayload": audit_like,
        "insertId": json_values,
        "logName": json_values,
    },
)


@settings(max_examples=examples(300), deadline=None)
@given(entries)
def test_normalize_never_raises(entry: dict[str, Any]) -> None:
    event = normalize(entry)
    assert event is None or event.timestamp.tzinfo is UTC


@given(st.text(max_size=40))
def test_parse_timestamp_never_raises(text: str) -> None:
    parsed = parse_timestamp(text)
    assert parsed is None or parsed.tzinfo is UTC


def resolved_segment_by_segment(resolver: NameResolver, name: str) -> str:
    """`NameResolver.resolve` the long way: every segment looked at, none skipped."""
    if not name or not (resolver.project or resolver.account):
        return name
    return resolver.each_segment(name)


name_segments = st.sampled_from(
    ["projects", "serviceAccounts", "xprojects", "123", "1a", "²", "٣4", "_", "", "b", "4"]
)


@settings(max_examples=examples(2000), derandomize=True, database=None, deadline=None)
@given(
    names=st.lists(st.lists(name_segments, max_size=6).map("/".join), max_size=4),
    project=st.sampled_from(["", "pci-prod-payments"]),
    account=st.sampled_from(["", "sa@p.iam.gserviceaccount.com"]),
    unique_id=st.sampled_from(["", "123", "4"]),
)
def test_names_without_a_number_to_resolve_are_returned_as_they_are(
    names: list[str], project: str, account: str, unique_id: str
) -> None:
    """`resolve` skips a name with no digit after `projects/` or `serviceAccounts/`: it answers
    as looking at every segment does."""
    resolver = NameResolver(project, account, unique_id)
    for name in names:
        assert resolver.resolve(name) == resolved_segment_by_segment(resolver, name), name


@settings(max_examples=examples(2000), derandomize=True, database=None, deadline=None)
@given(names=st.lists(st.lists(name_segments, max_size=6).map("/".join), max_size=4))
def test_a_name_no_resolver_may_rename_is_its_own_resolution(names: list[str]) -> None:
    """`may_rename` answers no only for names every resolver, whatever its labels, leaves as
    they are: `plain_entry` makes no resolver for them."""
    resolvers = [
        NameResolver(project, account, unique_id)
        for project in ("", "pci-prod-payments")
        for account in ("", "sa@p.iam.gserviceaccount.com")
        for unique_id in ("", "123", "4")
    ]
    for name in names:
        if not may_rename(name):
            assert all(resolved_segment_by_segment(r, name) == name for r in resolvers), name
            assert all(r.resolve(name) == name for r in resolvers), name


@pytest.mark.parametrize(
    ("name", "renamed"),
    [
        ("instances/settlement-db", False),
        ("projects/_/buckets/b/objects/o", False),
        ("projects/_/buckets/b/objects/projects/_", False),
        ("projects/_/buckets/b/objects/projects/", True),
        ("projects/_/buckets/b/objects/projects/1", True),
        ("projects/123/secrets/s", True),
        ("projects/-/serviceAccounts/x", True),
        ("projects/p/datasets/d", True),  # no number, but told so only by looking further
    ],
)
def test_what_may_be_renamed(name: str, renamed: bool) -> None:
    assert may_rename(name) is renamed
