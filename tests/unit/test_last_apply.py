"""`lapse verify-plan --since-last-apply`: the baseline comes from the record the apply job writes
after a successful apply (a deployment of production), trusted only through the workflow run
that wrote it and main's first-parent history. GitHub is served over HTTP in its own shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from generator import cli
from tests import plans
from tests.plans import History, serve_history, shape
from tests.unit.test_verify_plan import TEAMS, audit_change, change_audit_config, history, plan

__all__ = ["history"]  # the fixture, shared with test_verify_plan

API = "https://api.github.com:443/repos/example-org/access"
RUN = 12817304566


@pytest.fixture(autouse=True)
def actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "example-org/access")


def record(sha: str, number: int = 1702948311, run: int = RUN, **changes: Any) -> dict[str, Any]:
    root = API.replace(":443", "")
    data = shape(
        "deployment",
        id=number,
        sha=sha,
        ref=sha,
        payload={"run_id": run},
        url=f"{root}/deployments/{number}",
        statuses_url=f"{root}/deployments/{number}/statuses",
    )
    data.update(changes)
    return data


def status(state: str = "success", number: int = 3651927740) -> dict[str, Any]:
    return shape("deployment_status", id=number, state=state)


# The same repository under another owner, as GitHub would describe it.
FORK = json.loads(
    json.dumps(shape("workflow_run")["repository"]).replace("example-org/access", "mallory/access")
)


def workflow_run(sha: str, run: int = RUN, **changes: Any) -> dict[str, Any]:
    data = shape("workflow_run", id=run, head_sha=sha)
    data["head_commit"] = {**data["head_commit"], "id": sha}
    data.update(changes)
    return data


def serve_records(
    http: responses.RequestsMock,
    records: list[dict[str, Any]],
    statuses: dict[int, list[dict[str, Any]]],
    runs: dict[int, dict[str, Any]],
) -> None:
    http.add(
        responses.GET,
        f"{API}/deployments?environment=production&task=lapse-apply&per_page=100",
        json=records,
        match=[
            responses.matchers.query_string_matcher(
                "environment=production&task=lapse-apply&per_page=100"
            )
        ],
    )
    for number, listed in statuses.items():
        http.add(responses.GET, f"{API}/deployments/{number}/statuses?per_page=100", json=listed)
    for run, data in runs.items():
        http.add(responses.GET, f"{API}/actions/runs/{run}", json=data)


def since_last_apply(history: History, *extra: str) -> tuple[int, Any]:
    plan_file = history.root.parent / "plan.json"
    plan_file.write_text(plan(audit_change()))
    argv = ["verify-plan", str(plan_file), "--root", str(history.root), "--since-last-apply"]
    return cli.main([*argv, *extra]), None


def head(history: History) -> str:
    return plans.git(history.root, "rev-parse", "HEAD")


def test_the_baseline_is_the_commit_the_last_apply_recorded(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    change_audit_config(history, 50, "carol-diaz")  # applied before: not checked again
    applied = head(history)
    change_audit_config(history, 51, "grace-hopkins")
    serve_records(http, [record(applied)], {1702948311: [status()]}, {RUN: workflow_run(applied)})
    serve_history(http, history, TEAMS)

    code, _ = since_last_apply(history)

    captured = capsys.readouterr()
    assert code == 0, captured.out
    assert f"the last apply applied {applied}" in captured.err
    assert "(#51)" in captured.out


def test_a_record_whose_run_failed_or_that_was_marked_inactive_is_passed_over(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    first = head(history)
    change_audit_config(history, 50, "carol-diaz")
    failed = head(history)  # its statuses listed oldest first: the newest one decides
    change_audit_config(history, 51, "dave-li")
    inactive = head(history)
    records = [record(inactive, 3), record(failed, 2, run=22), record(first, 1, run=11)]
    statuses = {3: [status("success", 8), status("inactive", 9)], 2: [status()], 1: []}
    runs = {22: workflow_run(failed, 22, conclusion="failure"), 11: workflow_run(first, 11)}
    serve_records(http, records, statuses, runs)
    serve_history(http, history, TEAMS)

    code, _ = since_last_apply(history)

    captured = capsys.readouterr()
    assert code == 1
    assert f"the last apply applied {first}" in captured.err  # statuses gone after 90 days
    assert "#50 has no approval" in captured.out and "#51 has no approval" in captured.out


def test_without_any_record_every_commit_since_the_first_is_checked(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    first = head(history)
    change_audit_config(history, 50, "carol-diaz")
    serve_records(http, [], {}, {})
    serve_history(http, history, TEAMS)

    code, _ = since_last_apply(history)

    assert code == 1
    assert f"the last apply applied {first}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"event": "workflow_dispatch"}, "was started by 'workflow_dispatch', not a push"),
        ({"event": "pull_request"}, "not a push"),
        ({"head_branch": "release"}, "ran on 'release', not main"),
        ({"path": ".github/workflows/validate.yml"}, "not .github/workflows/apply.yml"),
        ({"path": "example-org/access/.github/workflows/apply.yml@refs/tags/main"}, "not main"),
        ({"repository": FORK}, "repository is 'mallory/access'"),
        ({"head_repository": FORK}, "head repository is 'mallory"),
        ({"head_sha": "0" * 40}, "ran on commit 000000000000"),
    ],
    ids=["dispatch", "pull-request", "branch", "workflow", "tag", "repository", "fork", "sha"],
)
def test_a_record_not_written_by_an_apply_of_a_push_to_main_is_refused(
    history: History,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, Any],
    said: str,
) -> None:
    applied = head(history)
    run = workflow_run(applied, **changes)
    serve_records(http, [record(applied)], {1702948311: [status()]}, {RUN: run})

    code, _ = since_last_apply(history)

    err = capsys.readouterr().err
    assert code == 2
    assert said in err
    assert "deployment 1702948311 of production records an apply" in err
    assert "then re-run the apply" in err


@pytest.mark.parametrize("payload", [{}, {"run_id": "12817304566"}, {"run_id": True}, "x"])
def test_a_record_naming_no_run_is_refused(
    history: History,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    payload: Any,
) -> None:
    serve_records(http, [record(head(history), payload=payload)], {1702948311: []}, {})

    code, _ = since_last_apply(history)

    assert code == 2
    assert "names no workflow run" in capsys.readouterr().err


def test_a_record_naming_an_unknown_run_is_refused(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_records(http, [record(head(history))], {1702948311: [status()]}, {})
    http.add(responses.GET, f"{API}/actions/runs/{RUN}", status=404, json=shape("error_404"))

    code, _ = since_last_apply(history)

    assert code == 2
    assert f"names run {RUN}, which GitHub does not know" in capsys.readouterr().err


def test_a_commit_off_mains_first_parent_line_is_refused(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    """The head of a merged pull request is in main's history, but main never held it."""
    _, (side,) = history.pull_request(50, "bob-okafor", {"README.md": "x\n"})
    serve_records(http, [record(side)], {1702948311: [status()]}, {RUN: workflow_run(side)})

    code, _ = since_last_apply(history)

    err = capsys.readouterr().err
    assert code == 2
    assert f"records {side[:12]} as applied, but that commit is not on main's first-parent" in err


def test_since_commit_and_since_last_apply_together_are_a_usage_error(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = since_last_apply(history, "--since-commit", head(history))
    assert code == 2
    assert "not both" in capsys.readouterr().err


def test_a_shallow_checkout_is_refused_before_the_record_is_trusted(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change_audit_config(history, 50, "grace-hopkins")
    shallow = tmp_path / "shallow"
    plans.git(tmp_path, "clone", "-q", "--depth", "1", f"file://{history.root}", str(shallow))
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan(audit_change()))

    code = cli.main(["verify-plan", str(plan_file), "--root", str(shallow), "--since-last-apply"])

    assert code == 2
    assert "shallow" in capsys.readouterr().err
