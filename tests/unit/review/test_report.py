"""Review reports: the INCOMPLETE banner, escaping of hostile text, determinism, exit codes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import PurePosixPath

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from generator.review.analysis import Review, review
from generator.review.escaping import code, md, mermaid
from generator.review.report import (
    _iso,
    exit_code,
    json_report,
    markdown_report,
    report_path,
    reports,
    review_data,
    summary_report,
)
from tests.lanes import examples

from .conftest import GRACE, at, event, fixture_event, request, subject

HOSTILE = "x | y\nz\r\n# Heading\n<script>alert(1)</script> @example-org/security `tick` *b* [l](u)"
BUCKET = "projects/_/buckets/settlement-exports/objects"
APPROVAL = {
    "pull_request": "https://github.com/example-org/access/pull/42",
    "approved_by": ["dana-k"],
    "merged_at": at("2026-12-01T08:55:00"),
}


def clean_review(**options: object) -> Review:
    events = [fixture_event("storage_objects_get"), fixture_event("cloudsql_connect")]
    return review(subject(**options), events, grace=GRACE)


def hostile_review() -> Review:
    bad = event(
        insert_id="id|with\nnewline",
        method="evil: task #1; click x",
        resource="projects/_/buckets/other|bucket/objects/<img src=x onerror=alert(1)>",
    )
    return review(
        subject(request(id="inc-4513-hostile", reason=HOSTILE)),
        [bad],
        grace=GRACE,
        gaps=["projects/p: " + HOSTILE],
    )


def lines_after_title(markdown: str) -> list[str]:
    lines = [line for line in markdown.splitlines() if line.strip()]
    assert lines[0].startswith("# Post-access review: ")
    return lines[1:]


def test_incomplete_banner_is_the_first_line_after_the_title() -> None:
    result = review(subject(), [event()], grace=GRACE, gaps=["projects/p [a, b): 503", "file: x"])
    following = lines_after_title(markdown_report(result))
    assert following[0].startswith("**INCOMPLETE**")
    assert following[1:3] == ["- projects/p \\[a, b): 503", "- file: x"]


def test_complete_review_says_so() -> None:
    following = lines_after_title(markdown_report(clean_review()))
    assert following[0].startswith("**Complete**")
    assert "INCOMPLETE" not in markdown_report(clean_review())


def test_hostile_text_cannot_break_tables_or_inject_html() -> None:
    markdown = markdown_report(hostile_review(), APPROVAL)
    # Inside a code span HTML is shown as typed; everywhere else it must be escaped.
    outside_code = re.sub(r"`[^`]*`", "", markdown)
    assert "<script>" not in outside_code
    assert "<img" not in outside_code
    assert "&lt;script&gt;" in markdown
    assert "\n# Heading" not in markdown
    assert "@example-org" not in markdown
    assert "id\\|with newline" in markdown


def test_table_rows_have_as_many_cells_as_their_header() -> None:
    """No unescaped `|` or newline from a log or request made it into a table cell."""
    markdown = markdown_report(hostile_review(), APPROVAL)
    lines = markdown.splitlines()
    for index, line in enumerate(lines):
        if re.fullmatch(r"\|(-+:?\|)+", line.replace("---:", "---")):
            width = len(re.split(r"(?<!\\)\|", lines[index - 1]))
            row = index + 1
            while row < len(lines) and lines[row].startswith("|"):
                assert len(re.split(r"(?<!\\)\|", lines[row])) == width, lines[row]
                row += 1


def test_mermaid_task_names_are_inert() -> None:
    markdown = markdown_report(hostile_review())
    chart = markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]
    for line in chart.splitlines():
        if ":" in line and not line.strip().startswith(("dateFormat", "axisFormat")):
            name = line.split(":", 1)[0]
            assert "#" not in name and ";" not in name
    assert "evil task 1 click x" in chart


def test_escaping_functions() -> None:
    assert md("a|b\nc") == "a\\|b c"
    assert md("<b>") == "&lt;b&gt;"
    assert md("# x") == "\\# x"
    assert md("1. x") == "1\\. x"
    assert md("ping @org/team") == "ping &#64;org/team"
    assert code("a|b") == "`a\\|b`"
    assert code("a`b") == "``a`b``"
    assert code("`") == "`` ` ``"
    assert mermaid("a: b # c; d\ne") == "a b c d e"
    assert mermaid("") == "unnamed"


def _md_char_by_char(text: object) -> str:
    """`md` as it was first written, one character at a time: the reference for its speed-up."""
    from generator.review import escaping

    line = escaping._INLINE_SPECIAL.sub(r"\\\1", escaping.one_line(text))
    line = escaping._LEADING_SPECIAL.sub(escaping._escape_leading, line)
    html = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
    line = "".join(html.get(char, char) for char in line)
    return escaping._MENTION.sub("&#64;", line)


@settings(max_examples=examples(1000))
@given(st.text(alphabet=st.sampled_from(list("&<>;amp#@1.-| a\n`*_")) | st.characters()))
@example("&lt; & <&> &amp;gt;")
def test_md_escapes_html_as_character_by_character(text: str) -> None:
    assert str(md(text)) == _md_char_by_char(text)


def test_json_is_deterministic_and_sorted() -> None:
    first = json_report(hostile_review(), APPROVAL)
    assert first == json_report(hostile_review(), dict(reversed(list(APPROVAL.items()))))
    data = json.loads(first)
    assert list(data) == sorted(data)
    assert data["complete"] is False
    assert data["request"]["reason"] == HOSTILE
    assert data["findings"][0]["evidence"] == ["id|with\nnewline"]
    assert data["approval"]["merged_at"] == "2026-12-01T08:55:00+00:00"


def test_json_carries_the_review() -> None:
    data = review_data(clean_review(), APPROVAL)
    assert data["window"] == {
        "start": "2026-12-01T09:00:00Z",
        "start_from": "`starts` in the request (enforced by the IAM condition)",
        "end": "2026-12-01T13:00:00Z",
        "grace_seconds": 600,
    }
    assert data["events"] == {"in_window": 2, "after": 0}
    assert data["worst"] is None
    assert [p["requirement"] for p in data["pci_dss"]] == [
        "7.2.4",
        "10.2.1",
        "10.4.1",
        "10.4.3",
        "12.10.x",
        "8.2.6, 8.2.7",
    ]


def test_report_markdown_cites_requirements_and_evidence() -> None:
    result = review(
        subject(), [event(at_time="2026-12-01T15:00:00", insert_id="late-1")], grace=GRACE
    )
    markdown = markdown_report(result)
    assert "| **CRITICAL** | binding-not-expired |" in markdown
    assert "`late-1`" in markdown
    for requirement in ("7.2.4", "10.2.1", "10.4.1", "10.4.3", "12.10.x", "8.2.6, 8.2.7"):
        assert f"| {requirement} |" in markdown


def test_report_path_uses_the_month_of_the_window_end() -> None:
    result = review(subject(request(expires="2027-01-01T00:30:00")), [], grace=GRACE)
    assert report_path(result, "md") == PurePosixPath(
        "reports/pci-prod/2027-01/inc-4512-settlement-batch.md"
    )
    with pytest.raises(ValueError, match="report path"):
        report_path(review(subject(request(id="../x")), [], grace=GRACE), "md")


def test_exit_code() -> None:
    assert exit_code([clean_review()]) == 0
    assert exit_code([review(subject(), [], grace=GRACE)]) == 0  # INFO only
    denied = event(status=7, permissions=(("storage.objects.get", "x", False),))
    assert exit_code([review(subject(), [denied], grace=GRACE)]) == 1  # MEDIUM is a deviation
    assert exit_code([clean_review(), hostile_review()]) == 1
    assert exit_code([review(subject(), [event()], grace=GRACE, gaps=["gap"])]) == 1


def test_summary_report() -> None:
    inside = clean_review()
    later = review(
        subject(request(id="inc-4600-later", expires="2027-02-01T00:00:00")), [], grace=GRACE
    )
    markdown, text = summary_report(
        [later, hostile_review(), inside], at("2026-12-01T00:00:00"), at("2027-01-01T00:00:00")
    )
    data = json.loads(text)
    assert [r["id"] for r in data["reviews"]] == ["inc-4512-settlement-batch", "inc-4513-hostile"]
    assert data["totals"]["reviews"] == 2
    assert data["totals"]["incomplete"] == 1
    assert data["totals"]["HIGH"] == 1
    assert "**INCOMPLETE**" in markdown
    assert "<script>" not in markdown
    assert (
        text
        == summary_report(
            [inside, hostile_review()], at("2026-12-01T00:00:00"), at("2027-01-01T00:00:00")
        )[1]
    )


def test_addresses_read_plainly_in_the_raw_markdown_and_mentions_stay_inert() -> None:
    assert md("alice@example.com") == "alice@example.com"
    assert md("cc @org/team and (@bob)") == "cc &#64;org/team and (&#64;bob)"
    markdown = markdown_report(clean_review())
    assert "| Requester | alice@example.com |" in markdown
    assert "&#64;" not in markdown


def test_thousands_of_reads_fold_into_one_row_with_examples_and_the_json_keeps_all() -> None:
    reads = [
        event(
            at_time=f"2026-12-01T10:{i // 100:02d}:{i % 60:02d}",
            resource=f"projects/_/buckets/settlement-exports/objects/batch-{i:04d}.csv",
            insert_id=f"read-{i}",
        )
        for i in range(5000)
    ]
    result = review(subject(), reads, grace=GRACE)

    markdown = markdown_report(result)
    rows = [line for line in markdown.splitlines() if "storage.objects.get" in line]
    assert len(rows) == 1
    assert "5,000 resources, e.g." in rows[0] and "| 5000 |" in rows[0]
    assert "2026-12-01T10:00:00Z" in rows[0]  # first
    assert len(markdown) < 20_000
    assert len(review_data(result)["actions"]) == 5000


def test_gantt_labels_stay_distinct_when_long_names_share_a_prefix() -> None:
    prefix = "projects/_/buckets/settlement-exports/objects/" + "very-long-folder-name/" * 5
    events = [
        event(at_time=f"2026-12-01T10:0{i}:00", resource=f"{prefix}file-{i}.csv", insert_id=f"e{i}")
        for i in range(3)
    ]
    chart = markdown_report(review(subject(), events, grace=GRACE)).split("section Activity")[1]
    labels = [line.split(":", 1)[0].strip() for line in chart.splitlines() if ":done" in line]
    assert len(labels) == 3 and len(set(labels)) == 3
    assert all(f"file-{i}.csv" in label for i, label in enumerate(labels))


def test_both_reports_of_one_reading_are_those_written_apart() -> None:
    # Actions in the window, after it, folded (more than FOLD_OVER resources) and not.
    events = [
        event(at_time=f"2026-12-01T{hour}:{minute:02d}:00", resource=f"{BUCKET}/{minute}.csv")
        for hour in ("09", "14")
        for minute in range(6)
    ]
    events.append(fixture_event("cloudsql_connect"))
    for item in (review(subject(), events, grace=GRACE), clean_review(), hostile_review()):
        assert item.actions
        assert reports(item, APPROVAL) == (
            markdown_report(item, APPROVAL),
            json_report(item, APPROVAL),
        )
    assert reports(item) == (markdown_report(item), json_report(item))


@settings(max_examples=examples(500), derandomize=True, database=None, deadline=None)
@given(
    moment=st.datetimes(
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))])
    )
)
@example(moment=datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
@example(moment=datetime(2026, 12, 1, 10, 0, 0, 1, tzinfo=UTC))
def test_times_are_written_as_rfc3339_in_utc(moment: datetime) -> None:
    in_utc = moment.astimezone(UTC).isoformat(timespec="microseconds")
    assert _iso(moment) == in_utc.replace(".000000+00:00", "Z").replace("+00:00", "Z")
