"""FileSource: JSON lines and arrays, gzip, filtering, and broken files reported as gaps."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.review import json_stream
from generator.review.file_source import FileSource
from generator.review.json_stream import ArrayScanner
from generator.review.sources import CombinedSource
from generator.review.whose import others_only

from .conftest import at, load_entry

START, END = at("2026-12-01T00:00:00"), at("2026-12-06T00:00:00")
ALICE = ["alice@example.com"]

Writer = Callable[[list[Any]], Path]


def entries() -> list[dict[str, Any]]:
    names = [
        "no_resource_name",
        "storage_objects_get",
        "cloudsql_connect",
        "console_write_no_request_metadata",
        "set_iam_policy",
        "denied_secret_access",
        "create_service_account_key",
        "not_audit",
    ]
    return [load_entry(name) for name in names]


def ids(source: FileSource, principals: list[str] = ALICE) -> list[str]:
    return [e.insert_id for e in source.events(principals, START, END)]


ALICE_IDS = ["1q2w3e4r5t6y", "1k9x2fhe3c1q", "-8m1q0ce2ykw", "w7c3re1j2n5", "1x3fvq5e4o1m"]


def test_json_lines(write_lines: Writer) -> None:
    source = FileSource(write_lines(entries()))
    assert ids(source) == ALICE_IDS
    assert source.complete


def test_gzip_is_detected_by_content(tmp_path: Path) -> None:
    path = tmp_path / "cloudaudit.googleapis.com_data_access.json.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(e) + "\n" for e in entries()).encode()))
    assert ids(FileSource(path)) == ALICE_IDS


def test_json_array_as_gcloud_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "read.json"
    path.write_text(json.dumps(entries(), indent=2) + "\n")
    source = FileSource(path)
    assert ids(source) == ALICE_IDS
    assert source.complete


def test_json_array_across_many_small_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_stream, "_CHUNK", 7)
    path = tmp_path / "read.json"
    path.write_text(json.dumps(entries(), indent=1, ensure_ascii=False))
    assert ids(FileSource(path)) == ALICE_IDS


def test_filters_by_principal_and_half_open_window(write_lines: Writer) -> None:
    source = FileSource(write_lines(entries()))
    found = list(source.events(["BOB@example.com"], START, END))
    assert [e.insert_id for e in found] == ["f3xq9ad5m2r"]
    window = list(
        source.events(ALICE, at("2026-12-01T09:14:03.123456"), at("2026-12-01T10:02:17.440190"))
    )
    assert [e.insert_id for e in window] == ["1k9x2fhe3c1q", "-8m1q0ce2ykw"]


def test_malformed_line_is_a_gap_with_its_line_number(tmp_path: Path) -> None:
    lines = [json.dumps(e) for e in entries()[:3]]
    lines.insert(
        1, '{"protoPayload": {"authenticationInfo": {"principalEmail": "alice@example.com"}'
    )
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    source = FileSource(path)
    assert ids(source) == ALICE_IDS[:3]
    # The broken line names alice: her reviews are incomplete, nobody else's.
    assert source.principal_gaps["alice@example.com"][0].startswith(f"{path}: line 2: ")
    assert source.gaps == []


def test_truncated_line_of_another_principal_is_still_reported(tmp_path: Path) -> None:
    path = tmp_path / "truncated.jsonl"
    full = json.dumps(load_entry("denied_secret_access"))
    path.write_text(
        json.dumps(load_entry("storage_objects_get")) + "\n" + full[: len(full) // 2] + "\n"
    )
    source = FileSource(path)
    assert ids(source) == ["1k9x2fhe3c1q"]
    # Counted as unreadable, with its reason, but not a gap in alice's review: it is not hers.
    assert [where for where, _ in source.accounting.unreadable] == [f"{path}:2"]
    assert source.principal_gaps == {}
    assert source.accounting.balanced


def test_audit_entry_without_timestamp_is_a_gap(write_lines: Writer) -> None:
    entry = load_entry("storage_objects_get")
    del entry["timestamp"], entry["receiveTimestamp"]
    source = FileSource(write_lines([entry]))
    assert ids(source) == []
    gaps = source.principal_gaps["alice@example.com"]
    assert "line 1: no timestamp: the entry cannot be placed in time" in gaps[0]


def test_malformed_array_stops_with_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "read.json"
    good = json.dumps(load_entry("storage_objects_get"), indent=2)
    path.write_text(f'[\n{good},\n{{"insertId": oops}}\n]\n')
    source = FileSource(path)
    assert ids(source) == ["1k9x2fhe3c1q"]
    assert "rest of the file was not read" in source.gaps[0]
    assert f"line {good.count(chr(10)) + 3}" in source.gaps[0]


def test_unreadable_and_non_json_files_are_gaps(tmp_path: Path) -> None:
    missing = FileSource(tmp_path / "missing.jsonl")
    assert ids(missing) == []
    assert "read failed" in missing.gaps[0]
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    source = FileSource(text)
    assert ids(source) == []
    assert "neither a JSON array nor JSON lines" in source.gaps[0]


def test_truncated_gzip_is_a_gap(tmp_path: Path) -> None:
    data = gzip.compress("".join(json.dumps(e) + "\n" for e in entries() * 50).encode())
    path = tmp_path / "cut.json.gz"
    path.write_bytes(data[: len(data) // 2])
    source = FileSource(path)
    list(source.events(ALICE, START, END))
    assert not source.complete


def test_empty_file_is_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n \n")
    source = FileSource(path)
    assert ids(source) == []
    assert not source.complete
    assert "holds no entries at all" in source.gaps[0]


def test_many_bad_lines_are_summarized(tmp_path: Path) -> None:
    path = tmp_path / "noise.jsonl"
    path.write_text(json.dumps(load_entry("not_audit")) + "\n" + '{"broken": \n' * 30)
    source = FileSource(path)
    assert ids(source) == []
    # A broken line that names nobody could be anyone's: a gap for every review, summarized.
    assert len(source.gaps) == 21
    assert source.gaps[-1].endswith("10 more unreadable lines")
    assert len(source.accounting.unreadable) == 31  # the non-audit entry too
    assert source.accounting.read == 31
    assert source.accounting.balanced


T = '"timestamp":"2026-12-01T10:00:00Z"'


@pytest.mark.parametrize(
    ("text", "others"),
    [
        ('{"protoPayload":{"authenticationInfo":{"principalEmail":"alice@example.com"}},' + T, 0),
        ('{"protoPayload":{"authenticationInfo":{"principalEmail": "ALICE@example.com"}},' + T, 0),
        ('{"protoPayload":{"authenticationInfo":{"principalEmail":"bob@example.com"}},' + T, 1),
        (
            '{"protoPayload":{"authenticationInfo":{"principalSubject":"user:alice@example.com"}},'
            + T,
            0,
        ),
        # a delegation chain: the first party is the person behind the call
        (
            '{"protoPayload":{"authenticationInfo":{"principalEmail":'
            '"sa@p.iam.gserviceaccount.com","serviceAccountDelegationInfo":[{"firstPartyPrincipal"'
            ':{"principalEmail":"alice@example.com"}}]}},' + T,
            0,
        ),
        # not a string: left to the full reading (which counts it as nobody's)
        ('{"protoPayload":{"authenticationInfo":{"principalEmail":null}},' + T, 0),
        # escapes are decoded, an escaped key included
        (
            '{"protoPayload":{"authenticationInfo":{"principalEmail":"alice\\u0040example.com"}},'
            + T,
            0,
        ),
        (
            '{"protoPayload":{"authenticationInfo":{"\\u0070rincipalEmail":"alice@example.com"}},'
            + T,
            0,
        ),
        # another principal's change of a binding lapse wrote dates a window: parsed
        (
            '{"protoPayload":{"authenticationInfo":{"principalEmail":"ci@p.iam.gserviceaccount.com"'
            '},"serviceData":{"policyDelta":{"bindingDeltas":[{"action":"ADD","condition":'
            '{"title":"lapse/inc-1/expires"}}]}}},' + T,
            0,
        ),
        # what the full parse would call unreadable is left to it, whoever it names
        ('{"protoPayload":{"authenticationInfo":{"principalEmail":"bob@example.com"}}}', 0),
        ('{"protoPayload":{"methodName":"x"}}', 0),
        ('{"textPayload":"bob@example.com",' + T, 0),
        (
            '{"protoPayload":{"authenticationInfo":{"principalEmail":"bob@example.com"}},' + T[:-3],
            0,
        ),
        ('{"protoPayload":{"authenticationInfo":[]},' + T, 0),
        (
            '{"protoPayload":{"authenticationInfo":{"principalEmail":"bob@example.com"}},'
            '"labels":{"x":"caf\\u00e9"},' + T,
            1,
        ),
        (
            '{"protoPayload":{"authenticationInfo":{"principalEmail":"bob@example.com"}},'
            '"labels":{"x":"café"},' + T,
            0,
        ),
    ],
)
def test_others_only(text: str, others: int) -> None:
    line = (text + "}").encode()
    assert others_only(line, frozenset({"alice@example.com"})) is bool(others)


def test_escaped_principal_is_found_by_the_parser(write_lines: Writer, tmp_path: Path) -> None:
    entry = json.dumps(load_entry("storage_objects_get")).replace("alice@", "alice\\u0040")
    path = tmp_path / "escaped.jsonl"
    path.write_text(entry + "\n")
    assert ids(FileSource(path)) == ["1k9x2fhe3c1q"]


def test_array_scanner_reports_lines() -> None:
    stream = io.BytesIO(b'\n[\n  {"a": 1},\n  {"b": "x\\ny"}\n]\n')
    assert list(ArrayScanner(stream, 1).items()) == [(3, {"a": 1}), (4, {"b": "x\ny"})]


def test_combined_sources_read_every_file_and_collect_gaps(
    write_lines: Writer, tmp_path: Path
) -> None:
    combined = CombinedSource(
        [FileSource(write_lines(entries())), FileSource(tmp_path / "gone.jsonl")]
    )
    assert [e.insert_id for e in combined.events(ALICE, START, END)] == ALICE_IDS
    assert not combined.complete
    assert len(combined.gaps) == 1


def test_an_account_minted_in_one_file_is_read_in_the_next(tmp_path: Path) -> None:
    """A sink writes an hour a file: a token minted at 10:59 is used at 11:01, in the next."""
    account = "deployer@pci-prod-payments.iam.gserviceaccount.com"
    log = "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Fdata_access"

    def line(principal: str, method: str, resource: str, at_time: str, insert_id: str) -> str:
        payload = {
            "authenticationInfo": {"principalEmail": principal},
            "serviceName": "iamcredentials.googleapis.com",
            "methodName": method,
            "resourceName": resource,
        }
        entry = {"protoPayload": payload, "insertId": insert_id, "timestamp": at_time}
        return json.dumps({**entry, "logName": log}) + "\n"

    minted = tmp_path / "10.jsonl"
    minted.write_text(
        line(
            "alice@example.com",
            "GenerateAccessToken",
            f"projects/-/serviceAccounts/{account}",
            "2026-12-01T10:59:00Z",
            "mint",
        )
    )
    used = tmp_path / "11.jsonl"
    used.write_text(
        line(account, "storage.objects.get", "projects/_/buckets/b", "2026-12-01T11:01:00Z", "use")
    )
    combined = CombinedSource([FileSource(minted), FileSource(used)])
    assert [e.insert_id for e in combined.events(ALICE, START, END)] == ["mint", "use"]
    backwards = CombinedSource([FileSource(used), FileSource(minted)])
    assert [e.insert_id for e in backwards.events(ALICE, START, END)] == ["mint"]


def test_crlf_blank_lines_and_no_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "windows.jsonl"
    lines = [json.dumps(e) for e in entries()[:3]]
    path.write_bytes(("\r\n\r\n".join(lines)).encode())
    source = FileSource(path)
    assert ids(source) == ALICE_IDS[:3]
    assert source.complete


SCENARIO = Path(__file__).resolve().parents[2] / "data" / "audit_scenario" / "scenario.jsonl"


def read_all(source: FileSource) -> tuple[list[str], list[str], dict[str, list[str]], int]:
    found = [e.insert_id for e in source.events(["alice@example.com"], START, END)]
    gaps = [g.split(": ", 1)[1] for g in source.gaps]
    personal = {p: [g.split(": ", 1)[1] for g in gs] for p, gs in source.principal_gaps.items()}
    return found, gaps, personal, source.accounting.read


def test_json_lines_an_array_and_pretty_objects_give_identical_results(tmp_path: Path) -> None:
    entries = [json.loads(line) for line in SCENARIO.read_text().splitlines()]
    broken = load_entry("storage_objects_get")
    del broken["timestamp"], broken["receiveTimestamp"]  # alice's, unreadable
    entries.append(broken)
    lines = tmp_path / "export.jsonl"
    lines.write_text("".join(json.dumps(e) + "\n" for e in entries))
    array = tmp_path / "export.json"
    array.write_text(json.dumps(entries, indent=2))
    pretty = tmp_path / "entries.json"
    pretty.write_text("\n".join(json.dumps(e, indent=2) for e in entries))

    results = [read_all(FileSource(p)) for p in (lines, array, pretty)]

    assert results[0][0] and results[0][2]  # events, and alice's unreadable entry
    # Line numbers differ by layout; what was read, and whose gap each is, does not.
    shapes = [
        (found, gaps, {p: [g.split(":")[-1] for g in gs] for p, gs in personal.items()}, read)
        for found, gaps, personal, read in results
    ]
    assert shapes[0] == shapes[1] == shapes[2]


def test_a_deeply_nested_entry_is_skipped_with_its_reason_and_the_rest_is_read(
    tmp_path: Path,
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    good = json.dumps(load_entry("storage_objects_get"))
    path = tmp_path / "deep.json"
    path.write_text(f'[{deep}, {{"note": "a \\"]\\" inside"}}, {good}]')

    source = FileSource(path)

    assert ids(source) == ["1k9x2fhe3c1q"]
    assert any("nested too deeply" in reason for _, reason in source.accounting.unreadable)
    assert source.accounting.read == 3

    lines = tmp_path / "deep.jsonl"
    lines.write_text(deep + "\n" + good + "\n")
    assert ids(FileSource(lines)) == ["1k9x2fhe3c1q"]
