"""Checking the Google Cloud side of the setup: identities, their roles, audit logs, resources.

Read-only. Names come from the repository variables (`WIF_PROVIDER`, `*_SERVICE_ACCOUNT`) and
the policy's targets; every item's fix is the gcloud command or Terraform change that makes it
right. Roles and audit configs are judged on the *effective* policy: a project's own policy plus
those of its folders and organization, because IAM and audit logging inherit down that chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlencode

import requests

from generator.core import resource_kinds
from generator.core.checklist import CheckItem, missing, ok, wrong
from generator.core.errors import ServiceError
from generator.core.model import Policy, Target
from generator.core.resource_kinds import ResourceKind
from generator.core.resource_names import CRM, IAM, account_url
from generator.core.retry import call_with_retry
from generator.gcp.doctor_access import guarded
from generator.gcp.effective_access import coverage, grant_command, members_by_role, projects_of
from generator.gcp.iam_policies import (
    TIMEOUT_SECONDS,
    HttpStatusError,
    IamPolicyReader,
    is_transient,
)
from generator.gcp.two_step import two_step_items
from generator.gcp.workload_trust import (
    ATTRIBUTE_MAPPING,
    IDENTITY_SECTION,
    WIF_SECTION,
    condition_problem,
    maps_context,
    trust_items,
)

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# The identities docs/setup.md creates, the subjects each trusts and the roles it holds.
SUBJECTS = {
    "plan": ("pull_request", "environment:lapse-automation"),  # GitHub's `context` of each job
    "apply": ("environment:production",),
    "review": ("environment:lapse-automation",),
}
VARIABLES = {
    "plan": "PLAN_SERVICE_ACCOUNT",
    "apply": "APPLY_SERVICE_ACCOUNT",
    "review": "REVIEW_SERVICE_ACCOUNT",
}
PLAN_ROLES = ("roles/iam.securityReviewer", "roles/browser")
REVIEW_ROLES = ("roles/logging.viewer", "roles/logging.privateLogViewer")
# The custom role docs/setup.md has the apply identity hold on buckets, secrets, datasets, service
# accounts and the organization: set IAM policies there, nothing else (each kind's entry says
# whether it takes this role or a predefined one).
GRANTER_ROLE = "lapseIamGranter"


class GoogleJson:
    """GETs JSON from Google's REST APIs; None on 404; retried; other failures end in exit 3."""

    def __init__(
        self, session: requests.Session, *, sleep: Callable[[float], None] | None = None
    ) -> None:
        self._session = session
        self._sleep = sleep
        self.policies = IamPolicyReader(session, sleep=sleep)

    def get(self, url: str, what: str) -> dict[str, Any] | None:
        return call_with_retry(
            lambda: self._send(url), what=what, is_transient=is_transient, sleep=self._sleep
        )

    def _send(self, url: str) -> dict[str, Any] | None:
        response = self._session.get(url, timeout=TIMEOUT_SECONDS)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise HttpStatusError(response.status_code, response.reason or "")
        body = response.json()
        return body if isinstance(body, dict) else {}


