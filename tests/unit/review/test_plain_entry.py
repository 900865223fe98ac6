"""`read_plain` reads a line as the full reading does, or leaves it to the full reading.

The full reading is orjson, then `read_entry`. Generated lines start from the plain shape and
change the fields `read_entry` reads (status, permissions, names, labels, caller, chain, binding
changes, copies, logins, times) to every type, value and layout, and break them as files break;
the lines of `test_whose` (whose the entry is, in every shape) and every real entry of
`tests/data/audit_real/` are checked too. Each search also shows the typed reading is used.
"""

from __future__ import annotations

import json
import pickle
import random
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from msgspec.structs import replace

from generator.core.audit_event import Event
from generator.review.events import read_entry
from generator.review.plain_entry import read_plain

from .test_audit_real import real_files
from .test_whose import SEARCH, delegations, json_values, lines, near_plain, rfc3339ish

TIME = "2026-11-20T10:00:00.123456789Z"


def full_reading(line: bytes) -> Event | str:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "unparsed"
    return read_entry(value)


def agrees(line: bytes) -> bool:
    """True when the typed reading took the line; either way, both readings agree."""
    plain = read_plain(line)
    if plain is not None:
        full = full_reading(line)
        assert plain == full, line
        assert exactly(plain) == exactly(full), line
    return plain is not None


def exactly(value: object) -> object:
    """`value` with the type of every part of it and the zone of every time: `==` alone holds
    `1 == True`, and one instant in two zones, equal."""
    if isinstance(value, Event):
        return tuple(exactly(getattr(value, name)) for name in Event.__struct_fields__)
    if isinstance(value, tuple):
        return tuple(exactly(part) for part in value)
    if isinstance(value, datetime):
        return value, value.tzinfo
    return type(value), value


def bench_entry(principal: str = "alice@example.com") -> dict[str, Any]:
    """A data-access entry as Cloud Storage writes it, with every field `read_entry` reads."""
    name = "projects/_/buckets/settlement/objects/2026-11/batch-1.csv"
    return {
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {"principalEmail": principal, "principalSubject": "user:x"},
            "requestMetadata": {"callerIp": "10.1.2.3", "requestAttributes": {"time": TIME}},
            "serviceName": "storage.googleapis.com",
            "methodName": "storage.objects.get",
            "authorizationInfo": [
                {"resource": name, "permission": "storage.objects.get", "granted": True}
            ],
            "resourceName": name,
        },
        "insertId": "abc123",
        "resource": {"type": "gcs_bucket", "labels": {"project_id": "pci-prod"}},
        "timestamp": TIME,
        "logName": "projects/pci-prod/logs/cloudaudit.googleapis.com%2Fdata_access",
    }


texts = st.sampled_from(
    [
        "",
        "x",
        "projects/123/secrets/s",
        "projects/_/buckets/b/objects/o",
        "projects/-/serviceAccounts/4242",
        "instances/db",
        "storage.objects.get",
        "v1.compute.instances.stop",
        "storage.objects.rewrite",
        "google.cloud.bigquery.v2.JobService.InsertJob",
        "login.googleapis.com",
        "SetIamPolicy",
        "GenerateAccessToken",
        "projects/p/serviceAccounts/svc@p.iam.gserviceaccount.com",
    ]
)
any_text = texts | texts | texts | json_values
numbers = st.sampled_from([0, 7, -1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1])
codes = numbers | st.sampled_from([7.0, True, False, "7", " 7 ", "x", None]) | json_values
grants = st.sampled_from([True, False, "true", " TRUE ", "false", 1, 0, None]) | json_values


@st.composite
def authorizations(draw: st.DrawFn) -> Any:
    item: dict[str, Any] = {}
    for key, values in (("permission", any_text), ("resource", any_text), ("granted", grants)):
        if draw(st.integers(0, 9)) < 8:
            item[key] = draw(values)
    return item if draw(st.integers(0, 9)) else draw(json_values)


@st.composite
def labels(draw: st.DrawFn) -> Any:
    found: dict[str, Any] = {}
    for key in ("project_id", "email_id", "unique_id", "location"):
        if draw(st.booleans()):
            found[key] = draw(
                st.sampled_from(["pci-prod", "svc@p.iam.gserviceaccount.com", "4242"]) | any_text
            )
    return found if draw(st.integers(0, 9)) else draw(json_values)


def _change(draw: st.DrawFn, entry: dict[str, Any]) -> None:
    payload = entry["protoPayload"]
    auth = payload["authenticationInfo"]
    where, key, values = draw(
        st.sampled_from(
            [
                (payload, "status", st.fixed_dictionaries({"code": codes}) | json_values),
                (payload, "status", st.just({})),
                (payload, "authorizationInfo", st.lists(authorizations(), max_size=3)),
                (payload, "authorizationInfo", json_values),
                (payload, "resourceName", any_text),
                (payload, "methodName", any_text),
                (payload, "serviceName", any_text),
                (payload, "requestMetadata", st.fixed_dictionaries({"callerIp": any_text})),
                (payload, "requestMetadata", json_values),
                (payload, "metadata", json_values),
                (payload, "serviceData", json_values),
                (payload, "request", json_values),
                (auth, "principalEmail", any_text),
                (auth, "serviceAccountDelegationInfo", delegations()),
                (auth, "serviceAccountDelegationInfo", st.just([{"principalSubject": "user:c@d"}])),
                (entry, "resource", st.fixed_dictionaries({"labels": labels()})),
                (entry, "resource", json_values),
                (entry, "insertId", any_text),
                (entry, "logName", any_text),
                (entry, "timestamp", rfc3339ish() | json_values),
                (entry, "receiveTimestamp", rfc3339ish()),
                (entry, "protopayload_auditlog", json_values),
            ]
        )
    )
    if draw(st.integers(0, 9)) == 0:
        where.pop(key, None)
    else:
        where[key] = draw(values)


