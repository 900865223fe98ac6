"""Checking a repository's GitHub settings against what lapse's workflows and policy need.

Read-only: every call is a GET through `JsonReader` (the GitHub adapter). Each finding is a
checklist item whose fix is a command, a settings page or a JSON body the person can use as is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from generator.core.checklist import CheckItem, cannot_tell, missing, ok, wrong
from generator.core.errors import ServiceError
from generator.github.branch_rules import BranchRules
from generator.github.oidc_subject import oidc_subject
from generator.github.setup_expectations import LABELS, Label, merge_methods
from generator.github.setup_reading import SECTIONS, JsonReader, SetupReader, Unreadable
from generator.github.two_factor import two_factor_item
from generator.github.workflow_needs import WorkflowNeeds

REPOSITORY_JSON = "application/vnd.github.v3.repository+json"
WRITE_ROLES = frozenset({"admin", "maintain", "write"})
LEVELS = {"read": 1, "write": 2}


@dataclass(frozen=True, slots=True)
class GitHubCheck:
    """The checklist, and the repository variables the Google Cloud check reads its names from."""

    items: tuple[CheckItem, ...]
    variables: dict[str, str]
    subject_prefix: str | None = None  # the `sub` before `:context`; None when unknown
    subject_note: str = ""  # why the prefix is unknown
    repository_id: int | None = None  # GitHub's numeric id of the repository


def check_github(
    reader: JsonReader,
    repository: str,
    needs: WorkflowNeeds,
    owners: Sequence[str],
    app_slug: str | None,
) -> GitHubCheck:
    """Every item of the GitHub side of the setup, in the order docs/setup.md sets it up."""
    owner, _, name = repository.partition("/")
    repo = reader.read_json(f"/repos/{owner}/{name}")
    if not isinstance(repo, dict):
        raise ServiceError(
            f"GitHub GET /repos/{repository} failed: not found, or not visible to this token"
        )
    branch = str(repo.get("default_branch") or "main")
    facts = _Repo(SetupReader(reader), owner, name, branch, repo)
    variables, unread = facts.variables(needs)
    items = [
        *BranchRules(facts.read, owner, repository, branch).items(needs.required_checks),
        merge_methods(repository, repo),
        *facts.codeowners_errors(),
        *(item for handle in owners for item in facts.owner_access(handle)),
        *(item for env in needs.environments for item in facts.environment(env)),
        *(facts.label(label) for label in LABELS),
        *facts.variable_items(needs, variables, unread),
        *facts.secret_items(needs),
        *facts.app(app_slug, needs.app_permissions),
        two_factor_item(facts.read, owner, facts.in_organization),
    ]
    subject = oidc_subject(facts.read, repository, repo)
    repo_id = repo.get("id") if isinstance(repo.get("id"), int) else None
    return GitHubCheck((*items, subject.item), variables, subject.prefix, subject.note, repo_id)


@dataclass(frozen=True, slots=True)
class _Repo:
    read: SetupReader
    owner: str
    name: str
    default_branch: str
    data: dict[str, Any]

    @property
    def path(self) -> str:
        return f"/repos/{self.owner}/{self.name}"

    @property
    def full(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def in_organization(self) -> bool:
        return str((self.data.get("owner") or {}).get("type", "")) == "Organization"

    def unknown(self, area: str, subject: str, unread: Unreadable) -> CheckItem:
        fix = f"run lapse doctor as {SECTIONS['doctor']} says"
        return cannot_tell(area, subject, unread.reason, fix)

    # --- CODEOWNERS ----------------------------------------------------------------------

    def codeowners_errors(self) -> Iterator[CheckItem]:
        ref = quote(self.default_branch, safe="")
        found = self.read.get(f"{self.path}/codeowners/errors?ref={ref}")
        if isinstance(found, Unreadable):
            yield self.unknown("CODEOWNERS", ".github/CODEOWNERS", found)
            return
        if found is None:
            yield missing(
                "CODEOWNERS",
                ".github/CODEOWNERS",
                f"no CODEOWNERS file on {self.default_branch}",
                "lapse codeowners, then commit .github/CODEOWNERS through a pull request",
            )
            return
        errors = found.get("errors") or []
        if not errors:
            yield ok("CODEOWNERS", ".github/CODEOWNERS", "GitHub reports no errors")
        for error in errors:
            where = f"{error.get('path', '.github/CODEOWNERS')}:{error.get('line', '?')}"
            hint = error.get("suggestion") or "fix or remove the line"
            yield wrong(
                "CODEOWNERS",
                where,
                f"{error.get('kind', 'error')}: {error.get('message', '')}".strip(),
                f"{hint}; GitHub ignores this line until then. Check again: "
                f"gh api repos/{self.full}/codeowners/errors",
            )

    # --- owners --------------------------------------------------------------------------

    def owner_access(self, handle: str) -> Iterator[CheckItem]:
        org, slash, slug = handle.removeprefix("@").partition("/")
        if slash:
            yield from self._team_access(org, slug)
        else:
            yield self._user_access(org)

    def _team_access(self, org: str, slug: str) -> Iterator[CheckItem]:
        subject = f"@{org}/{slug}"
        team = self.read.get(f"/orgs/{org}/teams/{slug}")
        if isinstance(team, Unreadable):
            yield self.unknown("code owners", subject, team)
            return
        if team is None:
            yield missing(
                "code owners",
                subject,
                "the team does not exist, or this token cannot see it",
                f"gh api -X POST orgs/{org}/teams -f name={slug} -f privacy=closed",
            )
            return
        if team.get("privacy") == "secret":
            yield wrong(
                "code owners",
                subject,
                "the team is secret: GitHub ignores secret teams in CODEOWNERS",
                f"gh api -X PATCH orgs/{org}/teams/{slug} -f privacy=closed",
            )
        access = self.read.get(
            f"/orgs/{org}/teams/{slug}/repos/{self.full}", accept=REPOSITORY_JSON
        )
        allowed = isinstance(access, dict) and bool((access.get("permissions") or {}).get("push"))
        if isinstance(access, Unreadable):
            yield self.unknown("code owners", subject, access)
        elif not allowed:
            yield wrong(
                "code owners",
                subject,
                "needs write access to the repository, or GitHub ignores its CODEOWNERS lines",
                f"gh api -X PUT orgs/{org}/teams/{slug}/repos/{self.full} -f permission=push"
                f"  ({SECTIONS['owners']})",
            )
        elif team.get("privacy") != "secret":
            yield ok("code owners", subject, "visible, with write access")

    def _user_access(self, login: str) -> CheckItem:
        found = self.read.get(f"{self.path}/collaborators/{login}/permission")
        if isinstance(found, Unreadable):
            return self.unknown("code owners", f"@{login}", found)
        permission = str((found or {}).get("permission", "none"))
        if permission in WRITE_ROLES:
            return ok("code owners", f"@{login}", f"{permission} access")
        return wrong(
            "code owners",
            f"@{login}",
            f"has {permission} access; code owners need write access",
            f"gh api -X PUT repos/{self.full}/collaborators/{login} -f permission=push",
        )

    # --- environments --------------------------------------------------------------------

    def environment(self, env: str) -> Iterator[CheckItem]:
        subject = f"`{env}` deploys from {self.default_branch} only"
        found = self.read.get(f"{self.path}/environments/{env}")
        fix = self._environment_fix(env)
        if isinstance(found, Unreadable):
            yield self.unknown("environments", subject, found)
            return
        if found is None:
            yield missing("environments", subject, "the environment does not exist", fix)
            return
        policy = found.get("deployment_branch_policy")
        if not policy:
            yield wrong("environments", subject, "every branch may deploy to it", fix)
            return
        if policy.get("protected_branches") or not policy.get("custom_branch_policies"):
            yield wrong("environments", subject, "any protected branch may deploy to it", fix)
            return
        listed = self.read.listing(
            f"{self.path}/environments/{env}/deployment-branch-policies", "branch_policies"
        )
        if isinstance(listed, Unreadable):
            yield self.unknown("environments", subject, listed)
            return
        names = sorted(
            (str(item.get("name")), str(item.get("type", "branch"))) for item in listed or []
        )
        if names == [(self.default_branch, "branch")]:
            yield ok("environments", subject)
        else:
            shown = ", ".join(f"{kind} {name}" for name, kind in names) or "none"
            yield wrong("environments", subject, f"branch policies: {shown}", fix)

    def _environment_fix(self, env: str) -> str:
        return (
            f"gh api -X PUT repos/{self.full}/environments/{env} --input - <<'EOF'\n"
            '{"deployment_branch_policy": {"protected_branches": false, '
            '"custom_branch_policies": true}}\nEOF\n'
            f"gh api -X POST repos/{self.full}/environments/{env}/deployment-branch-policies "
            f"-f name={self.default_branch} -f type=branch   (and delete any other policy: "
            f"https://github.com/{self.full}/settings/environments; {SECTIONS['environments']})"
        )

    # --- labels, variables, secrets ------------------------------------------------------

    def label(self, label: Label) -> CheckItem:
        found = self.read.get(f"{self.path}/labels/{quote(label.name, safe='')}")
        if isinstance(found, Unreadable):
            return self.unknown("labels", label.name, found)
        if found is not None:
            return ok("labels", label.name)
        return missing(
            "labels",
            label.name,
            "lapse finds its own issues and pull requests by this label",
            f"gh label create {label.name} --repo {self.full} --color {label.color} "
            f'--description "{label.description}"',
        )

    def variables(self, needs: WorkflowNeeds) -> tuple[dict[str, str], Unreadable | None]:
        """Variables the workflows can read: organization, then repository, then environment;
        and why some listing could not be read wholly, if one could not."""
        found: dict[str, str] = {}
        paths = [f"{self.path}/actions/variables"]
        if self.in_organization:
            paths.insert(0, f"{self.path}/actions/organization-variables")
        paths += [f"{self.path}/environments/{env}/variables" for env in needs.environments]
        unread = None
        for path in paths:
            listed = self.read.listing(path, "variables")
            if isinstance(listed, Unreadable):
                unread = unread or listed
                continue
            for item in listed or []:
                found[str(item.get("name"))] = str(item.get("value", ""))
        return found, unread

    def variable_items(
        self, needs: WorkflowNeeds, found: dict[str, str], unread: Unreadable | None
    ) -> Iterator[CheckItem]:
        for name in needs.variables:
            yield (
                ok("variables", name, found[name])
                if found.get(name)
                else self.unknown("variables", name, unread)
                if unread is not None
                else missing(
                    "variables",
                    name,
                    "the workflows read it; it is not set",
                    f"gh variable set {name} --repo {self.full} --body VALUE  ({_section(name)})",
                )
            )

    def secret_items(self, needs: WorkflowNeeds) -> Iterator[CheckItem]:
        shared = self._secret_names(f"{self.path}/actions/secrets")
        if self.in_organization:
            shared = _union(shared, self._secret_names(f"{self.path}/actions/organization-secrets"))
        for env, names in needs.secrets.items():
            own = self._secret_names(f"{self.path}/environments/{env}/secrets") if env else set()
            available = _union(shared, own)
            where = f"environment {env}" if env else "repository"
            for name in names:
                subject = f"{name} ({where})"
                if isinstance(available, set) and name in available:
                    yield ok("secrets", subject)
                elif isinstance(available, Unreadable):
                    yield self.unknown("secrets", subject, available)
                else:
                    yield missing(
                        "secrets",
                        subject,
                        "the workflows read it; it is not set",
                        f"gh secret set {name} --repo {self.full}"
                        + (f" --env {env}" if env else "")
                        + f" < FILE  ({SECTIONS['app']})",
                    )

    def _secret_names(self, path: str) -> set[str] | Unreadable:
        listed = self.read.listing(path, "secrets")
        if isinstance(listed, Unreadable):
            return listed
        return {str(secret.get("name")) for secret in listed or []}

    # --- the GitHub App ------------------------------------------------------------------

    def app(self, slug: str | None, needed: dict[str, str]) -> Iterator[CheckItem]:
        subject = "GitHub App permissions"
        if not self.in_organization:
            yield wrong(
                "GitHub App",
                subject,
                "team approvals and the App's organization permission need an organization",
                "transfer the repository to an organization: "
                f"https://github.com/{self.full}/settings (Danger Zone → Transfer)",
            )
            return
        if not slug:
            yield missing(
                "GitHub App",
                subject,
                "no App named: doctor cannot see which installation the workflows use",
                "run again with --app-slug SLUG (https://github.com/apps/SLUG)",
            )
            return
        listing = self.read.listing(f"/orgs/{self.owner}/installations", "installations")
        if isinstance(listing, Unreadable):
            yield cannot_tell(
                "GitHub App",
                subject,
                f"{listing.reason}; listing the organization's App installations needs an "
                "organization owner's token",
                f"run lapse doctor as an owner of {self.owner} ({SECTIONS['doctor']})",
            )
            return
        installs = [i for i in listing or [] if i.get("app_slug") == slug]
        if not installs:
            yield missing(
                "GitHub App",
                subject,
                f"{slug} is not installed on {self.owner}",
                f"https://github.com/apps/{slug}/installations/new (this repository only; "
                f"{SECTIONS['app']})",
            )
            return
        granted = installs[0].get("permissions") or {}
        short = {
            scope: level
            for scope, level in needed.items()
            if LEVELS.get(str(granted.get(scope)), 0) < LEVELS[level]
        }
        if not short:
            yield ok("GitHub App", subject, ", ".join(f"{s}: {lvl}" for s, lvl in needed.items()))
            return
        yield wrong(
            "GitHub App",
            subject,
            "missing " + ", ".join(f"{s}: {lvl}" for s, lvl in short.items()),
            f"https://github.com/organizations/{self.owner}/settings/apps/{slug}/permissions, "
            "then accept the new permissions on the installation",
        )


def _section(variable: str) -> str:
    """The section of docs/setup.md that sets `variable`."""
    if variable.startswith("LAPSE_APP"):
        return SECTIONS["app"]
    if variable == "WIF_PROVIDER":
        return SECTIONS["wif"]
    return SECTIONS["identities"]


def _union(first: set[str] | Unreadable, second: set[str] | Unreadable) -> set[str] | Unreadable:
    if isinstance(first, Unreadable):
        return first
    return second if isinstance(second, Unreadable) else first | second
