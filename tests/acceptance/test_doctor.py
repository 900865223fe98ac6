"""`lapse doctor` against a GitHub and Google Cloud setup served over HTTP in the real APIs' shapes.

The world starts as docs/setup.md sets it up (exit 0); each test breaks one thing and expects that
one item, with its fix, and exit 1. Service failures end in exit 3, missing credentials in 2.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from generator import cli
from generator.commands import adapters
from generator.core.errors import ConfigError
from tests import setup_world as w
from tests.support import REPO, make_repo

REAL_GITHUB = adapters.github  # before any test replaces it


@pytest.fixture
def world(http: responses.RequestsMock) -> w.World:
    made = w.World()
    made.install(http)
    return made


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    made = make_repo(tmp_path)
    shutil.copytree(REPO / ".github" / "workflows", made / ".github" / "workflows")
    w.doctor_clients(monkeypatch)
    monkeypatch.setenv("LAPSE_APP_SLUG", w.APP_SLUG)
    return made


def doctor(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["doctor", "--root", str(root)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def line_of(out: str, text: str) -> str:
    found = [line for line in out.splitlines() if text in line]
    assert found, f"{text!r} not in:\n{out}"
    return found[0]


def area_of(line: str) -> str:
    return line.split(None, 1)[1].split(":", maxsplit=1)[0]


def fix_after(out: str, text: str) -> str:
    """The item line containing `text` and its fix lines."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if text in line)
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("           "):
            break
        block.append(line)
    return "\n".join(block)


