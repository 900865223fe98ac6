"""A GitHub organization and a Google Cloud organization set up as docs/setup.md says, over HTTP.

Every answer has the shape of the real API's (GitHub's OpenAPI description; Google's discovery
documents). Tests change one answer to make one item missing or wrong. Requests nobody
answered are recorded in `unknown`, so a test can tell a check that never ran from one that passed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from tests.support import answers_may_go_unused

OWNER, NAME = "example-org", "access"
REPO = f"api.github.com/repos/{OWNER}/{NAME}"
ORG_ID = "618305524870"
PCI_FOLDER = "folders/771043265529"
STG_FOLDER = "folders/204518736091"
POOL = "projects/493817735911/locations/global/workloadIdentityPools/lapse"
PROVIDER = f"{POOL}/providers/github"
IDENTITIES = {
    "plan": "lapse-plan@acme-lapse-admin.iam.gserviceaccount.com",
    "apply": "lapse-apply@acme-lapse-admin.iam.gserviceaccount.com",
    "review": "lapse-review@acme-lapse-admin.iam.gserviceaccount.com",
}
APP_SLUG = "acme-lapse"
TEAMS = ("security", "pci-access-approvers", "platform-leads", "payments-oncall")
ENVIRONMENTS = ("production", "lapse-automation")
LABELS = (
    "lapse-expire",
    "lapse-review",
    "lapse-drift",
    "lapse-emergency",
    "security-incident",
    "lapse-alert",
)
PROJECTS = {"pci-prod-payments": PCI_FOLDER, "pci-prod-analytics": PCI_FOLDER}
PROJECTS["stg-payments"] = STG_FOLDER
CRM = "cloudresourcemanager.googleapis.com"
IAM = "iam.googleapis.com/v1"

VARIABLES = {
    "LAPSE_APP_CLIENT_ID": "Iv23liExampleClient",
    "WIF_PROVIDER": PROVIDER,
    "PLAN_SERVICE_ACCOUNT": IDENTITIES["plan"],
    "APPLY_SERVICE_ACCOUNT": IDENTITIES["apply"],
    "REVIEW_SERVICE_ACCOUNT": IDENTITIES["review"],
    "TF_STATE_BUCKET": "acme-lapse-tfstate",
}

# The policy's people (policy/policy.yaml), each a directory user with 2-Step Verification.
PEOPLE = tuple(f"{name}@example.com" for name in ("alice", "bob", "carol", "dave", "erin"))
PEOPLE += ("frank@example.com", "grace@example.com")
DIRECTORY = "admin.googleapis.com/admin/directory/v1"

GRANTER = f"organizations/{ORG_ID}/roles/lapseIamGranter"
STAGING_ACCOUNT = "batch-runner@stg-payments.iam.gserviceaccount.com"

DATA = Path(__file__).resolve().parent / "data" / "github"

Answer = tuple[int, Any]
# The README's mapping, as an operator would type it (spacing differs from lapse's constant).
CONTEXT_MAPPING = (
    "has(assertion.environment) ? 'environment:' + assertion.environment : "
    "assertion.event_name == 'pull_request' ? 'pull_request' : 'ref:' + assertion.ref"
)


def pull_request_rule(**changes: Any) -> dict[str, Any]:
    parameters = {
        "required_approving_review_count": 1,
        "dismiss_stale_reviews_on_push": True,
        "require_code_owner_review": True,
        "require_last_push_approval": True,
        "required_review_thread_resolution": True,
        "allowed_merge_methods": ["merge", "squash", "rebase"],
    }
    parameters.update(changes)
    return {
        "type": "pull_request",
        "ruleset_source_type": "Repository",
        "ruleset_source": f"{OWNER}/{NAME}",
        "ruleset_id": 42,
        "parameters": parameters,
    }


def checks_rule(*contexts: str) -> dict[str, Any]:
    return {
        "type": "required_status_checks",
        "ruleset_source_type": "Organization",
        "ruleset_source": OWNER,
        "ruleset_id": 73,
        "parameters": {
            "strict_required_status_checks_policy": True,
            "required_status_checks": [
                {"context": context, "integration_id": 15368} for context in contexts
            ],
        },
    }


def ruleset(number: int, name: str, source_type: str, *bypass: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": number,
        "name": name,
        "target": "branch",
        "source_type": source_type,
        "source": OWNER if source_type == "Organization" else f"{OWNER}/{NAME}",
        "enforcement": "active",
        "bypass_actors": list(bypass),
        "current_user_can_bypass": "always" if bypass else "never",
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
        "rules": [],
    }


def shape(fixture: str, /, **changes: Any) -> dict[str, Any]:
    """A GitHub answer from tests/data/github, with `changes` over its top-level fields."""
    data: dict[str, Any] = json.loads((DATA / f"{fixture}.json").read_text())
    data.update(changes)
    return data


def not_found(message: str = "Not Found") -> Answer:
    return 404, {"message": message, "documentation_url": "https://docs.github.com/rest"}


def google_error(status: int, reason: str) -> Answer:
    return status, {"error": {"code": status, "message": reason, "status": reason}}


class World:
    """Answers keyed by (method, host + path); of the query only `page` past 1 (`?page=2`)."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], Answer | Callable[[], Answer]] = {}
        self.calls: list[tuple[str, str]] = []
        self.unknown: list[str] = []
        self._github()
        self._google()

    def set(self, method: str, where: str, answer: Answer | Callable[[], Answer]) -> None:
        self.answers[(method, where)] = answer

    def get(self, where: str, body: Any, status: int = 200) -> None:
        self.set("GET", where, (status, body))

    def policy(self, resource: str, body: dict[str, Any]) -> None:
        self.set("POST", self._policy_path(resource), (200, body))

    def edit_policy(self, resource: str, edit: Callable[[dict[str, Any]], None]) -> None:
        key = ("POST", self._policy_path(resource))
        answer = self.answers[key]
        assert isinstance(answer, tuple)
        edit(answer[1])

    def install(self, mock: responses.RequestsMock) -> None:
        answers_may_go_unused(mock, "one fake answering every GitHub and Google Cloud route")
        for method in (responses.GET, responses.POST):
            mock.add_callback(method, re.compile(r"https://[a-z.]+(:443)?/.*"), self._answer)

    def _answer(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        url = urlsplit(str(request.url))
        where = f"{url.hostname}{url.path}"
        page = parse_qs(url.query).get("page", ["1"])[0]
        if page != "1":  # later pages of a listing are answered only where a test sets them
            where = f"{where}?page={page}"
        key = (str(request.method), where)
        self.calls.append(key)
        if where == f"{CRM}/v3/projects:search":
            return self._search(parse_qs(url.query).get("query", [""])[0])
        answer = self.answers.get(key)
        if answer is None:
            self.unknown.append(f"{request.method} {where}")
            return 418, {}, json.dumps({"message": f"no answer for {where}"})
        status, body = answer() if callable(answer) else answer
        if body is None:  # an answer GitHub sends without a body
            return status, {}, ""
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    def _search(self, query: str) -> tuple[int, dict[str, str], str]:
        """projects.search by `id:P`: the project registered under its ID, if it is there."""
        project = query.removeprefix("id:")
        answer = self.answers.get(("GET", f"{CRM}/v3/projects/{project}"))
        status, body = (answer() if callable(answer) else answer) if answer else (404, {})
        if status == 403:
            return status, {"Content-Type": "application/json"}, json.dumps(body)
        found = {"projects": [body]} if status == 200 else {}
        return 200, {"Content-Type": "application/json"}, json.dumps(found)

    @staticmethod
    def _policy_path(resource: str) -> str:
        if resource.startswith("projects/"):
            return f"{CRM}/v1/{resource}:getIamPolicy"
        if resource.startswith("serviceAccounts/"):
            return f"{IAM}/projects/-/{resource}:getIamPolicy"
        return f"{CRM}/v3/{resource}:getIamPolicy"

    # --- GitHub, set up as docs/setup.md says ----------------------------------------------------

    def _github(self) -> None:
        self.get(
            REPO,
            shape(
                "repository",
                id=731642993,
                private=True,
                visibility="private",
                allow_squash_merge=True,
                allow_merge_commit=True,
                allow_rebase_merge=False,
            ),
        )
        self.get(
            f"{REPO}/rules/branches/main",
            [pull_request_rule(), checks_rule("validate", "plan", "ci")],
        )
        self.set("GET", f"{REPO}/branches/main/protection", not_found("Branch not protected"))
        self.get(f"{REPO}/rulesets/42", ruleset(42, "lapse-main", "Repository"))
        self.get(f"api.github.com/orgs/{OWNER}/rulesets/73", ruleset(73, "checks", "Organization"))
        self.get(f"{REPO}/codeowners/errors", {"errors": []})
        self.get(
            f"{REPO}/actions/oidc/customization/sub",
            {
                "use_default": True,
                "use_immutable_subject": False,
                "sub_claim_prefix": f"repo:{OWNER}/{NAME}",
            },
        )
        self.get(f"api.github.com/orgs/{OWNER}", organization())
        for slug in TEAMS:
            self.get(
                f"api.github.com/orgs/{OWNER}/teams/{slug}",
                shape(
                    "team",
                    slug=slug,
                    name=slug,
                    html_url=f"https://github.com/orgs/{OWNER}/teams/{slug}",
                ),
            )
            self.get(
                f"api.github.com/orgs/{OWNER}/teams/{slug}/repos/{OWNER}/{NAME}",
                shape("team_repository"),
            )
        for env in ENVIRONMENTS:
            self.get(
                f"{REPO}/environments/{env}",
                shape("environment", name=env, url=f"https://{REPO}/environments/{env}"),
            )
            self.get(
                f"{REPO}/environments/{env}/deployment-branch-policies",
                {
                    "total_count": 1,
                    "branch_policies": [{"id": 361471, "name": "main", "type": "branch"}],
                },
            )
            self.get(f"{REPO}/environments/{env}/variables", {"total_count": 0, "variables": []})
            self.get(
                f"{REPO}/environments/{env}/secrets",
                {
                    "total_count": 1,
                    "secrets": [
                        {
                            "name": "LAPSE_APP_PRIVATE_KEY",
                            "created_at": "2026-11-01T10:00:00Z",
                            "updated_at": "2026-11-01T10:00:00Z",
                        }
                    ],
                },
            )
        for label in LABELS:
            self.get(
                f"{REPO}/labels/{label}",
                shape("label", name=label, url=f"https://{REPO}/labels/{label}"),
            )
        variables = VARIABLES
        self.get(
            f"{REPO}/actions/variables",
            {
                "total_count": len(variables),
                "variables": [
                    shape("actions_variable", name=name, value=value)
                    for name, value in variables.items()
                ],
            },
        )
        self.get(f"{REPO}/actions/organization-variables", {"total_count": 0, "variables": []})
        self.get(f"{REPO}/actions/secrets", {"total_count": 0, "secrets": []})
        self.get(f"{REPO}/actions/organization-secrets", {"total_count": 0, "secrets": []})
        self.get(
            f"api.github.com/orgs/{OWNER}/installations",
            {"total_count": 1, "installations": [shape("installation", app_slug=APP_SLUG)]},
        )

    # --- Google Cloud, set up as docs/setup.md says ---------------------------------------------

    def _google(self) -> None:
        for email in PEOPLE:
            self.get(f"{DIRECTORY}/users/{email}", directory_user(email))
        self.get(
            f"{IAM}/{PROVIDER}",
            {
                "name": PROVIDER,
                "state": "ACTIVE",
                "disabled": False,
                "attributeMapping": {
                    "google.subject": "assertion.sub",
                    "attribute.repository_id": "assertion.repository_id",
                    "attribute.context": CONTEXT_MAPPING,
                },
                "attributeCondition": "assertion.repository_id=='731642993'",
                "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"},
            },
        )
        subjects = {
            "plan": ["pull_request", "environment:lapse-automation"],
            "apply": ["environment:production"],
            "review": ["environment:lapse-automation"],
        }
        for name, email in IDENTITIES.items():
            self.get(f"{IAM}/projects/-/serviceAccounts/{email}", service_account(email))
            members = [
                f"principalSet://iam.googleapis.com/{POOL}/attribute.context/{subject}"
                for subject in subjects[name]
            ]
            self.policy(
                f"serviceAccounts/{email}",
                policy([{"role": "roles/iam.workloadIdentityUser", "members": members}]),
            )
        staging_account = "batch-runner@stg-payments.iam.gserviceaccount.com"
        self.get(
            f"{IAM}/projects/-/serviceAccounts/{staging_account}", service_account(staging_account)
        )
        self.policy(
            f"serviceAccounts/{STAGING_ACCOUNT}",
            policy([{"role": GRANTER, "members": [sa("apply")]}]),
        )
        self._hierarchy()
        for bucket in ("settlement-exports", "chargeback-evidence"):
            self.get(
                f"storage.googleapis.com/storage/v1/b/{bucket}",
                {
                    "kind": "storage#bucket",
                    "name": bucket,
                    "iamConfiguration": {
                        "uniformBucketLevelAccess": {
                            "enabled": True,
                            "lockedTime": "2027-02-27T10:00:00Z",
                        },
                        "publicAccessPrevention": "enforced",
                    },
                },
            )
            self.get(
                f"storage.googleapis.com/storage/v1/b/{bucket}/iam",
                {
                    "kind": "storage#policy",
                    "resourceId": f"projects/_/buckets/{bucket}",
                    "version": 3,
                    "etag": "CAE=",
                    "bindings": [{"role": GRANTER, "members": [sa("apply")]}],
                },
            )
        for dataset in ("chargebacks", "settlements"):
            self.get(
                f"bigquery.googleapis.com/bigquery/v2/projects/pci-prod-analytics/datasets/{dataset}",
                {
                    "kind": "bigquery#dataset",
                    "id": f"pci-prod-analytics:{dataset}",
                    "etag": "f7Kc5c2WhJ4DX7fKXKQJMA==",
                    "location": "EU",
                    "access": [
                        {"role": "OWNER", "specialGroup": "projectOwners"},
                        {"role": GRANTER, "userByEmail": IDENTITIES["apply"]},
                    ],
                },
            )
        secret = "projects/pci-prod-payments/secrets/settlement-db-readonly"
        self.get(
            f"secretmanager.googleapis.com/v1/{secret}",
            {
                "name": secret.replace("pci-prod-payments", "219842214981"),
                "replication": {"automatic": {}},
            },
        )
        self.get(
            f"secretmanager.googleapis.com/v1/{secret}:getIamPolicy",
            {
                "version": 3,
                "etag": "BwYV",
                "bindings": [{"role": GRANTER, "members": [sa("apply")]}],
            },
        )

    def _hierarchy(self) -> None:
        for project, folder in PROJECTS.items():
            self.get(
                f"{CRM}/v3/projects/{project}",
                {
                    "name": f"projects/{219842214981 + len(project)}",
                    "parent": folder,
                    "projectId": project,
                    "state": "ACTIVE",
                },
            )
            self.policy(
                f"projects/{project}",
                policy(
                    [
                        {"role": "roles/resourcemanager.projectIamAdmin", "members": [sa("apply")]},
                        {"role": "roles/logging.viewer", "members": [sa("review")]},
                        {"role": "roles/logging.privateLogViewer", "members": [sa("review")]},
                    ]
                ),
            )
        for folder in (PCI_FOLDER, STG_FOLDER):
            self.get(
                f"{CRM}/v3/{folder}",
                {
                    "name": folder,
                    "parent": f"organizations/{ORG_ID}",
                    "displayName": folder,
                    "state": "ACTIVE",
                },
            )
            self.policy(
                folder,
                policy(
                    [{"role": "roles/resourcemanager.folderIamAdmin", "members": [sa("apply")]}]
                ),
            )
        self.policy(
            f"organizations/{ORG_ID}",
            policy(
                [
                    {"role": "roles/iam.securityReviewer", "members": [sa("plan")]},
                    {"role": "roles/browser", "members": [sa("plan")]},
                    {"role": GRANTER, "members": [sa("apply")]},
                ],
                audit=[
                    {
                        "service": "allServices",
                        "auditLogConfigs": [
                            {"logType": "ADMIN_READ"},
                            {"logType": "DATA_READ"},
                            {"logType": "DATA_WRITE"},
                        ],
                    }
                ],
            ),
        )


