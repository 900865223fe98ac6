"""Every rendered binding is active inside its window and inactive at and after `expires`.

The verdicts come from cel-python evaluating the condition read back from the rendered
Terraform, exactly the text IAM will evaluate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.checks.validate import validate_repo
from generator.core.model import Binding, Grant, Request, Window
from generator.core.repo import Repo
from generator.terraform.bindings import read_bindings
from generator.terraform.conditions import ConditionError, evaluate, judge, window
from generator.terraform.render import render_all
from tests.lanes import examples
from tests.support import REPO

SECOND = timedelta(seconds=1)


def _bindings_of(requests: list[Request], folder: Path) -> list[Binding]:
    for name, text in render_all(requests).items():
        (folder / name).write_text(text)
    return read_bindings(folder)


def test_the_repository_samples_expire(tmp_path: Path) -> None:
    requests = list(validate_repo(Repo.at(REPO), now=None).requests)
    by_title = {b.title: b for b in _bindings_of(requests, tmp_path)}
    assert len(by_title) == sum(len(r.grants) for r in requests)
    for request in requests:
        mine = [b for t, b in by_title.items() if t.startswith(f"lapse/{request.id}/")]
        assert len(mine) == len(request.grants)
        for binding in mine:
            _assert_window(binding.expression, request.window)


def _assert_window(expression: str, span: Window) -> None:
    begin = span.starts or span.expires - timedelta(days=30)
    assert evaluate(expression, begin)
    assert evaluate(expression, span.expires - SECOND)
    assert evaluate(expression, span.expires - timedelta(microseconds=1))
    assert not evaluate(expression, span.expires)
    assert not evaluate(expression, span.expires + timedelta(days=365))
    if span.starts is not None:
        assert not evaluate(expression, span.starts - SECOND)


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@pytest.mark.slow
@settings(max_examples=examples(300), deadline=None)
@given(
    start=st.one_of(st.none(), instants),
    length=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=30)),
    kind=st.sampled_from(
        ["project", "bucket", "secret", "dataset", "folder", "organization", "service_account"]
    ),
)
def test_generated_requests_expire(
    start: datetime | None, length: timedelta, kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    resources = {
        "project": "pci-prod-payments",
        "bucket": "settlement-exports",
        "secret": "projects/pci-prod-payments/secrets/s",
        "dataset": "p-roject.d",
        "folder": "folders/1",
        "organization": "1",
        "service_account": "a-b-c@pci-prod-payments.iam.gserviceaccount.com",
    }
    start = start.replace(microsecond=0) if start else None
    expires = (start or datetime(2100, 1, 1, tzinfo=UTC)) + length
    expires = expires.replace(microsecond=0) + SECOND
    request = Request(
        "inc-1-x",
        "pci-prod",
        "requests/pci-prod/inc-1-x.yaml",
        "alice@example.com",
        "Because",
        "INC-1",
        Window(start, expires),
        (Grant("roles/cloudsql.client", kind, resources[kind]),),
    )
    (binding,) = _bindings_of([request], tmp_path_factory.mktemp("grants"))
    _assert_window(binding.expression, request.window)
    assert window(binding.expression) == (start, expires)


def test_judge_reports_window_and_time_left() -> None:
    expression = (
        'request.time >= timestamp("2026-12-01T09:00:00Z") && '
        'request.time < timestamp("2026-12-01T13:00:00Z")'
    )
    binding = Binding(
        "a.b", "b.tf", "project", "p", "roles/x", "user:a@example.com", "lapse/x/1", "d", expression
    )
    at = datetime(2026, 12, 1, 10, tzinfo=UTC)
    verdict = judge(binding, at)
    assert verdict.active
    assert verdict.starts == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert verdict.time_left(at) == timedelta(hours=3)
    assert not judge(binding, datetime(2026, 12, 1, 13, tzinfo=UTC)).active


@pytest.mark.parametrize(
    "expression",
    [
        "request.time < ",
        'request.time < timestamp("2026-02-31T00:00:00Z")',
        '"a string"',
        'resource.name.startsWith("x")',
    ],
)
def test_an_expression_it_cannot_evaluate_is_an_error_not_a_guess(expression: str) -> None:
    with pytest.raises(ConditionError):
        evaluate(expression, datetime(2026, 1, 1, tzinfo=UTC))
