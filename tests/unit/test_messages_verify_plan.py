"""What `verify-plan` says when a planned binding is not what its request renders, word for word:
both values as JSON with their keys sorted, non-ASCII text as written, cut at 300 characters."""

from __future__ import annotations

import json
from dataclasses import replace
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
import responses

from generator import cli
from generator.checks.validate import validate_policy
from generator.commands import adapters
from generator.core.repo import Repo
from generator.github.plan_approvals import security_approval
from generator.github.records import ChangedFile, PullInfo, ReviewInfo
from tests import plans
from tests.plans import History, binding, change, serve_history
from tests.support import make_repo
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
    pull = configuration_pull(history, 50)
    serve_history(http, history, {**TEAMS, "audit": []})

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 1
    (approval,) = evidence["changes"][0]["approvals"]
    assert (approval["commit"], approval["pull_request"]["number"]) == (pull.merge, 50)
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


# --- what is said of a change judged without GitHub -------------------------------------------


def said_of(out: str, address: str) -> str:
    """The line `verify-plan` prints for the change at `address`."""
    (line,) = [line for line in out.splitlines() if f": {address} (" in line]
    return line


def no_github(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapters, "github", lambda: pytest.fail("GitHub must not be asked"))


def test_removing_a_rendered_binding_only_takes_access_away(
    history: History, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    approved_request(history)
    block = rendered(history.root)
    history.pull_request(43, "alice-ng", {REQUEST: None})
    no_github(monkeypatch)

    code, evidence = verify(history, binding(block, ("delete",)))

    address = f"module.grants.{block.type}.{block.name}"
    assert code == 0
    assert said_of(capsys.readouterr().out, address) == (
        f"verified: {address} (delete): removes a binding lapse rendered: it only takes access away"
    )
    assert evidence["changes"][0]["request"] is None


@pytest.mark.parametrize("action", ["forget", "read"])
def test_a_binding_action_lapse_never_plans_is_refused_by_name(
    history: History,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    action: str,
) -> None:
    approved_request(history)
    block = rendered(history.root)
    no_github(monkeypatch)

    code, evidence = verify(history, binding(block, (action,)))

    address = f"module.grants.{block.type}.{block.name}"
    assert code == 1
    assert said_of(capsys.readouterr().out, address) == (
        f"refused: {address} ({action}): lapse never plans to {action} a binding"
    )
    (entry,) = evidence["changes"]
    assert (entry["verdict"], entry["request"]) == ("refused", None)


def test_every_difference_from_the_rendered_binding_is_given_with_its_request(
    history: History, http: responses.RequestsMock
) -> None:
    approved_request(history)
    serve_history(http, history, TEAMS)
    block = rendered(history.root)

    code, evidence = verify(history, binding(block, member="user:eve@example.com", labels="x"))

    assert code == 1
    (entry,) = evidence["changes"]
    assert entry["reason"] == (
        f"not what {REQUEST} renders: "
        'member is "user:eve@example.com", the request renders "user:alice@example.com"; '
        'labels is set to "x", which lapse never writes'
    )
    assert entry["request"] == {"path": REQUEST, "sha256": None}
    assert len(http.calls) == 0


def test_anything_else_in_the_grants_module_is_told_what_it_may_hold(
    history: History, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    since = plans.git(history.root, "rev-parse", "HEAD")
    runner = change(type_="terraform_data", name="x", actions=("create",), after={"input": None})
    no_github(monkeypatch)

    code, _ = verify(history, runner, since=since)

    assert code == 1
    assert said_of(capsys.readouterr().out, "module.grants.terraform_data.x") == (
        "refused: module.grants.terraform_data.x (create): terraform/grants/ may hold only the "
        "bindings `lapse render` makes from requests"
    )


def test_a_configuration_change_without_a_baseline_says_why_it_cannot_be_checked(
    history: History, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    no_github(monkeypatch)

    code, evidence = verify(history, audit_change())

    address = evidence["changes"][0]["address"]
    assert code == 1
    assert said_of(capsys.readouterr().out, address) == (
        f"refused: {address} (update): not a binding lapse renders, and no --since-commit names "
        "the last applied commit, so the security owners' approval of the configuration cannot "
        "be checked"
    )


def test_a_configuration_restored_names_the_baseline_by_twelve_characters(
    history: History, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    approved_request(history)  # request merges change no configuration
    since = plans.git(history.root, "rev-list", "--max-parents=0", "HEAD")
    no_github(monkeypatch)

    code, evidence = verify(history, audit_change(), since=since)

    address = evidence["changes"][0]["address"]
    assert code == 0
    assert said_of(capsys.readouterr().out, address) == (
        f"verified: {address} (update): no commit since {since[:12]} changed the configuration: "
        "the plan restores what was applied"
    )


# --- what is said of configuration commits the security owners must approve ------------------


def test_every_unapproved_configuration_commit_is_named(
    history: History, http: responses.RequestsMock
) -> None:
    since = plans.git(history.root, "rev-parse", "HEAD")
    configuration_pull(history, 50)
    configuration_pull(history, 51)
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 1
    (entry,) = evidence["changes"]
    assert entry["reason"] == (  # newest first, as git lists them
        "#51 has no approval of its final head by a security owner (@example-org/security); "
        "#50 has no approval of its final head by a security owner (@example-org/security)"
    )


def test_every_approved_configuration_pull_request_is_named(
    history: History, http: responses.RequestsMock
) -> None:
    since = plans.git(history.root, "rev-parse", "HEAD")
    configuration_pull(history, 50).approve("grace-hopkins")
    configuration_pull(history, 51).approve("grace-hopkins")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 0
    assert evidence["changes"][0]["reason"] == (
        "every commit since the last apply that changed the configuration was approved by the "
        "security owners (#50, #51)"
    )


class _OnePull:
    """GitHub as review checking reads it: one merged pull request, no reviews."""

    def __init__(self, sha: str) -> None:
        self.pull = PullInfo(50, "bob-okafor", True, sha, "f" * 40, "main", "", None)

    def pulls_for_commit(self, sha: str) -> list[PullInfo]:
        return [self.pull]

    def pull_files(self, number: int) -> list[ChangedFile]:
        return []

    def reviews(self, number: int) -> list[ReviewInfo]:
        return []

    def team_members(self, org: str, team_slug: str) -> frozenset[str]:
        return frozenset()

    def file_text(self, path: str, ref: str) -> str:
        raise AssertionError("not read")


def test_a_policy_without_security_owners_says_no_one_can_approve(tmp_path: Path) -> None:
    """The schema requires a security owner; a policy given without one still refuses."""
    policy, _ = validate_policy(Repo.at(make_repo(tmp_path)))
    assert policy is not None
    sha = "a" * 40
    approval = security_approval(_OnePull(sha), replace(policy, security_owners=()), sha)
    assert (approval.ok, approval.reasons) == (
        False,
        ("#50 has no approval of its final head by a security owner (no one)",),
    )


def test_every_review_that_is_not_a_security_owners_approval_is_named(
    history: History, http: responses.RequestsMock
) -> None:
    since = plans.git(history.root, "rev-parse", "HEAD")
    pull = configuration_pull(history, 50)
    pull.approve("carol-diaz")
    pull.approve("dave-li")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 1
    assert evidence["changes"][0]["reason"] == (
        "#50 has no approval of its final head by a security owner (@example-org/security) "
        "(@carol-diaz is not an approver of this target; @dave-li is not an approver of this "
        "target)"
    )


# --- the plan as a whole -----------------------------------------------------------------------


def test_a_change_not_asked_about_says_why(
    history: History, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    approved_request(history)
    block = rendered(history.root)
    no_github(monkeypatch)

    code, _ = verify(history, binding(block), binding(block, ("forget",)))

    address = f"module.grants.{block.type}.{block.name}"
    assert code == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if "(create)" in line]
    assert lines == [
        f"unchecked: {address} (create): not checked: GitHub is not asked while the plan holds "
        "a change no request explains"
    ]


def test_a_plan_judged_locally_and_on_github_records_both_and_its_commits(
    history: History, http: responses.RequestsMock
) -> None:
    """A configuration restored as applied is verified without GitHub, beside a binding GitHub
    is asked about; the evidence names the commit checked and the baseline."""
    since = plans.git(history.root, "rev-list", "--max-parents=0", "HEAD")
    approved_request(history)
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), binding(rendered(history.root)), since=since)

    assert code == 0
    assert [c["verdict"] for c in evidence["changes"]] == ["verified", "verified"]
    assert "restores what was applied" in evidence["changes"][0]["reason"]
    assert evidence["commit"] == plans.git(history.root, "rev-parse", "HEAD")
    assert evidence["since_commit"] == since


def test_a_shallow_checkout_says_what_cannot_be_found(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shallow = tmp_path / "shallow"
    plans.git(tmp_path, "clone", "-q", "--depth", "1", f"file://{history.root}", str(shallow))
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plans.plan())
    code = cli.main(["verify-plan", str(plan_file), "--root", str(shallow)])
    assert code == 2
    said = (
        "the checkout is shallow, so the commit that brought each request cannot be found: "
        "check out the full history (actions/checkout with fetch-depth: 0)"
    )
    assert said in " ".join(capsys.readouterr().err.split())
