"""Checking a repository's GitHub settings against what lapse's workflows and policy need.

Read-only: every call is a GET through `JsonReader` (the GitHub adapter). Each finding is a
checklist item whose fix is a command, a settings page or a JSON body the person can use as is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from generator.core.checklist import CheckItem, missing, ok, wrong
from generator.core.errors import ServiceError
from generator.github.setup_expectations import (
    LABELS,
    Label,
    merge_methods,
    required_checks,
    review_rules,
    ruleset_body,
)
from generator.github.workflow_needs import WorkflowNeeds

REPOSITORY_JSON = "application/vnd.github.v3.repository+json"
WRITE_ROLES = frozenset({"admin", "maintain", "write"})
LEVELS = {"read": 1, "write": 2}


class JsonReader(Protocol):
    def read_json(self, path: str, *, accept: str | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class GitHubCheck:
    """The checklist, and the repository variables the Google Cloud check reads its names from."""

    items: tuple[CheckItem, ...]
    variables: dict[str, str]


def check_github(
    reader: JsonReader,
    repository: str,
    needs: WorkflowNeeds,
    owners: Sequence[str],
    app_slug: str | None,
) -> GitHubCheck:
    """Every item of the GitHub side of the setup, in the order the README sets it up."""
    owner, _, name = repository.partition("/")
    repo = reader.read_json(f"/repos/{owner}/{name}")
    if not isinstance(repo, dict):
        raise ServiceError(
            f"GitHub GET /repos/{repository} failed: not found, or not visible to this token"
        )
    facts = _Repo(reader, owner, name, str(repo.get("default_branch") or "main"), repo)
    variables = facts.variables(needs)
    items = [
        *facts.branch_rules(needs.required_checks),
        merge_methods(repository, repo),
        *facts.codeowners_errors(),
        *(item for handle in owners for item in facts.owner_access(handle)),
        *(item for env in needs.environments for item in facts.environment(env)),
        *(facts.label(label) for label in LABELS),
        *facts.variable_items(needs, variables),
        *facts.secret_items(needs),
        *facts.app(app_slug, needs.app_permissions),
        facts.oidc_subject(),
    ]
    return GitHubCheck(tuple(items), variables)


@dataclass(frozen=True, slots=True)
class _Repo:
    reader: JsonReader
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

    # --- branch rules ------------------------------------------------------------------

    def branch_rules(self, checks: Sequence[str]) -> Iterator[CheckItem]:
        branch = quote(self.default_branch, safe="")
        rules = self.reader.read_json(f"{self.path}/rules/branches/{branch}") or []
        protection = self.reader.read_json(f"{self.path}/branches/{branch}/protection") or {}
        review = review_rules(rules, protection)
        present = required_checks(rules, protection)
        area = f"branch rules ({self.default_branch})"
        wanted = [
            (review["pull_request"], "pull requests required"),
            (review["code_owner"], "code-owner review required"),
            (review["dismiss_stale"], "stale approvals dismissed on push"),
            *((check in present, f"required check `{check}`") for check in checks),
        ]
        wanted.append((not self._bypassed(rules, protection), "nobody bypasses them"))
        # One ruleset fixes them all: its body is shown once, at the first item it fixes.
        fix = self._ruleset_fix(checks)
        for satisfied, subject in wanted:
            if satisfied:
                yield ok(area, subject)
                continue
            state = missing if subject.startswith("required check") else wrong
            detail = (
                "a ruleset has bypass actors, or branch protection exempts admins"
                if subject == "nobody bypasses them"
                else "not required by a ruleset or branch protection"
            )
            yield state(area, subject, detail, fix)
            fix = "the ruleset shown above (one ruleset sets every branch rule)"

    def _bypassed(self, rules: list[Any], protection: dict[str, Any]) -> bool:
        """Whether someone may merge around the rules: bypass actors, or admins exempted."""
        if protection and not (protection.get("enforce_admins") or {}).get("enabled"):
            return True
        sources = {
            (str(rule.get("ruleset_source_type")), rule.get("ruleset_id"))
            for rule in rules
            if isinstance(rule, dict) and rule.get("ruleset_id") is not None
        }
        for source, ruleset_id in sorted(sources, key=str):
            where = f"/orgs/{self.owner}" if source == "Organization" else self.path
            ruleset = self.reader.read_json(f"{where}/rulesets/{ruleset_id}") or {}
            if ruleset.get("bypass_actors"):
                return True
        return False

    def _ruleset_fix(self, checks: Sequence[str]) -> str:
        body = json.dumps(ruleset_body(checks), indent=2)
        return (
            f"gh api -X POST repos/{self.full}/rulesets --input - <<'EOF'\n{body}\nEOF\n"
            f"(or edit the existing ruleset: https://github.com/{self.full}/settings/rules)"
        )

    # --- CODEOWNERS ----------------------------------------------------------------------

    def codeowners_errors(self) -> Iterator[CheckItem]:
        ref = quote(self.default_branch, safe="")
        found = self.reader.read_json(f"{self.path}/codeowners/errors?ref={ref}")
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
        team = self.reader.read_json(f"/orgs/{org}/teams/{slug}")
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
        access = self.reader.read_json(
            f"/orgs/{org}/teams/{slug}/repos/{self.full}", accept=REPOSITORY_JSON
        )
        allowed = access is not None and bool((access.get("permissions") or {}).get("push"))
        if not allowed:
            yield wrong(
                "code owners",
                subject,
                "needs write access to the repository, or GitHub ignores its CODEOWNERS lines",
                f"gh api -X PUT orgs/{org}/teams/{slug}/repos/{self.full} -f permission=push",
            )
        elif team.get("privacy") != "secret":
            yield ok("code owners", subject, "visible, with write access")

    def _user_access(self, login: str) -> CheckItem:
        found = self.reader.read_json(f"{self.path}/collaborators/{login}/permission")
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
        found = self.reader.read_json(f"{self.path}/environments/{env}")
        fix = self._environment_fix(env)
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
        listed = self.reader.read_json(f"{self.path}/environments/{env}/deployment-branch-policies")
        names = sorted(
            (str(item.get("name")), str(item.get("type", "branch")))
            for item in (listed or {}).get("branch_policies") or []
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
            f"https://github.com/{self.full}/settings/environments)"
        )

    # --- labels, variables, secrets ------------------------------------------------------

    def label(self, label: Label) -> CheckItem:
        if self.reader.read_json(f"{self.path}/labels/{quote(label.name, safe='')}") is not None:
            return ok("labels", label.name)
        return missing(
            "labels",
            label.name,
            "lapse finds its own issues and pull requests by this label",
            f"gh label create {label.name} --repo {self.full} --color {label.color} "
            f'--description "{label.description}"',
        )

    def variables(self, needs: WorkflowNeeds) -> dict[str, str]:
        """Variables the workflows can read: organization, then repository, then environment."""
        found: dict[str, str] = {}
        paths = [f"{self.path}/actions/variables?per_page=30"]
        if self.in_organization:
            paths.insert(0, f"{self.path}/actions/organization-variables?per_page=30")
        paths += [
            f"{self.path}/environments/{env}/variables?per_page=30" for env in needs.environments
        ]
        for path in paths:
            for item in (self.reader.read_json(path) or {}).get("variables") or []:
                found[str(item.get("name"))] = str(item.get("value", ""))
        return found

    def variable_items(self, needs: WorkflowNeeds, found: dict[str, str]) -> Iterator[CheckItem]:
        for name in needs.variables:
            yield (
                ok("variables", name, found[name])
                if found.get(name)
                else missing(
                    "variables",
                    name,
                    "the workflows read it; it is not set",
                    f"gh variable set {name} --repo {self.full} --body VALUE  (README, setup)",
                )
            )

    def secret_items(self, needs: WorkflowNeeds) -> Iterator[CheckItem]:
        shared = self._secret_names(f"{self.path}/actions/secrets?per_page=100")
        if self.in_organization:
            shared |= self._secret_names(f"{self.path}/actions/organization-secrets?per_page=100")
        for env, names in needs.secrets.items():
            available = shared | (
                self._secret_names(f"{self.path}/environments/{env}/secrets?per_page=100")
                if env
                else set()
            )
            where = f"environment {env}" if env else "repository"
            for name in names:
                yield (
                    ok("secrets", f"{name} ({where})")
                    if name in available
                    else missing(
                        "secrets",
                        f"{name} ({where})",
                        "the workflows read it; it is not set",
                        f"gh secret set {name} --repo {self.full}"
                        + (f" --env {env}" if env else "")
                        + " < FILE",
                    )
                )

    def _secret_names(self, path: str) -> set[str]:
        listed = (self.reader.read_json(path) or {}).get("secrets") or []
        return {str(secret.get("name")) for secret in listed}

    def oidc_subject(self) -> CheckItem:
        """The cloud identities trust GitHub's default subject, `repo:O/R:environment:E`."""
        found = self.reader.read_json(f"{self.path}/actions/oidc/customization/sub") or {}
        subject = "OIDC token subject is GitHub's default"
        if found.get("use_default", True):
            return ok("Actions", subject)
        return wrong(
            "Actions",
            subject,
            f"customized to {', '.join(found.get('include_claim_keys') or [])}: the identities "
            "trust repo:OWNER/REPO:pull_request and repo:OWNER/REPO:environment:NAME",
            f"gh api -X PUT repos/{self.full}/actions/oidc/customization/sub -F use_default=true",
        )

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
        listing = self.reader.read_json(f"/orgs/{self.owner}/installations?per_page=100") or {}
        installs = [i for i in listing.get("installations") or [] if i.get("app_slug") == slug]
        if not installs:
            yield missing(
                "GitHub App",
                subject,
                f"{slug} is not installed on {self.owner}",
                f"https://github.com/apps/{slug}/installations/new (this repository only)",
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
