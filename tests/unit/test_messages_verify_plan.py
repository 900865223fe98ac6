"""What `verify-plan` says when a planned binding is not what its request renders, word for word:
both values as JSON with their keys sorted, non-ASCII text as written, cut at 300 characters."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from tests import plans
from tests.plans import History, binding, serve_history
from tests.unit.test_verify_plan import (
    REQUEST,
    TEAMS,
    TEXT,
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


# --- why a request's approval does not count ------------------------------------------------


def test_a_request_pushed_without_a_pull_request_has_no_approval(
    history: History, http: responses.RequestsMock
) -> None:
    history.write({REQUEST: TEXT})
    plans.git(history.root, "add", "-A")
    plans.git(history.root, "commit", "-qm", "pushed straight to main")
    pushed = plans.git(history.root, "rev-parse", "HEAD")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, binding(rendered(history.root)))

    assert code == 1
    (entry,) = evidence["changes"]
    said = f"{pushed[:12]}: no pull request merged this commit"
    assert entry["approvals"] == [
        {
            "commit": pushed,
            "pull_request": None,
            "approvers": [],
            "review_ids": [],
            "reasons": [said],
        }
    ]
    assert said in entry["reason"]


def test_an_approval_of_other_bytes_names_the_commit_it_approved(
    history: History, http: responses.RequestsMock
) -> None:
    later = TEXT.replace("2026-11-30T13:00:00Z", "2030-11-30T13:00:00Z")
    pull, (approved, _) = history.pull_request(42, "alice-ng", {REQUEST: TEXT}, {REQUEST: later})
    pull.approve("carol-diaz", commit=approved.upper())  # shown as git spells it
    pull.approve("dave-li", commit=None)
    pull.reviews[-1]["commit_id"] = None
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, binding(rendered(history.root)))

    assert code == 1
    (approval,) = evidence["changes"][0]["approvals"]
    assert approval["reasons"] == [
        f"no approval of a commit of #42 where {REQUEST} held its current bytes by an approver "
        "of pci-prod (@example-org/pci-access-approvers) other than the author and the "
        f"requester (@carol-diaz approved {approved[:12]}, where {REQUEST} held other bytes than "
        "it does now; @dave-li approved no known commit)"
    ]
