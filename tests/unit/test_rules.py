"""Rules that need more than one file, or a policy other than the sample's."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.checks import rules as rules_module
from generator.checks.rules import REGISTRY, Rule, describe, load_all
from generator.checks.validate import validate_policy, validate_repo
from generator.core.model import RESOURCE_KINDS
from generator.core.repo import Repo
from tests.support import NOW, REPO, make_repo, place

HEAD = "# yaml-language-server: $schema=../../schemas/access-request.schema.json\n"


def request(
    requester: str = "alice@example.com",
    starts: str | None = "2026-11-30T09:00:00Z",
    expires: str = "2026-11-30T13:00:00Z",
    grants: str = "  - role: roles/cloudsql.client\n    project: pci-prod-payments\n",
) -> str:
    text = HEAD + f"requester: {requester}\nreason: Investigate failed settlement batch\n"
    text += "ticket: INC-4512\n" + (f"starts: {starts}\n" if starts else "")
    return text + f"expires: {expires}\ngrants:\n{grants}"


def problems(root: Path, *, checked: set[str] | None = None) -> set[tuple[str, int, int, str, str]]:
    result = validate_repo(Repo.at(root), now=NOW, time_checked=checked or set())
    return {(p.path, p.line, p.col, p.rule, p.level) for p in result.problems}


def test_repository_samples_are_valid() -> None:
    result = validate_repo(Repo.at(REPO), now=NOW)
    assert result.errors == ()
    assert len(result.requests) == len(list((REPO / "requests").rglob("*.yaml")))


def test_samples_cover_every_resource_kind_and_starts() -> None:
    result = validate_repo(Repo.at(REPO), now=None)
    kinds = {g.kind for r in result.requests for g in r.grants}
    # No sample grants the organization: both targets live in it, so a grant there would reach
    # the other target's projects (LAPSE276). tests/golden/organization.tf renders one.
    assert kinds == set(RESOURCE_KINDS) - {"organization"}
    assert {r.window.starts is None for r in result.requests} == {True, False}


def test_id_reused_from_archive(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "archive/pci-prod/2026-11/inc-4512-batch.yaml", request())
    place(root, "requests/pci-prod/inc-4512-batch.yaml", request())
    assert ("requests/pci-prod/inc-4512-batch.yaml", 1, 1, "LAPSE133", "error") in problems(root)


def archive_problems(root: Path) -> set[tuple[str, int, int, str, str]]:
    return {p for p in problems(root) if p[3] == "LAPSE134"}


def test_an_archived_request_lies_in_the_month_its_window_ended(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "archive/pci-prod/2026-11/inc-4400-in-place.yaml", request())
    # An offset is read in UTC: 00:30+01:00 on December 1st ended in November.
    place(
        root,
        "archive/pci-prod/2026-11/inc-4401-offset.yaml",
        request(starts=None, expires='"2026-12-01T00:30:00+01:00"'),
    )
    place(
        root,
        "archive/pci-prod/emergency/2026-11/inc-4402-urgent.yaml",
        request(starts=None, expires="2026-11-02T10:00:00Z"),
    )
    assert archive_problems(root) == set()


@pytest.mark.parametrize(
    ("path", "text", "where"),
    [
        # The month folder disagrees with `expires`: a review by month would never see it.
        ("archive/pci-prod/2026-10/inc-4410-moved.yaml", request(), (6, 10)),
        ("archive/pci-prod/emergency/2026-12/inc-4411-late.yaml", request(), (6, 10)),
        # The layout before month folders, and other shapes.
        ("archive/pci-prod/inc-4412-flat.yaml", request(), (6, 10)),
        ("archive/pci-prod/2026-11/extra/inc-4413-deep.yaml", request(), (6, 10)),
        ("archive/pci-prod/2026-13/inc-4414-no-such-month.yaml", request(), (6, 10)),
        ("archive/pci-prod/2026-11/inc-4415-other.yml", request(), (6, 10)),
        # A quoted, repeated or missing `expires` is read as YAML, or refused.
        (
            "archive/pci-prod/2026-10/inc-4416-quoted.yaml",
            request(expires="'2026-11-30T13:00:00Z'") + "# expires: 2026-10-01T00:00:00Z\n",
            (6, 10),
        ),
        ("archive/pci-prod/2026-11/inc-4417-none.yaml", "requester: x\n", (1, 1)),
        ("archive/pci-prod/2026-11/inc-4418-broken.yaml", "expires: [\n", (1, 1)),
    ],
)
def test_an_archived_request_elsewhere_is_refused_where_its_expiry_is(
    tmp_path: Path, path: str, text: str, where: tuple[int, int]
) -> None:
    root = make_repo(tmp_path)
    place(root, path, text)
    assert archive_problems(root) == {(path, *where, "LAPSE134", "error")}


def test_the_fix_names_the_month_folder(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "archive/pci-prod/emergency/inc-4420-flat.yaml", request())
    found = [p for p in validate_repo(Repo.at(root), now=NOW).problems if p.rule == "LAPSE134"]
    assert [p.hint for p in found] == [
        "move it to archive/pci-prod/emergency/2026-11/inc-4420-flat.yaml"
    ]


@pytest.mark.parametrize(
    ("path", "place_to"),
    [
        ("archive/inc-4421-top.yaml", "archive/<target>/2026-11/inc-4421-top.yaml"),
        ("archive/pci-prod/inc-4422-flat.yaml", "archive/pci-prod/2026-11/inc-4422-flat.yaml"),
        (
            "archive/pci-prod/2026-10/inc-4423-moved.yaml",
            "archive/pci-prod/2026-11/inc-4423-moved.yaml",
        ),
        (
            "archive/pci-prod/emergency/x/inc-4425-deep.yaml",
            "archive/pci-prod/emergency/2026-11/inc-4425-deep.yaml",
        ),
    ],
)
def test_the_fix_names_the_place_for_every_shape(tmp_path: Path, path: str, place_to: str) -> None:
    root = make_repo(tmp_path)
    place(root, path, request())
    found = [p for p in validate_repo(Repo.at(root), now=NOW).problems if p.rule == "LAPSE134"]
    assert [p.hint for p in found] == [f"move it to {place_to}"]


def test_expired_file_not_being_changed_is_only_a_note(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(
        root,
        "requests/pci-prod/old-one.yaml",
        request(starts="2026-11-01T09:00:00Z", expires="2026-11-01T12:00:00Z"),
    )
    assert problems(root) == {("requests/pci-prod/old-one.yaml", 6, 10, "LAPSE303", "info")}
    checked = problems(root, checked={"requests/pci-prod/old-one.yaml"})
    assert checked == {("requests/pci-prod/old-one.yaml", 6, 10, "LAPSE303", "error")}


def test_too_many_active_requests_per_person(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    for n in range(4):
        place(
            root,
            f"requests/pci-prod/inc-451{n}-batch.yaml",
            request(starts=f"2026-11-30T0{n + 1}:00:00Z", expires=f"2026-11-30T0{n + 2}:00:00Z"),
        )
    found = problems(root)
    assert found == {("requests/pci-prod/inc-4513-batch.yaml", 2, 12, "LAPSE240", "error")}


def _policy_with(root: Path, old: str, new: str) -> None:
    path = root / "policy" / "policy.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_conditional_binding_budget_per_resource(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _policy_with(
        root,
        "max_conditional_bindings_per_resource: 100",
        "max_conditional_bindings_per_resource: 2",
    )
    for n, who in enumerate(("alice", "bob", "carol")):
        place(
            root,
            f"requests/pci-prod/inc-451{n}-batch.yaml",
            request(
                requester=f"{who}@example.com",
                starts=f"2026-11-30T0{n + 1}:00:00Z",
                expires=f"2026-11-30T0{n + 2}:00:00Z",
            ),
        )
    assert problems(root) == {("requests/pci-prod/inc-4512-batch.yaml", 8, 5, "LAPSE241", "error")}


def test_same_role_and_principal_limit(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _policy_with(
        root, "max_bindings_per_role_and_principal: 20", "max_bindings_per_role_and_principal: 1"
    )
    place(root, "requests/pci-prod/inc-4510-batch.yaml", request())
    place(
        root,
        "requests/pci-prod/inc-4511-batch.yaml",
        request(starts="2026-11-30T14:00:00Z", expires="2026-11-30T15:00:00Z"),
    )
    assert problems(root) == {("requests/pci-prod/inc-4511-batch.yaml", 8, 5, "LAPSE242", "error")}


def test_same_role_and_principal_limit_counts_each_role_and_resource_apart(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _policy_with(
        root, "max_bindings_per_role_and_principal: 20", "max_bindings_per_role_and_principal: 1"
    )
    _policy_with(
        root,
        "max_conditional_bindings_per_resource: 100",
        "max_conditional_bindings_per_resource: 1",
    )
    grants = (
        "  - role: roles/cloudsql.client\n    project: pci-prod-payments\n"
        "  - role: roles/cloudsql.viewer\n    project: pci-prod-analytics\n"
    )
    place(root, "requests/pci-prod/inc-4510-batch.yaml", request(grants=grants))
    assert problems(root) == set()


def test_project_without_data_access_logs_is_refused_at_the_grant(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    audit = root / "terraform" / "audit_logging.tf"
    start = audit.read_text().index(
        'resource "google_project_iam_audit_config" "pci_prod_payments"'
    )
    end = audit.read_text().index('resource "google_project_iam_audit_config" "pci_prod_analytics"')
    audit.write_text(audit.read_text()[:start] + audit.read_text()[end:])
    grants = (
        "  - role: roles/bigquery.dataViewer\n    dataset: pci-prod-analytics.chargebacks\n"
        "  - role: roles/storage.objectViewer\n    bucket: settlement-exports\n"
    )
    place(root, "requests/pci-prod/inc-4512-batch.yaml", request(grants=grants))
    assert problems(root) == {("requests/pci-prod/inc-4512-batch.yaml", 10, 5, "LAPSE260", "error")}


def test_requester_exempted_from_audit_logging(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    audit = root / "terraform" / "audit_logging.tf"
    audit.write_text(
        audit.read_text().replace(
            '    log_type = "DATA_READ"\n  }',
            '    log_type         = "DATA_READ"\n'
            '    exempted_members = ["user:alice@example.com"]\n  }',
            1,
        )
    )
    place(root, "requests/pci-prod/inc-4512-batch.yaml", request())
    assert problems(root) == {("requests/pci-prod/inc-4512-batch.yaml", 8, 5, "LAPSE261", "error")}


@pytest.mark.parametrize(
    "role",
    [
        "roles/resourcemanager.projectIamAdmin",
        "roles/iam.serviceAccountKeyAdmin",
        "roles/iam.serviceAccountTokenCreator",
    ],
)
@pytest.mark.parametrize("target", ["pci-prod", "staging"])
def test_persistence_roles_refused_for_every_target_even_when_allowed(
    tmp_path: Path, role: str, target: str
) -> None:
    root = make_repo(tmp_path)
    text = (root / "policy" / "policy.yaml").read_text()
    block = text.index(f"  {target}:\n")
    roles_at = text.index("    roles:\n", block) + len("    roles:\n")
    (root / "policy" / "policy.yaml").write_text(
        text[:roles_at] + f"      - {role}\n" + text[roles_at:]
    )
    resource = "project: pci-prod-payments" if target == "pci-prod" else "project: stg-payments"
    ticket = "INC-4512"
    place(
        root,
        f"requests/{target}/{ticket.lower()}-x.yaml",
        request(grants=f"  - role: {role}\n    {resource}\n"),
    )

    rules = {rule for _, _, _, rule, level in problems(root) if level == "error"}

    assert "LAPSE251" in rules  # the request
    assert "LAPSE253" in rules  # the policy that allowed it without a written exception


def test_persistence_exception_with_justification_is_honoured(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _policy_with(
        root,
        "      - roles/cloudsql.client\n      - roles/logging.viewer\n",
        "      - roles/cloudsql.client\n      - roles/logging.viewer\n"
        "      - roles/iam.serviceAccountTokenCreator\n",
    )
    _policy_with(
        root,
        "      - iam.googleapis.com\n",
        "      - iam.googleapis.com\n    persistence_exceptions:\n"
        "      roles/iam.serviceAccountTokenCreator: Break-glass debugging of the batch "
        "runner; tokens live one hour and the review flags every use.\n",
    )
    place(
        root,
        "requests/staging/chg-1210-tokens.yaml",
        request(
            grants="  - role: roles/iam.serviceAccountTokenCreator\n    project: stg-payments\n"
        ).replace("INC-4512", "CHG-1210"),
    )
    assert {rule for _, _, _, rule, level in problems(root) if level == "error"} == set()


def test_every_rule_has_an_id_summary_and_family() -> None:
    registry = load_all()
    assert registry is REGISTRY
    for rule_id, rule in registry.items():
        assert rule_id.startswith("LAPSE") and len(rule_id) == 8
        assert rule.summary.endswith(".")
        assert rule_id[5] in "123" and rule.scope in (
            "load",
            "request",
            "repo",
            "policy",
            "tree",
            "history",
        )


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, Rule]:
    """An empty registry in place of the real one, for rules registered by a test."""
    empty: dict[str, Rule] = {}
    monkeypatch.setattr(rules_module, "REGISTRY", empty)
    return empty


def test_a_rule_described_without_scope_or_level_is_a_load_error(
    registry: dict[str, Rule],
) -> None:
    describe("LAPSE999", "Something the loader checks.", fix="Fix it.")
    assert registry == {
        "LAPSE999": Rule(
            "LAPSE999", "Something the loader checks.", "load", "error", "Fix it.", None
        )
    }


def test_a_rule_registers_its_check_with_what_it_was_given(registry: dict[str, Rule]) -> None:
    def check(ctx: object) -> list[object]:
        return []

    assert rules_module.rule("LAPSE998", "One check.", scope="repo", fix="Do this.")(check) is check
    assert (
        rules_module.rule("LAPSE997", "A note.", scope="tree", fix="Or that.", level="info")(check)
        is check
    )
    assert registry == {
        "LAPSE998": Rule("LAPSE998", "One check.", "repo", "error", "Do this.", check),
        "LAPSE997": Rule("LAPSE997", "A note.", "tree", "info", "Or that.", check),
    }
    assert [r.check for r in registry.values()] == [check, check]  # `check` is not compared


def test_a_rule_id_registered_twice_is_refused_by_name(registry: dict[str, Rule]) -> None:
    describe("LAPSE996", "Once.", fix="Fix it.")
    with pytest.raises(ValueError, match=r"^rule id LAPSE996 registered twice$"):
        describe("LAPSE996", "Twice.", scope="repo", fix="Fix it.")
    assert registry["LAPSE996"].summary == "Once."


def test_audit_config_lapse_cannot_read_is_reported(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    audit = root / "terraform" / "audit_logging.tf"
    audit.write_text(
        audit.read_text().replace(
            'project = "pci-prod-payments"', "project = var.payments_project", 1
        )
    )
    place(root, "requests/pci-prod/inc-4512-batch.yaml", request())
    assert problems(root) == {
        ("terraform/audit_logging.tf", 1, 1, "LAPSE262", "error"),
        ("requests/pci-prod/inc-4512-batch.yaml", 8, 5, "LAPSE260", "error"),
    }


def _line_of(root: Path, text: str) -> int:
    policy = (root / "policy" / "policy.yaml").read_text()
    return policy[: policy.index(text)].count("\n") + 1


UNIFORM = (
    "        settlement-exports:\n          project: pci-prod-payments\n"
    "          uniform_bucket_level_access: required\n"
)


def test_bucket_given_only_its_project_is_refused_in_the_policy(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _policy_with(root, UNIFORM, "        settlement-exports: pci-prod-payments\n")
    line = _line_of(root, "settlement-exports:")
    assert problems(root) == {("policy/policy.yaml", line, 9, "LAPSE222", "error")}


def test_bucket_without_the_uniform_access_mark_is_refused(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    unmarked = "        settlement-exports:\n          project: pci-prod-payments\n"
    _policy_with(root, UNIFORM, unmarked)
    line = _line_of(root, "settlement-exports:")
    assert problems(root) == {("policy/policy.yaml", line, 9, "LAPSE222", "error")}


def test_uniform_access_mark_only_says_required(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _policy_with(root, "access: required\n", "access: optional\n")
    assert {rule for *_, rule, _ in problems(root)} == {"LAPSE120"}  # the schema


def test_policy_tells_which_buckets_need_uniform_access() -> None:
    result = validate_repo(Repo.at(REPO), now=None)
    assert result.policy is not None
    target = result.policy.targets["pci-prod"]
    assert target.uniform_access_buckets == {"settlement-exports", "chargeback-evidence"}
    assert target.bucket_projects["settlement-exports"] == "pci-prod-payments"


def test_the_policy_alone_is_read_by_commands_that_need_only_it(tmp_path: Path) -> None:
    # `lapse review`, `codeowners`, `simulate`... load the policy this way: a broken request
    # or archived file is theirs to report (or not), and the archive's size costs nothing.
    root = make_repo(tmp_path)
    place(root, "requests/pci-prod/inc-4700-broken.yaml", "requester: [unclosed\n")
    place(root, "archive/pci-prod/2020-01/inc-4701-broken.yaml", "expires: [\n")
    policy, found = validate_policy(Repo.at(root))
    assert policy is not None and found == []
    assert {p.rule for p in validate_repo(Repo.at(root), now=None).problems} >= {
        "LAPSE101",
        "LAPSE134",
    }
    (root / "policy/policy.yaml").write_text("targets: [\n")
    policy, found = validate_policy(Repo.at(root))
    assert policy is None
    assert [(p.path, p.rule) for p in found] == [("policy/policy.yaml", "LAPSE101")]
