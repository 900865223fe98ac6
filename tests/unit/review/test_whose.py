"""`others_only` skips a line only when the full reading would count it as another's.

The full reading is what the review does with a line it parses: orjson, then `read_entry`, then
the same question `account` asks. Generated entries mix the fields that decide whose an entry
is (callers, subjects, delegations, binding changes, timestamps) in every type, case, escape,
spacing, duplication and truncation; the real entries of `tests/data/audit_real/` are checked too.
"""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from generator.review.events import read_entry
from generator.review.sources import concerns
from generator.review.whose import others_only
from tests.lanes import examples

from .test_audit_real import real_files

WANTED = frozenset({"alice@example.com"})
TIME = "2026-12-01T10:00:00.123456789Z"


def full_reading(line: bytes, wanted: frozenset[str]) -> str:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "unparsed"
    read = read_entry(value)
    if isinstance(read, str):
        return "unreadable"
    if concerns(read.principal, read.chain, read.delta_conditions, wanted):
        return "read"
    return "other"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=3,
)
names = st.sampled_from(
    [
        "alice@example.com",
        "ALICE@Example.com",
        " alice@example.com",
        "bob@example.com",
        "svc@p.iam.gserviceaccount.com",
        "",
        "user:alice@example.com",
        "serviceAccount:alice@example.com",
        "user:bob@example.com",
        "alicé@example.com",
    ]
)
principal_values = names | names | names | json_values


@st.composite
def rfc3339ish(draw: st.DrawFn) -> str:
    """Times near RFC 3339, including the edges where readers of it disagree."""
    year = draw(st.sampled_from(["2026", "0001", "0002", "9998", "9999", "0000", "12026"]))
    month, day = draw(st.sampled_from(["12-01", "02-29", "13-01", "12-32", "1-01"])).split("-")
    clock = draw(st.sampled_from(["10:00:00", "23:59:60", "24:00:00", "10:00", "10:0:00"]))
    fraction = draw(st.sampled_from(["", ".1", ".123456", ".123456789", ".1234567890123", ","]))
    zone = draw(st.sampled_from(["Z", "z", "+01:00", "-23:59", "+24:00", "+0100", "+01", "", " Z"]))
    separator = draw(st.sampled_from(["T", "t", " ", "_"]))
    return f"{year}-{month}-{day}{separator}{clock}{fraction}{zone}"


times = st.one_of(st.just(TIME), st.just(TIME), rfc3339ish(), rfc3339ish(), json_values)
titles = st.sampled_from(["lapse/inc-1/expires", "lapse/", "other/title", "Lapse/x", ""])
titles = titles | titles | json_values


def maybe(
    draw: st.DrawFn,
    key: str,
    values: st.SearchStrategy[Any],
    into: dict[str, Any],
    tenths: int = 3,
) -> None:
    """Sets `key` about `tenths` times in ten (the plain shape must come up often)."""
    if draw(st.integers(0, 9)) < tenths:
        into[key] = draw(values)


@st.composite
def parties(draw: st.DrawFn) -> dict[str, Any]:
    party: dict[str, Any] = {}
    maybe(draw, "principalEmail", principal_values, party, 8)
    maybe(draw, "principalSubject", principal_values, party)
    return party


@st.composite
def delegations(draw: st.DrawFn) -> Any:
    link: dict[str, Any] = {}
    maybe(draw, "firstPartyPrincipal", parties() | json_values, link)
    maybe(draw, "thirdPartyPrincipal", parties() | json_values, link)
    maybe(draw, "principalSubject", principal_values, link)
    return draw(st.lists(st.just(link) | json_values, max_size=2) | json_values)


@st.composite
def authentications(draw: st.DrawFn) -> Any:
    auth = draw(parties())
    maybe(draw, "serviceAccountDelegationInfo", delegations(), auth, 2)
    maybe(draw, "principalSubject", principal_values, auth)
    return auth if draw(st.integers(0, 9)) else draw(json_values)


