"""What `verify-plan --since-last-apply` says when it refuses a last-apply record, word for word:
the deployment to clear and the URL to clear it with are what a person acts on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import responses

from generator import cli
from generator.core.errors import ConfigError
from generator.github.last_apply import last_applied
from tests import plans
from tests.plans import History, shape
from tests.unit.test_last_apply import (
    API,
    FORK,
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
    http.add(responses.GET, f"{API}/actions/runs/{RUN}", status=404, json=shape("error_404"))
    why = f"it names run {RUN}, which GitHub does not know"
    assert refusal(why) in refused_with(capsys, history)


@pytest.mark.parametrize(
    ("run_changes", "record_changes", "said"),
    [
        # Every difference at once, joined in one sentence.
        (
            {"path": ".github/workflows/other.yml@refs/heads/main", "event": "schedule"},
            {},
            "is of .github/workflows/other.yml, not .github/workflows/apply.yml; was started "
            "by 'schedule', not a push",
        ),
        (
            {"repository": FORK, "head_repository": FORK},
            {},
            "repository is 'mallory/access', not example-org/access; head repository is "
            "'mallory/access', not example-org/access",
        ),
        ({"head_sha": "ab" * 20}, {}, "ran on commit abababababab, the record names {sha}"),
    ],
    ids=["several", "fork", "other-commit"],
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


def test_no_deployment_listing_means_every_commit_since_the_first_is_checked(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    first = head(history)
    http.add(
        responses.GET,
        f"{API}/deployments?environment=production&task=lapse-apply&per_page=100",
        status=404,
        json=shape("error_404"),
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


# --- answers GitHub's description rules out, read without HTTP ------------------------------
# lapse reads them without a traceback and says what it saw; they are given to `last_applied`
# directly, since a faked HTTP exchange must be one GitHub could send.

REPOSITORY = "example-org/access"
LISTING = f"/repos/{REPOSITORY}/deployments?environment=production&task=lapse-apply&per_page=100"
SHA = "c0ffee" + "0" * 34


class Answers:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def read_json(self, path: str) -> Any:
        return self.answers.get(path)


def read(deployment: dict[str, Any], statuses: list[Any], run: dict[str, Any]) -> Answers:
    return Answers(
        {
            LISTING: [deployment],
            f"/repos/{REPOSITORY}/deployments/{NUMBER}/statuses?per_page=100": statuses,
            f"/repos/{REPOSITORY}/actions/runs/{RUN}": run,
        }
    )


def applied_run(**changes: Any) -> dict[str, Any]:
    return {**workflow_run(SHA), **changes}


@pytest.mark.parametrize(
    ("run_changes", "record_changes", "said"),
    [
        (
            {"path": None, "repository": REPOSITORY},
            {},
            "is of no workflow, not .github/workflows/apply.yml; repository is None, "
            "not example-org/access",
        ),
        ({"head_sha": None}, {}, f"ran on commit none, the record names {SHA[:12]}"),
        ({}, {"sha": None}, f"ran on commit {SHA[:12]}, the record names none"),
    ],
    ids=["no-path-repository-a-string", "no-head", "record-without-commit"],
)
def test_an_impossible_run_or_record_is_refused_saying_what_was_read(
    run_changes: dict[str, Any], record_changes: dict[str, Any], said: str
) -> None:
    deployment = {**record(SHA), **record_changes}
    answers = read(deployment, [status()], applied_run(**run_changes))
    with pytest.raises(ConfigError) as refused:
        last_applied(answers, REPOSITORY)
    assert str(refused.value) == refusal(f"its run {RUN} {said}").replace(
        "example-org/access", REPOSITORY
    )


def test_a_deployment_without_an_id_is_shown_as_listed() -> None:
    answers = Answers({LISTING: [{"sha": "abc", "task": "lapse-apply"}]})
    with pytest.raises(ConfigError) as refused:
        last_applied(answers, REPOSITORY)
    assert str(refused.value) == (
        "GitHub listed a deployment without an id: {'sha': 'abc', 'task': 'lapse-apply'}"
    )


def test_a_status_without_an_id_is_older_than_any_with_one() -> None:
    statuses = [{**status("inactive"), "id": None}, status("success", 1)]
    found = last_applied(read(record(SHA), statuses, applied_run()), REPOSITORY)
    assert found is not None and (found.deployment, found.sha) == (NUMBER, SHA)
    newest_inactive = [status("success", 1), status("inactive", 2)]
    assert last_applied(read(record(SHA), newest_inactive, applied_run()), REPOSITORY) is None
