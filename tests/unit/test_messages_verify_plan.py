"""What `verify-plan` says when a planned binding is not what its request renders, word for word:
both values as JSON with their keys sorted, non-ASCII text as written, cut at 300 characters."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from tests.plans import History, binding, serve_history
from tests.unit.test_verify_plan import (
    REQUEST,
    TEAMS,
    approved_request,
    history,
    rendered,
    verify,
)

__all__ = ["history"]  # the fixture


def refusal(
    history: History,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    **overrides: Any,
) -> str:
    """What `verify-plan` says of the sample request's binding planned with `overrides`."""
    approved_request(history)
    serve_history(http, history, TEAMS)
    block = rendered(history.root)
    code, _ = verify(history, binding(block, **overrides))
    out = capsys.readouterr().out
    assert code == 1
    head = (
        f"refused: module.grants.{block.type}.{block.name} (create): not what {REQUEST} renders: "
    )
    (line,) = [line for line in out.splitlines() if line.startswith(head)]
    return line.removeprefix(head)


def test_a_different_value_is_shown_as_written(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    said = refusal(history, http, capsys, member="user:jösé@example.com")
    assert said == 'member is "user:jösé@example.com", the request renders "user:alice@example.com"'


def test_a_key_lapse_never_writes_is_shown_with_its_keys_sorted(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    said = refusal(history, http, capsys, labels={"b": 1, "a": "é"})
    assert said == 'labels is set to {"a": "é", "b": 1}, which lapse never writes'


def test_a_long_value_is_cut_at_300_characters(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    member = "user:" + "a" * 400 + "@example.com"
    said = refusal(history, http, capsys, member=member)
    assert (
        said
        == f'member is {json.dumps(member)[:300]}, the request renders "user:alice@example.com"'
    )