@st.composite
def changed_lines(draw: st.DrawFn) -> bytes:
    """A plain entry with up to three of the fields `read_entry` reads changed, laid out as an
    export could hold it, sometimes broken."""
    entry = bench_entry(draw(st.sampled_from(["alice@example.com", "bob@example.com"])))
    for _ in range(draw(st.integers(0, 3))):
        _change(draw, entry)
    text = json.dumps(
        entry,
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])),
    )
    twist = draw(st.sampled_from(["none"] * 10 + ["duplicate", "escape", "cut", "bytes"]))
    if twist == "duplicate":
        # The same key twice: the last one counts for both readings.
        shadow = json.dumps({"insertId": "shadowed", "logName": 5})[1:-1]
        text = "{" + shadow + "," + text[1:]
    elif twist == "escape":
        text = text.replace("storage", "\\u0073torage").replace("code", "\\u0063ode")
    elif twist == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    data = text.encode()
    if twist == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3\xa9", b"\x00", b"]"])) + data[at:]
    return data + draw(st.sampled_from([b"", b"\n", b"\r\n"]))


@pytest.mark.slow
@SEARCH
@given(line=changed_lines())
def test_a_changed_plain_line_reads_as_the_full_reading_does(line: bytes) -> None:
    event("typed" if agrees(line) else "whole")


@pytest.mark.slow
@SEARCH
@given(line=lines() | near_plain())
def test_a_line_of_any_shape_reads_as_the_full_reading_does(line: bytes) -> None:
    event("typed" if agrees(line) else "whole")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", {"code": 7}),
        ("status", {"code": 2**63 - 1}),
        ("authorizationInfo", []),
        ("authorizationInfo", [{"permission": "storage.objects.get"}, {"resource": "x"}]),
        ("resourceName", "projects/123/secrets/s"),
        ("requestMetadata", {}),
        ("serviceName", "login.googleapis.com"),  # a session only its `metadata` records
    ],
)
def test_the_fields_of_a_plain_entry_are_read_typed(field: str, value: Any) -> None:
    entry = bench_entry()
    entry["protoPayload"][field] = value
    assert agrees(orjson.dumps(entry))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", {"code": 2**64 - 1}),  # orjson reads it as an integer, msgspec refuses it
        ("status", {"code": 2**64}),  # orjson reads it as a float: no code
        ("status", {"code": "7"}),
        ("authorizationInfo", [{"permission": "p", "granted": "true"}]),
        ("methodName", "storage.objects.rewrite"),
        ("metadata", {}),
        ("resourceName", None),
    ],
)
def test_what_the_typed_reading_cannot_say_is_left_to_the_full_reading(
    field: str, value: Any
) -> None:
    entry = bench_entry()
    entry["protoPayload"][field] = value
    line = json.dumps(entry).encode()
    assert read_plain(line) is None
    assert isinstance(full_reading(line), Event)


def test_every_real_entry_reads_as_the_full_reading_does() -> None:
    read = typed = 0
    for path in real_files():
        if path.suffix != ".jsonl":
            continue
        for line in path.read_bytes().splitlines():
            read += 1
            typed += agrees(line)
    assert read == 300
    assert typed > 0


def test_bench_shaped_lines_are_all_read_typed() -> None:
    rng = random.Random(4411)
    for number in range(300):
        entry = bench_entry(rng.choice(["alice@example.com", "engineer-007@example.com"]))
        entry["insertId"] = f"{number:012x}"
        entry["protoPayload"]["status"] = rng.choice([{}, {"code": 7}])
        assert agrees(orjson.dumps(entry))


def test_an_event_built_in_place_is_the_one_its_fields_name() -> None:
    """`read_plain` builds its Event by position: each value lands in the field `read_entry`
    names, of the same type, and the Event pickles (as a part handed over does) and changes
    (`attribution`) whole."""
    line = orjson.dumps(bench_entry())
    plain, full = read_plain(line), full_reading(line)
    assert isinstance(plain, Event)
    assert isinstance(full, Event)
    assert [getattr(plain, name) for name in Event.__struct_fields__] == [
        getattr(full, name) for name in Event.__struct_fields__
    ]
    assert exactly(plain) == exactly(full)
    assert plain.caller_ip == "10.1.2.3"
    assert plain.timestamp.tzinfo is UTC
    assert plain.binding_deltas == ()
    assert exactly(pickle.loads(pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL))) == (
        exactly(plain)
    )
    assert hash(plain) == hash(full)
    moved = replace(plain, principal="bob@example.com", chain=("a@b",))
    assert (moved.principal, moved.chain, moved.insert_id) == (
        "bob@example.com",
        ("a@b",),
        "abc123",
    )
