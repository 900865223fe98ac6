"""What `verify-plan` says when a planned binding is not what its request renders, word for word:
both values as JSON with their keys sorted, non-ASCII text as written, cut at 300 characters."""

from __future__ import annotations

import json
from hashlib import sha256
from typing import Any

import pytest
import responses

from tests import plans
from tests.plans import History, binding, serve_history
from tests.unit.test_verify_plan import (
    AUDIT,
    REQUEST,
    TEAMS,
    TEXT,
    approved_request,
    audit_change,
    history,
    rendered,
    verify,
)
from tests.unit.test_verify_plan_controls import configuration_pull

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


# --- the evidence of each verdict on a request's binding -------------------------------------


def test_a_verified_binding_records_its_request_and_who_approved_it(
    history: History, http: responses.RequestsMock
) -> None:
    pull = approved_request(history)
    pull.approve("dave-li")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, binding(rendered(history.root)))

    assert code == 0
    (entry,) = evidence["changes"]
    assert entry["verdict"] == "verified"
    assert entry["reason"] == f"{REQUEST} as approved in #42 by carol-diaz, dave-li"
    assert entry["request"] == {"path": REQUEST, "sha256": sha256(TEXT.encode()).hexdigest()}
    assert [a["review_ids"] for a in entry["approvals"]] == [[r["id"] for r in pull.reviews]]


def test_an_uncommitted_request_is_refused_with_its_digest(history: History) -> None:
    history.write({REQUEST: TEXT})

    code, evidence = verify(history, binding(rendered(history.root)))

    assert code == 1
    (entry,) = evidence["changes"]
    assert (entry["action"], entry["verdict"]) == ("create", "refused")
    assert entry["reason"] == f"{REQUEST} is not committed"
    assert entry["request"] == {"path": REQUEST, "sha256": sha256(TEXT.encode()).hexdigest()}
    assert entry["approvals"] == []


def test_every_reason_a_request_is_refused_is_given(
    history: History, http: responses.RequestsMock
) -> None:
    policy = (history.root / "policy/policy.yaml").read_text() + "# widened\n"
    history.pull_request(42, "alice-ng", {REQUEST: TEXT, "policy/policy.yaml": policy})
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, binding(rendered(history.root)))

    assert code == 1
    (entry,) = evidence["changes"]
    (approval,) = entry["approvals"]
    assert len(approval["reasons"]) == 2
    assert entry["reason"] == f"{REQUEST}: " + "; ".join(approval["reasons"])
    assert entry["request"] == {"path": REQUEST, "sha256": sha256(TEXT.encode()).hexdigest()}


# --- the security owners' approval of a configuration change --------------------------------


def test_a_configuration_change_records_the_security_owner_who_approved_it(
    history: History, http: responses.RequestsMock
) -> None:
    since = plans.git(history.root, "rev-parse", "HEAD")
    pull = configuration_pull(history, 50)
    pull.approve("grace-hopkins")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 0
    (approval,) = evidence["changes"][0]["approvals"]
    assert (approval["commit"], approval["approvers"]) == (pull.merge, ["grace-hopkins"])
    assert approval["review_ids"] == [pull.reviews[0]["id"]]


def test_a_configuration_change_without_a_security_owner_names_the_owners(
    history: History, http: responses.RequestsMock
) -> None:
    policy = history.root / "policy/policy.yaml"
    owners = '  - "@example-org/security"\n'
    policy.write_text(policy.read_text().replace(owners, owners + '  - "@example-org/audit"\n'))
    plans.git(history.root, "commit", "-qam", "A second security team")
    since = plans.git(history.root, "rev-parse", "HEAD")
    configuration_pull(history, 50)
    serve_history(http, history, {**TEAMS, "audit": []})

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 1
    (approval,) = evidence["changes"][0]["approvals"]
    assert approval["reasons"] == [
        "#50 has no approval of its final head by a security owner "
        "(@example-org/security, @example-org/audit)"
    ]


def test_a_configuration_commit_without_a_pull_request_names_the_commit(
    history: History, http: responses.RequestsMock
) -> None:
    since = plans.git(history.root, "rev-parse", "HEAD")
    history.write({AUDIT: (history.root / AUDIT).read_text() + "# pushed\n"})
    plans.git(history.root, "commit", "-qam", "pushed straight to main")
    pushed = plans.git(history.root, "rev-parse", "HEAD")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 1
    (approval,) = evidence["changes"][0]["approvals"]
    assert approval == {
        "commit": pushed,
        "pull_request": None,
        "approvers": [],
        "review_ids": [],
        "reasons": [f"{pushed[:12]}: no pull request merged this commit"],
    }
