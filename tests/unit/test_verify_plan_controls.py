"""`lapse verify-plan` controls, each shown by the bug it stops: a plan in the real JSON format,
a real git history of merged pull requests, and GitHub over HTTP answering from that history."""

from __future__ import annotations

import pytest
import responses

from generator.commands import adapters
from generator.lifecycle.verify_plan import is_configuration
from tests import plans
from tests.plans import History, binding, change, serve_history, shape
from tests.support import answers_may_go_unused
from tests.unit.test_verify_plan import (
    AUDIT,
    REQUEST,
    TEAMS,
    TEXT,
    approved_request,
    audit_change,
    change_audit_config,
    history,
    rendered,
    verdicts,
    verify,
)

__all__ = ["history"]  # the fixture, shared with test_verify_plan


def head(history: History) -> str:
    return plans.git(history.root, "rev-parse", "HEAD")


def configuration_pull(history: History, number: int, path: str = AUDIT) -> plans.Pull:
    text = (history.root / path).read_text() + f"\n# change {number}\n"
    pull, _ = history.pull_request(number, "bob-okafor", {path: text})
    return pull


def test_a_rendered_binding_in_the_plan_does_not_skip_the_configuration_check(
    history: History, http: responses.RequestsMock
) -> None:
    since = head(history)
    change_audit_config(history, 50, "carol-diaz")  # not a security owner
    approved_request(history)
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, binding(rendered(history.root)), audit_change(), since=since)

    assert code == 1
    assert verdicts(evidence)["google_project_iam_audit_config.pci_prod_payments"] == "refused"


def test_a_configuration_pull_request_without_reviews_is_refused(
    history: History, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    since = head(history)
    configuration_pull(history, 50)
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 1
    assert "#50 has no approval of its final head by a security owner" in capsys.readouterr().out
    assert list(verdicts(evidence).values()) == ["refused"]


@pytest.mark.parametrize("unapproved", ["older", "newer"])
def test_every_configuration_commit_since_the_last_apply_is_checked(
    history: History, http: responses.RequestsMock, unapproved: str
) -> None:
    since = head(history)
    first, second = configuration_pull(history, 50), configuration_pull(history, 51)
    (second if unapproved == "older" else first).approve("grace-hopkins")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    refused = first if unapproved == "older" else second
    assert code == 1
    reasons = evidence["changes"][0]["reason"]
    assert f"#{refused.number} has no approval" in reasons


@pytest.mark.parametrize(
    "at_approval", [None, b"\xff\xfe not UTF-8\n"], ids=["absent", "unreadable"]
)
def test_an_approval_where_the_request_was_not_readable_does_not_count(
    history: History, http: responses.RequestsMock, at_approval: bytes | None
) -> None:
    first: dict[str, str | None] = {"notes/plan.md": "the request follows\n"}
    pull, (approved, _) = history.pull_request(
        42, "alice-ng", first if at_approval is None else {REQUEST: "x"}, {REQUEST: TEXT}
    )
    if at_approval is not None:  # the approved commit held bytes GitHub cannot give as text
        plans.git(history.root, "checkout", "-q", approved)
        (history.root / REQUEST).write_bytes(at_approval)
        plans.git(history.root, "commit", "-qam", "binary")
        pull.approve("carol-diaz", commit=plans.git(history.root, "rev-parse", "HEAD"))
        plans.git(history.root, "checkout", "-q", "main")
    else:
        pull.approve("carol-diaz", commit=approved)
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, binding(rendered(history.root)))

    assert code == 1
    assert "held other bytes than it does now" in evidence["changes"][0]["reason"]


@pytest.mark.parametrize(
    "rule_file",
    ["policy/policy.yaml", "schemas/access-request.schema.json", ".github/CODEOWNERS"],
)
def test_a_request_merged_with_a_rule_change_is_refused(
    history: History, http: responses.RequestsMock, rule_file: str
) -> None:
    path = history.root / rule_file
    before = path.read_text() if path.exists() else ""
    pull, _ = history.pull_request(42, "alice-ng", {REQUEST: TEXT, rule_file: before + "\n"})
    pull.approve("carol-diaz")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, binding(rendered(history.root)))

    assert code == 1
    assert rule_file in evidence["changes"][0]["reason"]


@pytest.mark.parametrize("link", ["policy", "schemas", ".github"])
def test_a_request_merged_with_a_rule_folder_replaced_by_a_link_is_refused(
    history: History, http: responses.RequestsMock, link: str
) -> None:
    """GitHub lists a symlink that replaces a folder under the folder's own name."""
    pull, _ = history.pull_request(42, "alice-ng", {REQUEST: TEXT})
    pull.files.append(link)
    pull.approve("carol-diaz")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, binding(rendered(history.root)))

    assert code == 1
    assert f"changes {link} together with requests" in evidence["changes"][0]["reason"]


