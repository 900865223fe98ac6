"""The reports' fast ways answer as the long ways do.

`reports` reads a review's rows as the ledger holds them (key order, times in microseconds),
folds them without an `ActionCount` per row and writes each JSON row straight from one; the
long way is `markdown_report` and `json_report`, which read `Review.actions`. The Markdown's
rows and gantt lines are joined in Python, as the template's loops wrote them; `code` spans
plain identifiers without its regular expressions.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from generator.review import ledger as ledger_module
from generator.review.action_rows import fold, folded, iso_micros
from generator.review.analysis import ActionCount, Review, review
from generator.review.escaping import _code_span, code
from generator.review.ledger import ActionLedger, Key, busiest, micros, moment
from generator.review.report import (
    _action_rows,
    _environment,
    _gantt,
    _iso,
    _task_lines,
    json_report,
    markdown_report,
    reports,
)
from tests.lanes import examples

from .conftest import GRACE, subject

START = datetime(2026, 12, 1, 9, tzinfo=UTC)
APPROVAL = {"pull_request": "#42", "approved_by": ["dana-k"], "merged_at": START}
# What the template wrote, one loop per row, before the rows were joined in Python.
ROWS_LOOP = (
    "{% for action in actions %}\n"
    "| {{ action.service | code }} | {{ action.method | code }} |"
    " {{ action.resource | code }} | {{ action.count }} | {{ action.denied }} |"
    " {{ action.first | iso }} | {{ action.last | iso }} |\n"
    "{% endfor %}\n"
)
TASKS_LOOP = (
    "{% for task in tasks %}\n"
    "    {{ task.name | mermaid }} :{{ task.state }}, {{ task.start }}, {{ task.end }}\n"
    "{% endfor %}\n"
)

# Names with what escaping must see to: non-ASCII, pipes, backticks, line breaks, spaces
# (no lone surrogate: the ledger's file holds UTF-8).
hostile = st.text(
    st.sampled_from(list("ab/_.-é€😀 |`*#<>@\n\t\u2028\xa0\x85\x7f\x00"))
    | st.characters(blacklist_categories=("Cs",)),
    max_size=8,
)
services = st.sampled_from(["storage.googleapis.com", "bigquery", "sérvice", ""])
methods = st.sampled_from(["storage.objects.get", "objects.list", "mé`thod|x", ""])
resources = st.sampled_from(["", "projects/_/buckets/b", "a", "b", "c", "d", "ü", "~"]) | hostile
# Instants over a few days, with and without microseconds.
instants = st.one_of(
    st.integers(-(10**11), 10**11),
    st.integers(-(10**5), 10**5).map(lambda n: n * 1_000_000),
).map(lambda n: START + timedelta(microseconds=n))
action = st.tuples(
    st.tuples(st.sampled_from([0, 1]), st.booleans(), services, methods, resources),
    st.booleans(),
    instants,
    st.integers(1, 3),
)
# Besides, one (service, method) on many resources: those fold into one row.
batch = st.builds(
    lambda grant, after, named, done: [
        ((grant, after, "storage.googleapis.com", "storage.objects.get", name), denied, at, 1)
        for name, (denied, at) in zip(named, done, strict=False)
    ],
    st.sampled_from([0, 1]),
    st.booleans(),
    st.lists(resources, max_size=8),
    st.lists(st.tuples(st.booleans(), instants), min_size=8, max_size=8),
)
actions = st.builds(lambda some, more: some + more, st.lists(action, max_size=30), batch)


def reviews_of(ledger: ActionLedger) -> list[Review]:
    base = review(subject(), [], grace=GRACE)
    return [replace(base, ledger=ledger, ledger_key=grant) for grant in (0, 1)]


@settings(max_examples=examples(300), derandomize=True, database=None, deadline=None)
@given(done=actions, held=st.sampled_from([2, 8192]))
def test_both_reports_are_those_of_the_long_way(
    done: list[tuple[Key, bool, datetime, int]], held: int
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger_module, "HELD", held)
        ledger = ActionLedger()
        for key, denied, at, times in done:
            for _ in range(times):
                ledger.add(key, denied, at)
        for item in reviews_of(ledger):
            for after in (False, True):
                listed = item.listed(after=after)
                shown = folded(listed)
                event(f"folded: {any(' resources, e.g. ' in a.resource for a in shown)}")
                assert [(*r[:5], moment(r[5]), moment(r[6])) for r in busiest(listed)] == list(
                    item.ledger.rows(item.ledger_key, after)  # type: ignore[union-attr]
                )
                assert shown == fold(item._actions(after=after))
            for approval in (None, APPROVAL):
                assert reports(item, approval) == (
                    markdown_report(item, approval),
                    json_report(item, approval),
                )


def test_a_review_without_a_ledger_reports_as_the_long_way() -> None:
    item = replace(review(subject(), [], grace=GRACE), ledger=None)
    assert reports(item) == (markdown_report(item), json_report(item))


@settings(max_examples=examples(1000), derandomize=True, database=None, deadline=None)
@given(
    value=st.one_of(
        st.integers(
            micros(datetime(1900, 1, 1, tzinfo=UTC)),
            micros(datetime(8999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ),
        st.integers(-(10**9), 10**9).map(lambda n: n * 1_000_000),
    )
)
@example(value=0)
@example(value=-1)
@example(value=1)
@example(value=micros(datetime(1900, 1, 1, tzinfo=UTC)))
def test_iso_from_microseconds_is_iso_of_the_moment(value: int) -> None:
    assert iso_micros(value) == _iso(moment(value))


@settings(max_examples=examples(1000), derandomize=True, database=None, deadline=None)
@given(text=st.one_of(hostile, st.text(), st.integers(), st.none()))
@example(text="a  b")
@example(text=" a")
@example(text="a ")
@example(text="a\u3000b")
@example(text="")
@example(text="`")
def test_code_of_plain_text_is_the_long_way(text: object) -> None:
    assert code(text) == _code_span(text)
    assert type(code(text)) is type(_code_span(text))


times = st.datetimes(
    min_value=datetime(1900, 1, 2),
    max_value=datetime(8999, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
)
action_counts = st.builds(
    ActionCount,
    hostile,
    hostile,
    hostile,
    st.integers(1, 10**6),
    st.integers(0, 10**6),
    times,
    times,
)


@settings(max_examples=examples(300), derandomize=True, database=None, deadline=None)
@given(rows=st.lists(action_counts, max_size=6), after=st.lists(action_counts, max_size=20))
def test_joined_rows_and_gantt_lines_are_the_template_loops(
    rows: list[ActionCount], after: list[ActionCount]
) -> None:
    environment = _environment()
    if rows:
        loop = environment.from_string(ROWS_LOOP).render(actions=rows)
        assert loop == f"{_action_rows(rows)}\n"
    tasks = _gantt(review(subject(), [], grace=GRACE), rows, after)["tasks"]
    if tasks:
        loop = environment.from_string(TASKS_LOOP).render(tasks=tasks)
        assert loop == f"{_task_lines(tasks)}\n"