@st.composite
def changes(draw: st.DrawFn) -> Any:
    delta: dict[str, Any] = {"action": "ADD", "member": "user:bob@example.com"}
    maybe(draw, "condition", st.fixed_dictionaries({"title": titles}) | json_values, delta, 8)
    shapes = st.just(delta) | st.just(delta) | json_values
    deltas = {"bindingDeltas": draw(st.lists(shapes, min_size=1, max_size=2))}
    result: dict[str, Any] = {}
    maybe(draw, "policyDelta", st.just(deltas) | json_values, result, 5)
    maybe(draw, "datasetChange", st.just(deltas) | json_values, result, 5)
    maybe(draw, "jobChange", json_values, result)
    return result if draw(st.integers(0, 9)) else draw(json_values)


@st.composite
def payloads(draw: st.DrawFn) -> Any:
    payload: dict[str, Any] = {"methodName": "storage.objects.get"}
    maybe(draw, "authenticationInfo", authentications(), payload, 9)
    maybe(draw, "serviceData", changes(), payload, 2)
    maybe(draw, "metadata", changes(), payload, 2)
    maybe(draw, "request", json_values, payload)
    return payload if draw(st.integers(0, 9)) else draw(json_values)


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {"insertId": "x1"}
    maybe(draw, "protoPayload", payloads(), entry, 8)
    maybe(draw, "protopayload_auditlog", payloads(), entry, 2)
    maybe(draw, "timestamp", times, entry, 9)
    maybe(draw, "receiveTimestamp", times, entry)
    maybe(draw, "labels", json_values, entry)
    return entry


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    """An entry as an export could hold it, or broken in one of the ways files break."""
    entry = draw(entries())
    text = json.dumps(
        entry,
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (",", " :  ")])),
    )
    twist = draw(st.sampled_from(["none"] * 12 + ["duplicate", "escape", "cut", "bytes"]))
    if twist == "duplicate" and entry:
        # The same key twice: JSON parsers keep the last; the decoder must not disagree.
        key = draw(st.sampled_from(sorted(entry)))
        shadow = json.dumps({key: draw(entries()).get(key, "shadow")})[1:-1]
        text = "{" + shadow + "," + text[1:] if text != "{}" else text
    elif twist == "escape":
        text = text.replace("alice", "\\u0061lice").replace("principal", "\\u0070rincipal")
    elif twist == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    data = text.encode()
    if twist == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3\xa9", b"\x00", b"\n"])) + data[at:]
    return data + draw(st.sampled_from([b"", b"\n", b"\r\n", b"  \n"]))


def plain(principal: str, **extra: Any) -> dict[str, Any]:
    return {
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": {"principalEmail": principal},
            "methodName": "storage.objects.get",
            "serviceName": "storage.googleapis.com",
            **extra,
        },
        "timestamp": TIME,
        "insertId": "abc",
    }


