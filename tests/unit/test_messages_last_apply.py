"""What `verify-plan --since-last-apply` says when it refuses a last-apply record, word for word:
the deployment to clear and the URL to clear it with are what a person acts on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import responses

from generator import cli
from tests import plans
from tests.plans import History
from tests.unit.test_last_apply import (
    API,
    RUN,
    actions_env,
    head,
    record,
    serve_records,
    since_last_apply,
    status,
    workflow_run,
)
from tests.unit.test_verify_plan import history

__all__ = ["actions_env", "history"]  # the fixtures

NUMBER = 1702948311
FIX = (
    f"mark that deployment inactive or delete it (DELETE /repos/example-org/access/deployments/"
    f"{NUMBER} after setting it inactive), then re-run the apply: only the apply job writes "
    "these records"
)


def refusal(why: str) -> str:
    return f"deployment {NUMBER} of production records an apply, but {why}: {FIX}"


def refused_with(capsys: pytest.CaptureFixture[str], history: History) -> str:
    code, _ = since_last_apply(history)
    err = capsys.readouterr().err
    assert code == 2, err
    return " ".join(err.split())


def test_a_record_naming_no_run_says_which_deployment_to_clear(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_records(http, [record(head(history), payload={})], {NUMBER: []}, {})
    assert refusal("its payload names no workflow run (run_id)") in refused_with(capsys, history)


def test_a_record_naming_an_unknown_run_says_which_deployment_to_clear(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_records(http, [record(head(history))], {NUMBER: [status()]}, {})
    http.add(responses.GET, f"{API}/actions/runs/{RUN}", status=404)
    why = f"it names run {RUN}, which GitHub does not know"
    assert refusal(why) in refused_with(capsys, history)


@pytest.mark.parametrize(
    ("run_changes", "record_changes", "said"),
    [
        # Every difference at once, joined in one sentence.
        (
            {"path": None, "event": "schedule", "repository": "example-org/access"},
            {},
            "is of no workflow, not .github/workflows/apply.yml; was started by 'schedule', "
            "not a push; repository is None, not example-org/access",
        ),
        ({"head_sha": "ab" * 20}, {}, "ran on commit abababababab, the record names {sha}"),
        ({"head_sha": None}, {}, "ran on commit none, the record names {sha}"),
        ({}, {"sha": None}, "ran on commit {sha}, the record names none"),
    ],
    ids=["several", "other-commit", "no-head", "record-without-commit"],
)
def test_a_record_whose_run_is_not_an_apply_of_main_says_every_difference(
    history: History,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    run_changes: dict[str, Any],
    record_changes: dict[str, Any],
    said: str,
) -> None:
    applied = head(history)
    run = workflow_run(applied, **run_changes)
    listed = {**record(applied), **record_changes}
    serve_records(http, [listed], {NUMBER: [status()]}, {RUN: run})
    why = f"its run {RUN} " + said.format(sha=applied[:12])
    assert refusal(why) in refused_with(capsys, history)


def test_a_record_off_the_first_parent_line_says_which_deployment_to_clear(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    _, (side,) = history.pull_request(50, "bob-okafor", {"README.md": "x\n"})
    serve_records(http, [record(side)], {NUMBER: [status()]}, {RUN: workflow_run(side)})
    said = (
        f"deployment {NUMBER} records {side[:12]} as applied, but that commit is not on main's "
        "first-parent history (main was rewritten, or the record was not written by an apply "
        f"of main): {FIX}"
    )
    assert said in refused_with(capsys, history)


def test_a_deployment_without_an_id_is_shown_as_listed(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_records(http, [{"sha": "abc", "task": "lapse-apply"}], {}, {})
    said = "GitHub listed a deployment without an id: {'sha': 'abc', 'task': 'lapse-apply'}"
    assert said in refused_with(capsys, history)


def test_a_status_without_an_id_is_older_than_any_with_one(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    applied = head(history)
    statuses = [{**status("inactive"), "id": None}, status("success", 1)]
    serve_records(http, [record(applied)], {NUMBER: statuses}, {RUN: workflow_run(applied)})
    code, _ = since_last_apply(history)
    assert code == 0
    assert f"the last apply applied {applied}" in capsys.readouterr().err


def test_no_deployment_listing_means_every_commit_since_the_first_is_checked(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    first = head(history)
    http.add(
        responses.GET,
        f"{API}/deployments?environment=production&task=lapse-apply&per_page=100",
        status=404,
    )
    code, _ = since_last_apply(history)
    assert code == 0
    assert f"the last apply applied {first}" in capsys.readouterr().err


def test_a_shallow_checkout_says_how_to_check_out_the_history(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shallow = tmp_path / "shallow"
    plans.git(tmp_path, "clone", "-q", "--depth", "1", f"file://{history.root}", str(shallow))
    code = cli.main(
        ["verify-plan", str(tmp_path / "plan.json"), "--root", str(shallow), "--since-last-apply"]
    )
    assert code == 2
    said = (
        "the checkout is shallow, so main's first-parent history cannot be followed: check out "
        "the full history (actions/checkout with fetch-depth: 0)"
    )
    assert said in " ".join(capsys.readouterr().err.split())