def sa(name: str) -> str:
    return f"serviceAccount:{IDENTITIES[name]}"


def service_account(email: str) -> dict[str, Any]:
    project = email.split("@")[1].split(".", maxsplit=1)[0]
    return {
        "name": f"projects/{project}/serviceAccounts/{email}",
        "projectId": project,
        "uniqueId": "104358221394785136247",
        "email": email,
        "displayName": email.split("@", maxsplit=1)[0],
        "etag": "MDEwMjE5MjA=",
        "oauth2ClientId": "104358221394785136247",
        "disabled": False,
    }


def policy(
    bindings: list[dict[str, Any]], audit: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"version": 3, "etag": "BwXhqDaXa8s=", "bindings": bindings}
    if audit is not None:
        body["auditConfigs"] = audit
    return body


def organization(**changes: Any) -> dict[str, Any]:
    """GET /orgs/{org} as GitHub answers an owner (`two_factor_requirement_enabled` included)."""
    body: dict[str, Any] = {
        "login": OWNER,
        "id": 96123483,
        "node_id": "O_kgDOBbn5mw",
        "url": f"https://api.github.com/orgs/{OWNER}",
        "repos_url": f"https://api.github.com/orgs/{OWNER}/repos",
        "events_url": f"https://api.github.com/orgs/{OWNER}/events",
        "hooks_url": f"https://api.github.com/orgs/{OWNER}/hooks",
        "issues_url": f"https://api.github.com/orgs/{OWNER}/issues",
        "members_url": f"https://api.github.com/orgs/{OWNER}/members{{/member}}",
        "public_members_url": f"https://api.github.com/orgs/{OWNER}/public_members{{/member}}",
        "avatar_url": "https://avatars.githubusercontent.com/u/96123483?v=4",
        "description": None,
        "html_url": f"https://github.com/{OWNER}",
        "has_organization_projects": True,
        "has_repository_projects": True,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": "2021-12-14T09:12:40Z",
        "updated_at": "2026-11-01T10:00:00Z",
        "archived_at": None,
        "type": "Organization",
        "two_factor_requirement_enabled": True,
    }
    body.update(changes)
    return body


def directory_user(email: str, **changes: Any) -> dict[str, Any]:
    """users.get with lapse's `fields`: the person enforced and enrolled in 2-Step Verification."""
    body: dict[str, Any] = {
        "primaryEmail": email,
        "isEnforcedIn2Sv": True,
        "isEnrolledIn2Sv": True,
        "orgUnitPath": "/Engineering",
        "suspended": False,
    }
    body.update(changes)
    return body


def doctor_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """`lapse doctor`'s GitHub and Google clients, pointed at the world's fakes, without waits."""
    from generator.commands import adapters
    from generator.github.client import GitHubClient

    monkeypatch.setenv("GITHUB_TOKEN", "ghs_doctor")
    monkeypatch.setenv("GITHUB_REPOSITORY", f"{OWNER}/{NAME}")
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)
    monkeypatch.setattr(
        adapters,
        "github",
        lambda *_: GitHubClient(f"{OWNER}/{NAME}", "ghs_doctor", sleep=lambda _s: None),
    )
    monkeypatch.setattr(adapters, "build_session", requests.Session)
    monkeypatch.setattr(adapters, "admin_session", requests.Session)