# The same examples on every run: a red build means a change broke the rule, not bad luck.
SEARCH = settings(
    max_examples=examples(1500),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def soundly(line: bytes) -> None:
    skipped = others_only(line, WANTED)
    event("skipped" if skipped else "parsed")
    if skipped:
        assert full_reading(line, WANTED) == "other", line


@pytest.mark.slow
@SEARCH
@given(line=lines())
def test_a_skipped_line_is_another_principals_entry(line: bytes) -> None:
    soundly(line)


@st.composite
def near_plain(draw: st.DrawFn) -> bytes:
    """A plain entry with a few of its deciding fields changed: about half are skipped."""
    entry = plain(draw(names))
    payload, auth = entry["protoPayload"], entry["protoPayload"]["authenticationInfo"]
    for change in draw(st.lists(st.integers(0, 11), max_size=2)):
        if change == 0:
            auth["principalSubject"] = draw(principal_values)
        elif change == 1:
            auth["serviceAccountDelegationInfo"] = draw(delegations())
        elif change == 2:
            payload[draw(st.sampled_from(["serviceData", "metadata"]))] = draw(changes())
        elif change == 3:
            entry["timestamp"] = draw(times)
        elif change == 4:
            entry["protopayload_auditlog"] = draw(payloads())
        elif change == 5:
            auth["principalEmail"] = draw(principal_values)
        elif change == 6:
            entry[draw(st.sampled_from(["timestamp", "protoPayload"]))] = draw(json_values)
        elif change == 7:
            entry.pop("timestamp", None)
            entry["receiveTimestamp"] = draw(times)
        elif change == 8:
            payload["request"] = draw(json_values)
        elif change == 9:
            entry["labels"] = {"note": draw(st.text(max_size=3))}
        else:
            # One binding change where each reader of them looks, titled by lapse or not.
            where = draw(st.sampled_from(["serviceData", "metadata"]))
            kind = draw(st.sampled_from(["policyDelta", "datasetChange"]))
            delta = {"action": "ADD", "condition": {"title": draw(titles)}}
            payload[where] = {kind: {"bindingDeltas": [delta]}}
    text = json.dumps(entry, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace("alice", "\\u0061lice")
    return text.encode()


@pytest.mark.slow
@SEARCH
@given(line=near_plain())
def test_a_skipped_near_plain_line_is_another_principals_entry(line: bytes) -> None:
    soundly(line)


@pytest.mark.parametrize(
    "entry",
    [
        plain("bob@example.com"),
        plain("svc@p.iam.gserviceaccount.com", metadata={"tableDataRead": {"reason": "JOB"}}),
        plain("bob@example.com", serviceData={"@type": "x"}, request={"deep": [[[[{}]]]]}),
        {**plain("bob@example.com"), "protopayload_auditlog": {"anything": 1}},
        {**plain("bob@example.com"), "receiveTimestamp": None},
    ],
)
def test_plain_entries_of_others_are_skipped(entry: dict[str, Any]) -> None:
    # The common shape is decided without a full parse, whatever else the entry carries.
    for separators in ((",", ":"), (", ", ": ")):
        line = json.dumps(entry, separators=separators).encode()
        assert others_only(line, WANTED)
        assert full_reading(line, WANTED) == "other"


def test_the_real_entries_are_skipped_only_when_they_are_others() -> None:
    lines_read = skipped = 0
    for path in real_files():
        if path.suffix != ".jsonl":
            continue
        for line in path.read_bytes().splitlines():
            lines_read += 1
            for wanted in (WANTED, frozenset({"test-user@example.com"})):
                if others_only(line, wanted):
                    skipped += 1
                    assert full_reading(line, wanted) == "other", (path, line[:120])
    assert lines_read == 300
    assert skipped > 0


def test_a_random_sample_of_bench_shaped_lines_agrees() -> None:
    rng = random.Random(4411)
    people = ["alice@example.com", "bob@example.com", "svc@p.iam.gserviceaccount.com"]
    for _ in range(500):
        principal = rng.choice(people)
        line = orjson.dumps(plain(principal))
        expected = "read" if principal in WANTED else "other"
        assert full_reading(line, WANTED) == expected
        assert others_only(line, WANTED) is (expected == "other")


@pytest.mark.parametrize("moment", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_time_whose_offset_leaves_the_calendar_is_parsed(moment: str) -> None:
    # In UTC these are before year 1 or after 9999: the full reading refuses the line.
    line = json.dumps({**plain("bob@example.com"), "timestamp": moment}).encode()
    assert not others_only(line, WANTED)
    assert full_reading(line, WANTED) == "unreadable"


@pytest.mark.parametrize("holder", ["serviceData", "metadata"])
@pytest.mark.parametrize("change", ["policyDelta", "datasetChange"])
def test_another_principals_binding_change_is_parsed(holder: str, change: str) -> None:
    # Whoever makes it, a binding change may date a window: it is never skipped.
    entry = plain("terraform@p.iam.gserviceaccount.com", **{holder: {change: {}}})
    assert not others_only(json.dumps(entry).encode(), WANTED)


def test_a_caller_named_only_by_its_subject_is_parsed() -> None:
    entry = plain("")
    entry["protoPayload"]["authenticationInfo"]["principalSubject"] = "user:alice@example.com"
    line = json.dumps(entry).encode()
    assert not others_only(line, WANTED)
    assert full_reading(line, WANTED) == "read"