def review_without_commit(pull: plans.Pull, login: str) -> None:
    pull.reviews.append(
        shape(
            "review",
            id=2406019999,
            user=plans.user(login),
            state="APPROVED",
            commit_id=None,
            submitted_at="2026-11-30T08:59:00Z",
        )
    )


def test_a_request_approval_without_a_commit_does_not_count(
    history: History, http: responses.RequestsMock
) -> None:
    pull, _ = history.pull_request(42, "alice-ng", {REQUEST: TEXT})
    review_without_commit(pull, "carol-diaz")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, binding(rendered(history.root)))

    assert code == 1
    assert "approved no known commit" in evidence["changes"][0]["reason"]


def test_a_configuration_approval_without_a_commit_does_not_count(
    history: History, http: responses.RequestsMock
) -> None:
    since = head(history)
    review_without_commit(configuration_pull(history, 50), "grace-hopkins")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 1
    assert "#50 has no approval" in evidence["changes"][0]["reason"]


@pytest.mark.parametrize(
    "path",
    ["terraform/grants/_module.tf", "terraform/grants/nested/x.tf", "terraform/grants/x.tf.json"],
)
def test_hand_written_terraform_in_the_grants_folder_is_configuration(
    history: History, http: responses.RequestsMock, path: str
) -> None:
    since = head(history)
    text = (history.root / path).read_text() if (history.root / path).exists() else ""
    history.pull_request(50, "bob-okafor", {path: text + "# hand-written\n"})[0].approve(
        "carol-diaz"
    )
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 1
    assert "#50 has no approval" in evidence["changes"][0]["reason"]


def test_a_rendered_grant_file_is_not_configuration(
    history: History, http: responses.RequestsMock
) -> None:
    """Only rendered grant files changed since the last apply: the configuration is as applied."""
    since = head(history)
    grant = "terraform/grants/inc-4512-settlement-batch.tf"
    history.pull_request(50, "bob-okafor", {grant: "# rendered\n"})[0].approve("carol-diaz")
    serve_history(http, history, TEAMS)
    answers_may_go_unused(http, "the pull request is never asked about")

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 0
    assert "restores what was applied" in evidence["changes"][0]["reason"]


@pytest.mark.parametrize(
    ("path", "configuration"),
    [
        ("terraform/main.tf", True),
        ("terraform/grants/_module.tf", True),
        ("terraform/grants/inc-4512.tf", False),
        ("README.md", False),
        ("requests/pci-prod/terraform/grants.tf", False),
    ],
)
def test_what_counts_as_configuration(path: str, configuration: bool) -> None:
    assert is_configuration(path) is configuration


@pytest.mark.parametrize(
    "module",
    [
        "module.grants.module.inner",
        "module.grants[0]",
        'module.grants["x"]',
        "module.grants[0].module.b",
    ],
)
@pytest.mark.parametrize("module_address", [True, False], ids=["module_address", "address-only"])
def test_a_resource_in_a_module_inside_the_grants_module_is_refused(
    history: History, capsys: pytest.CaptureFixture[str], module: str, module_address: bool
) -> None:
    """Nothing changed the configuration since the last apply, so a change outside the grants
    module would be verified as restoring it: inside, only rendered bindings may be."""
    since = head(history)
    approved_request(history)
    block = rendered(history.root)
    planted = change(
        type_=block.type,
        name=block.name,
        actions=("create",),
        after=plans.block_values(block),
        module=module,
    )
    if not module_address:
        del planted["module_address"]

    code, evidence = verify(history, planted, since=since)

    assert code == 1
    assert list(verdicts(evidence).values()) == ["refused"]
    assert "terraform/grants/ may hold only" in capsys.readouterr().out


def test_a_look_alike_module_is_configuration_not_grants(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = head(history)
    monkeypatch.setattr(adapters, "github", lambda: pytest.fail("GitHub must not be asked"))
    other = change(
        type_="google_project_iam_audit_config",
        name="x",
        actions=("update",),
        before={"service": "allServices"},
        after={"service": "allServices"},
        module="module.grants_audit",
    )

    code, evidence = verify(history, other, since=since)

    assert code == 0
    assert "restores what was applied" in evidence["changes"][0]["reason"]


def test_a_configuration_commit_pushed_without_a_pull_request_is_refused(
    history: History, http: responses.RequestsMock
) -> None:
    since = head(history)
    history.write({AUDIT: (history.root / AUDIT).read_text() + "# pushed\n"})
    plans.git(history.root, "commit", "-qam", "pushed straight to main")
    serve_history(http, history, TEAMS)

    code, evidence = verify(history, audit_change(), since=since)

    assert code == 1
    assert evidence["changes"][0]["verdict"] == "refused"
    assert "no pull request merged this commit" in evidence["changes"][0]["reason"]
