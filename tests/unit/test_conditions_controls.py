"""CEL evaluation decides whether a binding is active: only a real boolean may say yes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from generator.terraform.conditions import ConditionError, evaluate, instants, window

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)
START = datetime(2026, 12, 1, 9, tzinfo=UTC)
END = datetime(2026, 12, 1, 13, tzinfo=UTC)
BOTH = (
    'request.time >= timestamp("2026-12-01T09:00:00Z") && '
    'request.time < timestamp("2026-12-01T13:00:00Z")'
)


@pytest.mark.parametrize(
    ("expression", "kind"),
    [
        ("1", "IntType"),
        ("0", "IntType"),
        ("1u", "UintType"),
        ("1.5", "DoubleType"),
        ("request.time", "TimestampType"),
        ('timestamp("2026-12-01T13:00:00Z")', "TimestampType"),
        ('duration("3600s")', "DurationType"),
        ("[true]", "ListType"),
        ("{'a': true}", "MapType"),
        ("null", "NoneType"),
        ('b"true"', "BytesType"),
    ],
)
def test_a_condition_that_is_not_a_boolean_is_an_error(expression: str, kind: str) -> None:
    with pytest.raises(ConditionError, match="not a bool") as caught:
        evaluate(expression, AT)
    assert kind in str(caught.value)


def test_a_condition_that_cannot_be_evaluated_is_named_in_the_error() -> None:
    expression = 'request.time < timestamp("2026-02-31T00:00:00Z")'
    with pytest.raises(ConditionError) as caught:
        evaluate(expression, AT)
    assert str(caught.value).startswith(f"cannot evaluate {expression!r}: ")


@pytest.mark.parametrize(("expression", "value"), [("true", True), ("false", False)])
def test_boolean_literals_are_what_they_say(expression: str, value: bool) -> None:
    assert evaluate(expression, AT) is value


def test_the_window_is_half_open() -> None:
    assert evaluate(BOTH, START) is True
    assert evaluate(BOTH, START - timedelta(microseconds=1)) is False
    assert evaluate(BOTH, END - timedelta(microseconds=1)) is True
    assert evaluate(BOTH, END) is False
    assert window(BOTH) == (START, END)


def test_an_expiry_only_condition_has_no_start() -> None:
    assert window('request.time < timestamp("2026-12-01T13:00:00Z")') == (None, END)


def test_a_condition_that_never_ends_has_no_expiry() -> None:
    assert window('request.time >= timestamp("2026-12-01T09:00:00Z")') == (START, None)


def test_a_second_window_does_not_move_the_first_start() -> None:
    expression = (
        f"({BOTH}) || "
        '(request.time >= timestamp("2026-12-02T09:00:00Z") && '
        'request.time < timestamp("2026-12-02T13:00:00Z"))'
    )
    assert window(expression) == (START, datetime(2026, 12, 2, 13, tzinfo=UTC))


def test_an_instant_where_nothing_changes_is_no_expiry() -> None:
    # A later bound that never decides (the condition is already false there) and a condition
    # that is never true: neither turns from true to false, so neither is an expiry.
    later = f'({BOTH}) && request.time < timestamp("2026-12-02T13:00:00Z")'
    assert window(later) == (START, END)
    never = (
        'request.time < timestamp("2026-12-01T09:00:00Z") && '
        'request.time >= timestamp("2026-12-01T13:00:00Z")'
    )
    assert window(never) == (None, None)


def test_an_empty_list_or_map_in_a_condition_is_not_read_as_a_call() -> None:
    # `[]` and `{}` are the only nodes of CEL's tree without children: only a call named
    # `timestamp` may be looked into for an instant.
    expression = f"({BOTH}) && [] == [] && {{}} == {{}}"
    assert instants(expression) == (START, END)
    assert window(expression) == (START, END)


def test_an_inactive_binding_has_no_time_left() -> None:
    from generator.core.model import Binding
    from generator.terraform.conditions import judge

    binding = Binding(
        "a.b", "b.tf", "project", "p", "roles/x", "user:a@example.com", "lapse/x/1", "d", BOTH
    )
    before = judge(binding, START - timedelta(hours=1))
    assert not before.active and before.expires == END
    assert before.time_left(START - timedelta(hours=1)) is None
    assert judge(binding, AT).time_left(AT) == timedelta(hours=3)
