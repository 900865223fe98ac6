"""One reading of every request file: the loader's, or a fast path proven equal to it (LAPSE112)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generator.checks.loading import load
from generator.checks.plain_reading import plain_reading, quick_expiry
from generator.checks.validate import validate_repo
from generator.core.repo import Repo
from generator.core.times import parse_instant
from tests.acceptance.cli import lapse
from tests.acceptance.test_review_windows import set_iam_policy
from tests.lanes import examples
from tests.support import REPO, export_manifest, make_repo, place

GRANTS = "grants:\n  - role: roles/cloudsql.client\n    project: pci-prod-payments\n"
ARCHIVED = "archive/pci-prod/2026-12/inc-5000-two-readings.yaml"

# A decoy `expires` line inside a multi-line quoted reason, and the real key spelled with an
# escape, so that a line reader and YAML see two different windows.
TWO_READINGS = (
    "requester: alice@example.com\n"
    'reason: "Investigate the settlement batch\n'
    "expires: 2026-12-01T00:00:00Z\n"
    ' for merchant 4411"\n'
    "ticket: INC-5000\n"
    '"\\x65xpires": 2026-12-15T13:00:00Z\n' + GRANTS
)


def test_the_decoy_and_the_escaped_key_are_refused_where_they_stand(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, ARCHIVED, TWO_READINGS)
    place(root, "requests/pci-prod/inc-5001-two-readings.yaml", TWO_READINGS)

    found = validate_repo(Repo.at(root), now=None).problems

    located = {(p.path, p.line, p.col) for p in found if p.rule == "LAPSE112"}
    for path in (ARCHIVED, "requests/pci-prod/inc-5001-two-readings.yaml"):
        assert (path, 3, 1) in located  # the decoy line inside `reason`
        assert (path, 6, 1) in located  # the escaped key
    decoy = next(p for p in found if p.rule == "LAPSE112" and p.line == 3)
    assert "'expires'" in decoy.message and "'reason'" in decoy.message


def test_the_fast_path_does_not_answer_for_such_a_file() -> None:
    assert quick_expiry(TWO_READINGS.encode()) is None


def test_the_review_reviews_the_grant_by_its_real_window(tmp_path: Path) -> None:
    # Filed under the month of its real `expires`: the scheduled review of that day must read
    # it and find the SetIamPolicy done inside the window, not report "0 grants reviewed".
    root = make_repo(tmp_path / "repo")
    place(root, ARCHIVED, TWO_READINGS)
    log = tmp_path / "audit.jsonl"
    entry = set_iam_policy(
        "backdoor",
        "2026-12-15T12:00:00Z",
        by="alice@example.com",
        member="user:mallory@example.com",
        title="backdoor",
    )
    log.write_text(json.dumps(entry) + "\n")
    export_manifest(log)

    run = lapse(f"review --source file:{log} --until 2026-12-16T00:00:00Z --since 2d", cwd=root)

    assert run.code == 1, run.out + run.err
    report = json.loads((root / "reports/pci-prod/2026-12/inc-5000-two-readings.json").read_text())
    assert ("CRITICAL", "persistence") in {(f["severity"], f["kind"]) for f in report["findings"]}


@pytest.mark.parametrize(
    ("spelling", "line"),
    [
        ('"expires": 2026-12-15T13:00:00Z\n', 4),
        ("'expires': 2026-12-15T13:00:00Z\n", 4),
        ('"exp\\u0069res": 2026-12-15T13:00:00Z\n', 4),
        ("? expires\n: 2026-12-15T13:00:00Z\n", 4),
    ],
    ids=["double-quoted", "single-quoted", "unicode-escape", "explicit-key"],
)
def test_every_other_spelling_of_a_key_is_refused(spelling: str, line: int) -> None:
    text = "requester: alice@example.com\nreason: Investigate\nticket: INC-5000\n" + spelling
    raw = (text + GRANTS).encode()
    document = load("r.yaml", raw).document
    assert document is not None

    found = plain_reading(document, raw)

    assert [(p.rule, p.line) for p in found][:1] == [("LAPSE112", line)]
    assert quick_expiry(raw) is None


def test_a_request_written_as_one_flow_mapping_is_refused() -> None:
    raw = (
        b"{requester: alice@example.com, reason: Investigate, ticket: INC-5000,\n"
        b" expires: 2026-12-15T13:00:00Z,\n"
        b" grants: [{role: roles/cloudsql.client, project: pci-prod-payments}]}\n"
    )
    document = load("r.yaml", raw).document
    assert document is not None

    found = {(p.rule, p.line, p.col) for p in plain_reading(document, raw)}

    assert {("LAPSE112", 1, 2), ("LAPSE112", 2, 2), ("LAPSE112", 3, 2)} <= found
    assert quick_expiry(raw) is None


def test_a_key_name_inside_a_flow_value_is_refused() -> None:
    raw = (
        "requester: alice@example.com\nreason: [Investigate,\nexpires: 2026-12-01T00:00:00Z,\n"
        " batch]\nticket: INC-5000\nexpires: 2026-12-15T13:00:00Z\n" + GRANTS
    ).encode()
    document = load("r.yaml", raw).document
    assert document is not None

    assert [(p.rule, p.line) for p in plain_reading(document, raw)] == [("LAPSE112", 3)]


def test_what_lapse_writes_reads_plainly_and_takes_the_fast_path() -> None:
    for path in sorted((REPO / "requests").rglob("*.yaml")):
        raw = path.read_bytes()
        document = load(path.name, raw).document
        assert document is not None
        assert plain_reading(document, raw) == []
        quick = quick_expiry(raw)
        assert quick is not None, path
        assert quick[0] == parse_instant(document.data["expires"])
        assert quick[1:] == document.at("expires")


# Adversarial request texts: keys spelled every way YAML allows, values in every scalar style,
# decoy `expires:` lines placed inside other values, and continuations after the real one.
_INSTANTS = st.sampled_from(
    ["2026-12-01T00:00:00Z", "2026-12-15T13:00:00Z", "2027-01-31T23:59:59+05:30"]
)
_KEY_SPELLINGS = st.sampled_from(
    ["expires"] * 5 + ['"expires"', "'expires'", '"\\x65xpires"', '"exp\\u0069res"', "? expires\n"]
)


@st.composite
def _scalar(draw: st.DrawFn, decoy: str) -> str:
    words = draw(st.sampled_from(["Investigate", "batch #7", "it's", 'a "quote"', "x: y"]))
    style = draw(st.sampled_from(["plain"] * 4 + ["double", "single", "folded", "literal", "flow"]))
    inside = draw(st.booleans())
    if style == "plain":
        return words
    after = draw(st.sampled_from(["\n more", "\nmore", ""]))  # the line after the decoy
    if style == "double":
        body = words.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{body}\n{decoy}{after}"' if inside else f'"{body}"'
    if style == "single":
        body = words.replace("'", "''")
        return f"'{body}\n{decoy}{after}'" if inside else f"'{body}'"
    if style == "flow":
        return f"[{words!r},\n{decoy},\n x]" if inside else "[a, b]"
    indicator = "|" if style == "literal" else ">"
    return f"{indicator}\n  {words}\n{decoy if inside else '  more'}\n  end"


@st.composite
def request_texts(draw: st.DrawFn) -> str:
    real = draw(_INSTANTS)
    decoy = f"expires: {draw(_INSTANTS)}"
    key = draw(_KEY_SPELLINGS)
    value_quote = draw(st.sampled_from(["", "", '"', "'"]))
    separator = "" if key.endswith("\n") else " "
    expires = f"{key}:{separator}{value_quote}{real}{value_quote}"
    tail = draw(
        st.sampled_from(["", "", "", "\n  continued", "\n# note", "\n\n  later", " # note"])
    )
    lines = [
        "requester: alice@example.com",
        f"reason: {draw(_scalar(decoy))}",
        "ticket: INC-5000",
        expires + tail,
        GRANTS.rstrip("\n"),
    ]
    order = draw(st.permutations(range(len(lines))))
    # Mostly LF; now and then a break YAML counts as a line and `^` does not.
    breaks = draw(
        st.lists(
            st.sampled_from(["\n"] * 6 + ["\r\n", "\r", "\x85", "\u2028"]),
            min_size=len(lines),
            max_size=len(lines),
        )
    )
    return "".join(lines[i] + end for i, end in zip(order, breaks, strict=True))


@pytest.mark.slow
@settings(
    max_examples=examples(600),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(request_texts())
@example(TWO_READINGS)
@example(TWO_READINGS.replace(" for merchant", "for merchant"))  # the value goes on at column 1
def test_the_fast_path_agrees_with_the_loader_or_validation_refuses(text: str) -> None:
    raw = text.encode()
    quick = quick_expiry(raw)
    document = load("r.yaml", raw).document
    if quick is None or document is None:
        return  # the loader decides alone, or refuses the file
    # Stronger than "validation refuses it or they agree": wherever the loader reads the file,
    # the fast path, when it answers, says what the loader says.
    value = document.data.get("expires")
    assert isinstance(value, str)
    assert quick[0] == parse_instant(value)
    assert quick[1:] == document.at("expires")
    assert plain_reading(document, raw) == []


@settings(max_examples=examples(400), derandomize=True, deadline=None)
@given(request_texts())
def test_a_file_that_reads_plainly_has_its_expires_on_the_one_line_that_says_so(
    text: str,
) -> None:
    raw = text.encode()
    document = load("r.yaml", raw).document
    if document is None or plain_reading(document, raw) or "expires" not in document.data:
        return
    starting = [n for n, line in enumerate(text.split("\n"), 1) if line.startswith("expires:")]
    # Line numbers as a line reader counts them: LF, and CRLF (the only breaks LAPSE112 allows).
    assert starting == [document.at("expires", key=True)[0]]


@pytest.mark.parametrize("odd", ["\r", "\x85", "\u2028", "\u2029"], ids=["cr", "nel", "ls", "ps"])
def test_a_line_break_that_diffs_do_not_show_is_refused(odd: str) -> None:
    raw = f"requester: alice@example.com\nreason: Investigate{odd}ticket: INC-5000\n".encode()
    document = load("r.yaml", raw).document
    assert document is not None and document.data["ticket"] == "INC-5000"  # a key to YAML

    assert [(p.rule, p.line, p.col) for p in plain_reading(document, raw)] == [("LAPSE112", 2, 20)]


def test_crlf_files_read_plainly() -> None:
    raw = (REPO / "requests/pci-prod/inc-4512-settlement-batch.yaml").read_bytes()
    crlf = raw.replace(b"\n", b"\r\n")
    document = load("r.yaml", crlf).document
    assert document is not None

    assert plain_reading(document, crlf) == []