@dataclass
class GcpCheck:
    """One run of the Google Cloud checks; caches what several items read."""

    api: GoogleJson
    policy: Policy
    repository: str
    variables: dict[str, str]
    subject: tuple[str | None, str] = (None, "GitHub's subject settings were not read")
    repository_id: int | None = None  # GitHub's numeric id of `repository`; None when unknown
    _parents: dict[str, str | None] = field(default_factory=dict)
    _policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    _projects: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def items(self) -> list[CheckItem]:
        """Every item; a call refused for want of a permission ends only its own part, with an
        item naming the permission (`doctor_access`)."""
        emails = {name: self.variables.get(var, "") for name, var in VARIABLES.items()}
        targets = list(self.policy.targets.values())
        units: list[Callable[[], Iterable[CheckItem]]] = [
            self.provider,
            *(partial(self.identity, name, email) for name, email in emails.items()),
            partial(self.roles, emails),
            partial(self.granter, emails["apply"]),
            *(partial(self.audit, target) for target in targets),
            *(partial(self.resources, target) for target in targets),
            partial(two_step_items, self.api, self.policy.people),
        ]
        return [item for unit in units for item in guarded(unit)]

    # --- Workload Identity Federation and the identities -----------------------------------

    def provider(self) -> Iterator[CheckItem]:
        name = self.variables.get("WIF_PROVIDER", "")
        subject = "Workload Identity provider"
        fix = f"{WIF_SECTION} (gcloud iam workload-identity-pools providers create-oidc)"
        if not name:
            yield missing("Google Cloud", subject, "variable WIF_PROVIDER is not set", fix)
            return
        found = self.api.get(f"{IAM}/{name}", f"reading {name}")
        if found is None:
            yield missing("Google Cloud", subject, f"{name} does not exist", fix)
        elif found.get("state") != "ACTIVE" or found.get("disabled"):
            yield wrong("Google Cloud", subject, f"{name} is not active", fix)
        elif (found.get("oidc") or {}).get("issuerUri") != GITHUB_ISSUER:
            yield wrong("Google Cloud", subject, f"issuer is not {GITHUB_ISSUER}", fix)
        elif problem := condition_problem(found.get("attributeCondition"), self.repository_id):
            pin = f"assertion.repository_id=='{self.repository_id or 'REPO_ID'}'"
            yield wrong(
                "Google Cloud",
                subject,
                problem,
                f"gcloud iam workload-identity-pools providers update-oidc {name} "
                f'--attribute-condition "{pin}"  ({WIF_SECTION})',
            )
        elif not maps_context(found):
            yield wrong(
                "Google Cloud",
                subject,
                "attribute.context is not mapped as lapse's identities expect",
                f"gcloud iam workload-identity-pools providers update-oidc {name} "
                f'--attribute-mapping "{ATTRIBUTE_MAPPING}"  ({WIF_SECTION})',
            )
        else:
            yield ok("Google Cloud", subject, name)

    def identity(self, name: str, email: str) -> Iterator[CheckItem]:
        subject = f"identity lapse-{name}"
        if not email:
            yield missing(
                "Google Cloud", subject, f"variable {VARIABLES[name]} is not set", IDENTITY_SECTION
            )
            return
        found = self.api.get(account_url(email), f"reading {email}")
        if found is None:
            yield missing("Google Cloud", subject, f"{email} does not exist", IDENTITY_SECTION)
            return
        if found.get("disabled"):
            yield wrong(
                "Google Cloud",
                subject,
                f"{email} is disabled",
                f"gcloud iam service-accounts enable {email}",
            )
        yield from self._trust(name, email)

    def _trust(self, name: str, email: str) -> Iterator[CheckItem]:
        pool = self.variables.get("WIF_PROVIDER", "").partition("/providers/")[0]
        members = members_by_role(self.api.policies.get_policy("service_account", email))
        trusted = members.get("roles/iam.workloadIdentityUser", set())
        yield from trust_items(name, email, pool, SUBJECTS[name], trusted, self.subject)

    # --- roles, judged on the effective policy -----------------------------------------------

    def roles(self, emails: dict[str, str]) -> Iterator[CheckItem]:
        for kind, name in self._scope():
            if not self._chain(kind, name):
                continue  # it does not exist: `resources` says so
            if emails["plan"]:
                for role in PLAN_ROLES:
                    yield self._role("plan", emails["plan"], role, kind, name)
            apply_role = resource_kinds.get(kind).setup.apply_role
            if emails["apply"] and apply_role:
                yield self._role("apply", emails["apply"], apply_role, kind, name)
            if emails["review"] and kind == "project":
                for role in REVIEW_ROLES:
                    yield self._role("review", emails["review"], role, kind, name)

    def _role(self, who: str, email: str, role: str, kind: str, name: str) -> CheckItem:
        member = f"serviceAccount:{email}"
        subject = f"lapse-{who} has {role} on {kind} {name}"
        chain = self._chain(kind, name)
        if any(member in members_by_role(self._policy(node)).get(role, set()) for node in chain):
            return ok("Google Cloud", subject)
        return missing(
            "Google Cloud",
            subject,
            "not granted there nor on a folder or organization above it",
            grant_command(kind, name, member, role),
        )

    def granter(self, email: str) -> Iterator[CheckItem]:
        """The apply identity holds the granter role on each allowed bucket, secret, dataset,
        service account and organization (inherited from the resource's project counts)."""
        organization = self._organization()
        if not email or organization is None:
            return
        role = f"{organization}/roles/{GRANTER_ROLE}"
        member = f"serviceAccount:{email}"
        for target in self.policy.targets.values():
            for kind in resource_kinds.kinds():
                command = kind.setup.granter_command
                if command is None:
                    continue  # a node: the role is checked there (`roles`, below)
                for name in target.resources.get(kind.key, ()):
                    home = resource_kinds.home_project(kind.key, name, target.bucket_projects)
                    item = self._granted(kind, name, home, (role, member), command)
                    if item is not None:
                        yield item
            for kind in resource_kinds.kinds():
                if kind.node and not kind.setup.apply_role:
                    for name in target.resources.get(kind.key, ()):
                        yield self._role("apply", email, role, kind.key, name.split("/")[-1])

    def _granted(
        self,
        kind: ResourceKind,
        name: str,
        project: str | None,
        granter: tuple[str, str],
        command: Callable[[str, str | None, str, str], str],
    ) -> CheckItem | None:
        role, member = granter
        try:
            own = self.api.policies.get_policy(kind.key, name)
        except ServiceError as exc:
            if isinstance(exc.__cause__, HttpStatusError) and exc.__cause__.status == 404:
                return None  # it does not exist: `resources` says so
            raise
        chain = self._chain("project", project) if project else []
        policies = [own, *(self._policy(node) for node in chain)]
        subject = f"lapse-apply has {role.rsplit('/', 1)[-1]} on {kind.title} {name}"
        if any(member in members_by_role(policy).get(role, set()) for policy in policies):
            return ok("Google Cloud", subject)
        return missing(
            "Google Cloud",
            subject,
            "the apply identity cannot set this resource's IAM policy",
            command(name, project, member, role),
        )

    def _organization(self) -> str | None:
        for kind, name in self._scope():
            top = self._chain(kind, name)[-1:] or [""]
            if top[0].startswith("organizations/"):
                return top[0]
        return None

    # --- audit logging -------------------------------------------------------------------

    def audit(self, target: Target) -> Iterator[CheckItem]:
        people = {f"user:{email}" for email in self.policy.people.values()}
        for kind, name in self._scope(target):
            if not self._chain(kind, name):
                continue  # it does not exist: `resources` says so
            configs = [
                config
                for node in self._chain(kind, name)
                for config in self._policy(node).get("auditConfigs") or []
            ]
            for service in target.audit_services:
                yield coverage(kind, name, service, configs, people)

    # --- the allowed resources exist ----------------------------------------------------------

    def resources(self, target: Target) -> Iterator[CheckItem]:
        """Each allowed resource the name of which says it; then the projects and folders.
        Each read on its own: one refused read leaves the others checked."""
        reads: list[Callable[[], CheckItem]] = []
        for kind in sorted(resource_kinds.kinds(), key=lambda kind: bool(kind.node)):
            if kind.key == "project":  # found by ID with projects.search (`_project`)
                reads += [partial(self._project_exists, p) for p in projects_of(target)]
            elif kind.setup.exists is not None:
                names = target.resources.get(kind.key, ())
                reads += [partial(self._exists, kind, name) for name in names]
        for read in reads:
            yield from guarded(lambda read=read: [read()])  # type: ignore[misc]

    def _project_exists(self, project: str) -> CheckItem:
        if self._project(project) is not None:
            return ok("resources", f"project {project}")
        return missing(
            "resources",
            f"project {project}",
            "projects.search finds no such project: it does not exist, or the doctor's"
            " identity lacks resourcemanager.projects.get on it",
            "create it, or remove it from policy/policy.yaml",
        )

    def _project(self, project: str) -> dict[str, Any] | None:
        """The project found by its ID: Resource Manager v3 gets a project by number only,
        so it is found with `projects.search` (`id:` query), which names its number and parent."""
        if project not in self._projects:
            query = urlencode({"query": f"id:{project}"})
            found = self.api.get(f"{CRM}/v3/projects:search?{query}", f"finding {project}")
            listed = (found or {}).get("projects") or ()
            hits = [p for p in listed if isinstance(p, dict) and p.get("projectId") == project]
            self._projects[project] = hits[0] if hits else None
        return self._projects[project]

    def _exists(self, kind: ResourceKind, name: str) -> CheckItem:
        assert kind.setup.exists is not None
        found = self.api.get(kind.setup.exists(name), f"reading {kind.title} {name}")
        if kind.setup.judge is not None:
            return kind.setup.judge(name, found)
        if found is None:
            return missing(
                "resources",
                f"{kind.title} {name}",
                "does not exist",
                "create it, or remove it from policy/policy.yaml",
            )
        return ok("resources", f"{kind.title} {name}")

    # --- the resource hierarchy ----------------------------------------------------------

    def _scope(self, target: Target | None = None) -> list[tuple[str, str]]:
        """(kind, id) of every project, folder and organization in scope."""
        targets = [target] if target else list(self.policy.targets.values())
        found: dict[tuple[str, str], None] = {}
        for each in targets:
            for project in projects_of(each):
                found[("project", project)] = None
            for kind in resource_kinds.kinds():
                for name in each.resources.get(kind.key, ()) if kind.reaches_down else ():
                    found[(kind.key, name.removeprefix(f"{kind.node}/"))] = None
        return list(found)

    def _chain(self, kind: str, name: str) -> list[str]:
        """`kind/name` and every folder and organization above it; empty when it does not exist.

        A resource that does not exist has its own `missing` item (see `resources`).
        """
        node: str | None = f"{resource_kinds.get(kind).node}/{name}"
        chain: list[str] = []
        while node is not None and node not in chain:
            if node not in self._parents and not node.startswith("organizations/"):
                found = (
                    self._project(node.removeprefix("projects/"))
                    if node.startswith("projects/")
                    else self.api.get(f"{CRM}/v3/{node}", f"reading {node}")
                )
                if found is None:
                    return chain
                self._parents[node] = found.get("parent") or None
            chain.append(node)
            node = self._parents.get(node)
        return chain

    def _policy(self, node: str) -> dict[str, Any]:
        if node not in self._policies:
            collection = node.partition("/")[0]
            kind = next((k.key for k in resource_kinds.kinds() if k.node == collection), "")
            self._policies[node] = self.api.policies.get_policy(kind or "organization", node)
        return self._policies[node]