def test_a_setup_done_as_the_readme_says_is_all_green(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = doctor(root, capsys)
    assert world.unknown == []
    assert code == 0, out + err
    assert "all green" in out
    writes = [c for c in world.calls if c[0] != "GET" and not c[1].endswith(":getIamPolicy")]
    assert writes == [], "doctor only reads"
    assert " missing " not in out and " wrong " not in out
    for expected in (
        "required check `validate`",
        "required check `plan`",
        "required check `ci`",
        "@example-org/pci-access-approvers: visible, with write access",
        "`production` deploys from main only",
        "`lapse-automation` deploys from main only",
        "labels: lapse-alert",
        "GitHub App permissions: actions: read, contents: write, deployments: read, issues: write",
        "merge commits or squashes, never rebased",
        "lapse-apply trusts environment:production",
        "lapse-review has roles/logging.privateLogViewer on project pci-prod-payments",
        "cloudsql.googleapis.com on project pci-prod-payments: ADMIN_READ, DATA_READ, DATA_WRITE",
        "bucket settlement-exports: uniform bucket-level access on",
        "dataset pci-prod-analytics.chargebacks",
    ):
        assert expected in out


def test_classic_branch_protection_counts_like_a_ruleset(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(f"{w.REPO}/rules/branches/main", [])
    world.get(
        f"{w.REPO}/branches/main/protection",
        {
            "required_status_checks": {
                "strict": True,
                # GitHub lists every check in both; `checks` says which app may report it.
                "contexts": ["validate", "plan", "ci"],
                "checks": [
                    {"context": context, "app_id": 15368} for context in ("validate", "plan", "ci")
                ],
            },
            "enforce_admins": {
                "enabled": True,
                "url": f"https://{w.REPO}/branches/main/protection/enforce_admins",
            },
            "required_pull_request_reviews": {
                "dismiss_stale_reviews": True,
                "require_code_owner_reviews": True,
                "required_approving_review_count": 1,
                "require_last_push_approval": True,
            },
        },
    )
    code, out, _ = doctor(root, capsys)
    assert code == 0, out


Breakage = Callable[[w.World], None]


def _rules(*rules: dict[str, Any]) -> Breakage:
    return lambda world: world.get(f"{w.REPO}/rules/branches/main", list(rules))


def _no_label(world: w.World) -> None:
    world.set("GET", f"{w.REPO}/labels/lapse-alert", w.not_found())


def _secret_team(world: w.World) -> None:
    world.get(
        f"api.github.com/orgs/{w.OWNER}/teams/security",
        w.shape("team", slug="security", name="security", privacy="secret"),
    )


def _read_only_team(world: w.World) -> None:
    world.get(
        f"api.github.com/orgs/{w.OWNER}/teams/platform-leads/repos/{w.OWNER}/{w.NAME}",
        w.shape(
            "team_repository",
            permissions={
                "admin": False,
                "maintain": False,
                "push": False,
                "triage": False,
                "pull": True,
            },
        ),
    )


def _all_branches(world: w.World) -> None:
    world.get(
        f"{w.REPO}/environments/production",
        w.shape(
            "environment", name="production", protection_rules=[], deployment_branch_policy=None
        ),
    )


def _extra_branch(world: w.World) -> None:
    world.get(
        f"{w.REPO}/environments/production/deployment-branch-policies",
        {
            "total_count": 2,
            "branch_policies": [
                {"id": 1, "name": "main", "type": "branch"},
                {"id": 2, "name": "release/*", "type": "branch"},
            ],
        },
    )


def _no_variable(world: w.World) -> None:
    world.get(
        f"{w.REPO}/actions/variables",
        {
            "total_count": 5,
            "variables": [
                w.shape("actions_variable", name=name, value=value)
                for name, value in w.VARIABLES.items()
                if name != "TF_STATE_BUCKET"
            ],
        },
    )


def _app_without_members(world: w.World) -> None:
    world.get(
        f"api.github.com/orgs/{w.OWNER}/installations",
        {
            "total_count": 1,
            "installations": [
                w.shape(
                    "installation",
                    app_slug=w.APP_SLUG,
                    permissions={"contents": "write", "issues": "write", "pull_requests": "read"},
                )
            ],
        },
    )


def _codeowners_error(world: w.World) -> None:
    world.get(
        f"{w.REPO}/codeowners/errors",
        {
            "errors": [
                {
                    "line": 7,
                    "column": 20,
                    "kind": "Unknown owner",
                    "source": "/requests/pci-prod/ @example-org/pci-access-approvers",
                    "suggestion": (
                        "make sure @example-org/pci-access-approvers exists and has write access"
                    ),
                    "message": "Unknown owner on line 7: make sure ... has write access",
                    "path": ".github/CODEOWNERS",
                }
            ]
        },
    )


def _provider_without_condition(world: w.World) -> None:
    answer = world.answers[("GET", f"{w.IAM}/{w.PROVIDER}")]
    assert isinstance(answer, tuple)
    answer[1]["attributeCondition"] = ""


def _untrusted_subject(world: w.World) -> None:
    world.policy(
        f"serviceAccounts/{w.IDENTITIES['apply']}",
        w.policy([{"role": "roles/iam.workloadIdentityUser", "members": []}]),
    )


def _no_review_role(world: w.World) -> None:
    world.edit_policy(
        "projects/pci-prod-analytics",
        lambda body: body["bindings"].pop(2),  # roles/logging.privateLogViewer
    )


def _without_admin_read(world: w.World) -> None:
    def edit(body: dict[str, Any]) -> None:
        body["auditConfigs"][0]["auditLogConfigs"] = [
            {"logType": "DATA_READ"},
            {"logType": "DATA_WRITE"},
        ]

    world.edit_policy(f"organizations/{w.ORG_ID}", edit)


def _exempted_person(world: w.World) -> None:
    world.edit_policy(
        f"organizations/{w.ORG_ID}",
        lambda body: body["auditConfigs"][0]["auditLogConfigs"][1].update(
            exemptedMembers=["user:alice@example.com"]
        ),
    )


def _fine_grained_bucket(world: w.World) -> None:
    world.get(
        "storage.googleapis.com/storage/v1/b/chargeback-evidence",
        {
            "name": "chargeback-evidence",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": False}},
        },
    )


def _organization_without_granter(world: w.World) -> None:
    # Held on the organization, the role reaches every resource below it.
    world.edit_policy(
        f"organizations/{w.ORG_ID}",
        lambda body: body["bindings"].remove({"role": w.GRANTER, "members": [w.sa("apply")]}),
    )


def _bucket_without_granter(world: w.World) -> None:
    _organization_without_granter(world)
    world.get(
        "storage.googleapis.com/storage/v1/b/settlement-exports/iam",
        {"kind": "storage#policy", "version": 3, "etag": "CAE=", "bindings": []},
    )


def _dataset_without_granter(world: w.World) -> None:
    _organization_without_granter(world)
    world.get(
        "bigquery.googleapis.com/bigquery/v2/projects/pci-prod-analytics/datasets/chargebacks",
        {
            "kind": "bigquery#dataset",
            "etag": "x",
            "access": [{"role": "OWNER", "specialGroup": "projectOwners"}],
        },
    )


def repository(world: w.World) -> dict[str, Any]:
    answer = world.answers[("GET", w.REPO)]
    assert isinstance(answer, tuple)
    body: dict[str, Any] = answer[1]
    return body


def _gone(where: str) -> Breakage:
    return lambda world: world.get(where, w.google_error(404, "NOT_FOUND")[1], status=404)


CASES: dict[str, tuple[Breakage, str, str, str]] = {
    # name: (breakage, the item's text, its state, text of its fix)
    "no pull request rule": (
        _rules(w.checks_rule("validate", "plan", "ci")),
        "pull requests required",
        "wrong",
        '"require_code_owner_review": true',
    ),
    "no code-owner review": (
        _rules(
            w.pull_request_rule(require_code_owner_review=False),
            w.checks_rule("validate", "plan", "ci"),
        ),
        "code-owner review required",
        "wrong",
        "gh api -X POST repos/example-org/access/rulesets",
    ),
    "stale approvals kept": (
        _rules(
            w.pull_request_rule(dismiss_stale_reviews_on_push=False),
            w.checks_rule("validate", "plan", "ci"),
        ),
        "stale approvals dismissed on push",
        "wrong",
        '"dismiss_stale_reviews_on_push": true',
    ),
    "admins may bypass the ruleset": (
        lambda world: world.get(
            f"{w.REPO}/rulesets/42",
            w.ruleset(
                42,
                "lapse-main",
                "Repository",
                {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"},
            ),
        ),
        "nobody bypasses them",
        "wrong",
        '"bypass_actors": []',
    ),
    "ci not required": (
        _rules(w.pull_request_rule(), w.checks_rule("validate", "plan")),
        "required check `ci`",
        "missing",
        '"context": "ci"',
    ),
    "CODEOWNERS line ignored": (
        _codeowners_error,
        ".github/CODEOWNERS:7",
        "wrong",
        "make sure @example-org/pci-access-approvers exists",
    ),
    "no CODEOWNERS": (
        # GitHub's description: a 404 without a body when there is no CODEOWNERS file.
        lambda world: world.set("GET", f"{w.REPO}/codeowners/errors", (404, None)),
        ".github/CODEOWNERS",
        "missing",
        "lapse codeowners",
    ),
    "team missing": (
        lambda world: world.set(
            "GET", f"api.github.com/orgs/{w.OWNER}/teams/pci-access-approvers", w.not_found()
        ),
        "@example-org/pci-access-approvers",
        "missing",
        "gh api -X POST orgs/example-org/teams -f name=pci-access-approvers -f privacy=closed",
    ),
    "team secret": (
        _secret_team,
        "@example-org/security",
        "wrong",
        "gh api -X PATCH orgs/example-org/teams/security -f privacy=closed",
    ),
    "team without write": (
        _read_only_team,
        "@example-org/platform-leads",
        "wrong",
        "orgs/example-org/teams/platform-leads/repos/example-org/access -f permission=push",
    ),
    "environment missing": (
        lambda world: world.set("GET", f"{w.REPO}/environments/lapse-automation", w.not_found()),
        "`lapse-automation` deploys from main only",
        "missing",
        "gh api -X PUT repos/example-org/access/environments/lapse-automation",
    ),
    "environment open to all branches": (
        _all_branches,
        "`production` deploys from main only",
        "wrong",
        '"custom_branch_policies": true',
    ),
    "environment open to another branch": (
        _extra_branch,
        "`production` deploys from main only",
        "wrong",
        "-f name=main -f type=branch",
    ),
    "label missing": (
        _no_label,
        "labels: lapse-alert",
        "missing",
        "gh label create lapse-alert --repo example-org/access --color b60205",
    ),
    "variable missing": (
        _no_variable,
        "variables: TF_STATE_BUCKET",
        "missing",
        "gh variable set TF_STATE_BUCKET --repo example-org/access",
    ),
    "secret missing": (
        lambda world: world.get(
            f"{w.REPO}/environments/production/secrets", {"total_count": 0, "secrets": []}
        ),
        "LAPSE_APP_PRIVATE_KEY (environment production)",
        "missing",
        "gh secret set LAPSE_APP_PRIVATE_KEY --repo example-org/access --env production",
    ),
    "App lacks a permission": (
        _app_without_members,
        "GitHub App permissions",
        "wrong",
        "settings/apps/acme-lapse/permissions",
    ),
    "App not installed": (
        lambda world: world.get(
            f"api.github.com/orgs/{w.OWNER}/installations", {"total_count": 0, "installations": []}
        ),
        "GitHub App permissions",
        "missing",
        "https://github.com/apps/acme-lapse/installations/new",
    ),
    "provider missing": (
        _gone(f"{w.IAM}/{w.PROVIDER}"),
        "Workload Identity provider",
        "missing",
        "providers create-oidc",
    ),
    "provider open to every repository": (
        _provider_without_condition,
        "Workload Identity provider",
        "wrong",
        "--attribute-condition",
    ),
    "identity missing": (
        _gone(f"{w.IAM}/projects/-/serviceAccounts/{w.IDENTITIES['review']}"),
        "identity lapse-review",
        "missing",
        "docs/setup.md, 6. Service accounts and their roles",
    ),
    "identity not trusted by its subject": (
        _untrusted_subject,
        "lapse-apply trusts environment:production",
        "missing",
        "--role roles/iam.workloadIdentityUser --member 'principalSet://iam.googleapis.com/",
    ),
    "review role missing": (
        _no_review_role,
        "lapse-review has roles/logging.privateLogViewer on project pci-prod-analytics",
        "missing",
        "gcloud projects add-iam-policy-binding pci-prod-analytics --condition=None",
    ),
    "audit config without ADMIN_READ": (
        _without_admin_read,
        "cloudsql.googleapis.com on project pci-prod-payments",
        "missing",
        "ADMIN_READ, DATA_READ and DATA_WRITE",
    ),
    "a person exempted from audit logs": (
        _exempted_person,
        "storage.googleapis.com on project pci-prod-payments",
        "wrong",
        "remove the exemptedMembers",
    ),
    "apply cannot set a bucket's policy": (
        _bucket_without_granter,
        "lapse-apply has lapseIamGranter on bucket settlement-exports",
        "missing",
        "gcloud storage buckets add-iam-policy-binding gs://settlement-exports --member "
        "serviceAccount:lapse-apply@acme-lapse-admin.iam.gserviceaccount.com "
        "--role organizations/618305524870/roles/lapseIamGranter",
    ),
    "apply cannot set a dataset's access": (
        _dataset_without_granter,
        "lapse-apply has lapseIamGranter on dataset pci-prod-analytics.chargebacks",
        "missing",
        "Sharing → Permissions → Add principal",
    ),
    "bucket without uniform access": (
        _fine_grained_bucket,
        "resources: bucket chargeback-evidence",
        "wrong",
        "gcloud storage buckets update gs://chargeback-evidence --uniform-bucket-level-access",
    ),
    "dataset missing": (
        _gone(
            "bigquery.googleapis.com/bigquery/v2/projects/pci-prod-analytics/datasets/settlements"
        ),
        "resources: dataset pci-prod-analytics.settlements",
        "missing",
        "remove it from policy/policy.yaml",
    ),
    "secret missing in Secret Manager": (
        _gone(
            "secretmanager.googleapis.com/v1/projects/pci-prod-payments/secrets/settlement-db-readonly"
        ),
        "resources: secret projects/pci-prod-payments/secrets/settlement-db-readonly",
        "missing",
        "remove it from policy/policy.yaml",
    ),
    "service account missing": (
        _gone(
            f"{w.IAM}/projects/-/serviceAccounts/batch-runner@stg-payments.iam.gserviceaccount.com"
        ),
        "resources: service account batch-runner@stg-payments.iam.gserviceaccount.com",
        "missing",
        "remove it from policy/policy.yaml",
    ),
    "rebase merging allowed": (
        lambda world: world.get(w.REPO, {**repository(world), "allow_rebase_merge": True}),
        "never rebased",
        "wrong",
        "gh api -X PATCH repos/example-org/access -F allow_rebase_merge=false",
    ),
    "merge settings not visible": (
        lambda world: world.get(
            w.REPO, {k: v for k, v in repository(world).items() if k != "allow_rebase_merge"}
        ),
        "never rebased",
        "cannot",
        "allow_rebase_merge=false",
    ),
    "project missing": (
        _gone(f"{w.CRM}/v3/projects/stg-payments"),
        "resources: project stg-payments",
        "missing",
        "remove it from policy/policy.yaml",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_one_broken_item_is_named_with_its_fix(
    case: str, world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    breakage, subject, state, fix = CASES[case]
    breakage(world)
    code, out, err = doctor(root, capsys)
    assert code == 1, out + err
    block = fix_after(out, subject)
    assert block.split()[0] == state, block
    assert fix in block, block
    assert "fix the items above" in out
    # Only what the breakage touches is flagged: one root cause may show at several places
    # (an organization's audit config covers every project under it), all in the same area.
    states = (["missing"], ["wrong"], ["cannot"])
    broken = [line for line in out.splitlines() if line.split()[:1] in states]
    assert {area_of(line) for line in broken} == {area_of(block)}, "\n".join(broken)


@pytest.mark.parametrize(
    ("where", "answer"),
    [
        (f"{w.REPO}", w.not_found()),
        (f"{w.REPO}", (403, {"message": "Resource not accessible by integration"})),
        (f"{w.REPO}/labels/lapse-review", (502, {"message": "Server Error"})),
    ],
    ids=["404 repository", "403 repository", "5xx labels"],
)
def test_github_failures_end_in_exit_3_after_retries(
    where: str,
    answer: w.Answer,
    world: w.World,
    root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world.set("GET", where, answer)
    code, out, err = doctor(root, capsys)
    assert code == 3, out + err
    assert "Traceback" not in err
    assert "failed" in err
    assert "organization owner" in err, "says which token doctor needs"
    tries = world.calls.count(("GET", where))
    assert tries == (5 if answer[0] >= 500 else 1)


def test_google_cloud_failures_end_in_exit_3_after_retries(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = f"{w.IAM}/{w.PROVIDER}"
    world.set("GET", where, w.google_error(503, "UNAVAILABLE"))
    code, _, err = doctor(root, capsys)
    assert code == 3
    assert world.calls.count(("GET", where)) == 5
    assert "Workload" in err or "workloadIdentityPools" in err


def test_without_any_credentials_it_says_what_to_set(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_credentials() -> requests.Session:
        raise ConfigError("no Google Cloud credentials")

    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setattr(adapters, "github", REAL_GITHUB)
    monkeypatch.setattr(adapters, "admin_session", no_credentials)
    code, out, err = doctor(root, capsys)
    assert code == 2
    assert "set GITHUB_TOKEN" in err and "gh auth token" in err
    assert "no Google Cloud credentials" in err
    assert out == ""


def test_without_google_credentials_only_github_is_checked(
    world: w.World, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_credentials() -> requests.Session:
        raise ConfigError(
            "no Google Cloud credentials: run `gcloud auth application-default login`"
        )

    monkeypatch.setattr(adapters, "build_session", no_credentials)
    monkeypatch.setattr(adapters, "admin_session", no_credentials)
    code, out, _ = doctor(root, capsys)
    assert code == 0, out
    assert "Google Cloud: not checked: no Google Cloud credentials" in out
    assert not any("googleapis.com" in where for _, where in world.calls)


def test_without_workflows_there_is_nothing_to_check_against(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(root / ".github" / "workflows")
    code, _, err = doctor(root, capsys)
    assert code == 2
    assert "no workflows in" in err


def test_a_role_held_on_the_resources_project_counts(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _bucket_without_granter(world)
    world.edit_policy(
        "projects/pci-prod-payments",
        lambda body: body["bindings"].append({"role": w.GRANTER, "members": [w.sa("apply")]}),
    )
    code, out, _ = doctor(root, capsys)
    assert line_of(out, "lapseIamGranter on bucket settlement-exports").split()[0] == "ok"
    assert code == 0, out


def test_classic_protection_that_exempts_admins_is_a_bypass(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(
        f"{w.REPO}/rules/branches/main",
        [w.pull_request_rule(), w.checks_rule("validate", "plan", "ci")],
    )
    world.get(
        f"{w.REPO}/branches/main/protection",
        {
            "enforce_admins": {
                "enabled": False,
                "url": f"https://{w.REPO}/branches/main/protection/enforce_admins",
            }
        },
    )
    code, out, _ = doctor(root, capsys)
    assert code == 1
    assert line_of(out, "nobody bypasses them").split()[0] == "wrong"


def test_an_identity_with_only_security_reviewer_is_told_each_missing_permission(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # roles/iam.securityReviewer reads IAM policies, not the resources themselves.
    denied = w.google_error(403, "PERMISSION_DENIED")
    refused = {
        f"{w.IAM}/{w.PROVIDER}": "iam.workloadIdentityPoolProviders.get",
        "storage.googleapis.com/storage/v1/b/settlement-exports": "storage.buckets.get",
        "bigquery.googleapis.com/bigquery/v2/projects/pci-prod-analytics/datasets/chargebacks": (
            "bigquery.datasets.get"
        ),
        "secretmanager.googleapis.com/v1/projects/pci-prod-payments/secrets/"
        "settlement-db-readonly": "secretmanager.secrets.get",
    }
    for where in refused:
        world.set("GET", where, denied)

    code, out, err = doctor(root, capsys)

    assert code == 1, out + err
    assert "Traceback" not in err
    for where, permission in refused.items():
        block = fix_after(out, f"lapse doctor may use {permission}")
        assert block.split()[0] == "missing", block
        assert where.split("/v1/")[-1].split("/v2/")[-1] in block, block
        assert "lapseDoctor" in block
    # The other resources were still checked, each on its own.
    assert "ok       resources: bucket chargeback-evidence" in out
    assert world.calls.count(("GET", f"{w.IAM}/{w.PROVIDER}")) == 1  # a 403 is not retried


def test_doctor_finds_projects_by_id_with_projects_search(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = doctor(root, capsys)
    assert code == 0, out + err
    searched = [c for c in world.calls if c[1].endswith("/v3/projects:search")]
    assert searched
    assert not [c for c in world.calls if "/v3/projects/" in c[1] and "getIamPolicy" not in c[1]]


NOTIFYING = """
notifications:
  channels:
    security: {kind: google_chat, url_from: LAPSE_WEBHOOK_SECURITY}
  security: security
"""


def _environment_secrets(world: w.World, env: str, names: list[str]) -> None:
    listed = [
        {"name": n, "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:00:00Z"}
        for n in names
    ]
    world.get(
        f"{w.REPO}/environments/{env}/secrets", {"total_count": len(listed), "secrets": listed}
    )


def test_the_webhooks_secret_is_asked_for_only_when_the_policy_notifies(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = doctor(root, capsys)
    assert code == 0 and "LAPSE_WEBHOOKS" not in out  # no `notifications`: the steps tell nobody
    policy = root / "policy" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + NOTIFYING, encoding="utf-8")
    code, out, _ = doctor(root, capsys)
    assert code == 1
    for env in ("lapse-automation", "production"):
        item = fix_after(out, f"LAPSE_WEBHOOKS (environment {env})")
        assert "missing" in item and "gh secret set LAPSE_WEBHOOKS" in item
        assert f"--env {env}" in item
    for env in ("lapse-automation", "production"):
        _environment_secrets(world, env, ["LAPSE_APP_PRIVATE_KEY", "LAPSE_WEBHOOKS"])
    code, out, _ = doctor(root, capsys)
    assert code == 0, out
    assert "ok       secrets: LAPSE_WEBHOOKS (environment production)" in out
