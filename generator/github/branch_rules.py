"""Judging the default branch's rules for `lapse doctor`: rulesets and classic protection alike.

Each README requirement is one item: pull requests, code-owner review, at least one approval,
stale approvals dismissed, last-push approval, each required check bound to GitHub Actions,
checks strict (on an up-to-date branch), and nobody bypassing. A rule GitHub would not show
this token (a 403, a ruleset without `bypass_actors`, which GitHub returns only to callers who
may edit the ruleset) makes its item "cannot tell", never "ok".
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from generator.core.checklist import CheckItem, cannot_tell, missing, ok, wrong
from generator.github.setup_expectations import GITHUB_ACTIONS_APP_ID, ruleset_body
from generator.github.setup_reading import SECTIONS, SetupReader, Unreadable

TOKEN_FIX = (
    "run lapse doctor with a token of a repository admin who may edit the rulesets "
    f"(organization rulesets: an organization owner); {SECTIONS['doctor']}"
)


@dataclass
class Found:
    """What the rules and the protection require, merged (either one suffices)."""

    pull_request: bool = False
    code_owner: bool = False
    approvals: int = 0
    dismiss_stale: bool = False
    last_push: bool = False
    strict: bool = False
    checks: dict[str, bool] = field(default_factory=dict)  # context -> bound to GitHub Actions

    def read_rules(self, rules: list[Any]) -> None:
        for rule in rules:
            if not isinstance(rule, dict):
                continue
            parameters = rule.get("parameters") or {}
            if rule.get("type") == "pull_request":
                self.pull_request = True
                self.code_owner |= parameters.get("require_code_owner_review") is True
                self.dismiss_stale |= parameters.get("dismiss_stale_reviews_on_push") is True
                self.last_push |= parameters.get("require_last_push_approval") is True
                self.approvals = max(self.approvals, _count(parameters, "required_approving"))
            if rule.get("type") == "required_status_checks":
                self.strict |= parameters.get("strict_required_status_checks_policy") is True
                for check in parameters.get("required_status_checks") or []:
                    bound = check.get("integration_id") == GITHUB_ACTIONS_APP_ID
                    self._check(str(check.get("context")), bound)

    def read_protection(self, protection: dict[str, Any]) -> None:
        reviews = protection.get("required_pull_request_reviews")
        if isinstance(reviews, dict):
            self.pull_request = True
            self.code_owner |= reviews.get("require_code_owner_reviews") is True
            self.dismiss_stale |= reviews.get("dismiss_stale_reviews") is True
            self.last_push |= reviews.get("require_last_push_approval") is True
            self.approvals = max(self.approvals, _count(reviews, "required_approving"))
        status = protection.get("required_status_checks")
        if isinstance(status, dict):
            self.strict |= status.get("strict") is True
            named = {str(c.get("context")): c.get("app_id") for c in status.get("checks") or []}
            for context in status.get("contexts") or []:
                named.setdefault(str(context), None)  # a bare context: any app may report it
            for context, app in named.items():
                self._check(context, app == GITHUB_ACTIONS_APP_ID)

    def _check(self, context: str, bound: bool) -> None:
        self.checks[context] = self.checks.get(context, False) or bound


def _count(parameters: dict[str, Any], prefix: str) -> int:
    value = parameters.get(f"{prefix}_review_count")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True, slots=True)
class BranchRules:
    read: SetupReader
    owner: str
    full: str
    branch: str

    @property
    def path(self) -> str:
        return f"/repos/{self.full}"

    def items(self, checks: Sequence[str]) -> Iterator[CheckItem]:
        branch = quote(self.branch, safe="")
        rules = self.read.listing(f"{self.path}/rules/branches/{branch}")
        protection = self.read.get(f"{self.path}/branches/{branch}/protection")
        unread = [x for x in (rules, protection) if isinstance(x, Unreadable)]
        found = Found()
        found.read_rules(rules if isinstance(rules, list) else [])
        found.read_protection(protection if isinstance(protection, dict) else {})
        area = f"branch rules ({self.branch})"
        wanted = [
            (found.pull_request, "pull requests required", ""),
            (found.code_owner, "code-owner review required", ""),
            (found.approvals >= 1, "at least one approval required", f"{found.approvals}"),
            (found.dismiss_stale, "stale approvals dismissed on push", ""),
            (found.last_push, "the last pusher cannot approve their own push", ""),
            *self._check_items(found, checks),
            (found.strict or not checks, "checks pass on an up-to-date branch (strict)", ""),
        ]
        fix = self._ruleset_fix(checks)
        for satisfied, subject, said in wanted:
            if satisfied:
                yield ok(area, subject)
                continue
            if unread:
                yield cannot_tell(area, subject, unread[0].reason, TOKEN_FIX)
                continue
            state = missing if subject.startswith("required check") else wrong
            detail = said or "not required by a ruleset or branch protection"
            yield state(area, subject, detail, fix)
            fix = f"the ruleset shown above (one sets every branch rule; {SECTIONS['branch']})"
        yield self._bypass_item(area, rules, protection, fix)

    @staticmethod
    def _check_items(found: Found, checks: Sequence[str]) -> Iterator[tuple[bool, str, str]]:
        for check in checks:
            subject = f"required check `{check}`"
            if check in found.checks and not found.checks[check]:
                yield False, subject, "required, but not bound to GitHub Actions (app 15368)"
            else:
                yield check in found.checks, subject, ""

    def _bypass_item(self, area: str, rules: Any, protection: Any, fix: str) -> CheckItem:
        subject = "nobody bypasses them"
        if isinstance(protection, dict) and not (protection.get("enforce_admins") or {}).get(
            "enabled"
        ):
            return wrong(area, subject, "branch protection exempts admins", fix)
        unread = next((x for x in (rules, protection) if isinstance(x, Unreadable)), None)
        bypassed, unseen = [], []
        for source, ruleset_id in self._rulesets(rules if isinstance(rules, list) else []):
            where = f"/orgs/{self.owner}" if source == "Organization" else self.path
            ruleset = self.read.get(f"{where}/rulesets/{ruleset_id}")
            if not isinstance(ruleset, dict) or "bypass_actors" not in ruleset:
                unseen.append(f"ruleset {ruleset_id}")
            elif ruleset["bypass_actors"]:
                bypassed.append(f"ruleset {ruleset_id}")
        if bypassed:
            return wrong(area, subject, f"{', '.join(bypassed)} has bypass actors", fix)
        if unread is not None:
            return cannot_tell(area, subject, unread.reason, TOKEN_FIX)
        if unseen:
            return cannot_tell(
                area,
                subject,
                f"GitHub shows this token no bypass list for {', '.join(unseen)}: it returns "
                "`bypass_actors` only to those who may edit the ruleset",
                TOKEN_FIX,
            )
        return ok(area, subject)

    @staticmethod
    def _rulesets(rules: list[Any]) -> list[tuple[str, Any]]:
        sources = {
            (str(rule.get("ruleset_source_type")), rule.get("ruleset_id"))
            for rule in rules
            if isinstance(rule, dict) and rule.get("ruleset_id") is not None
        }
        return sorted(sources, key=str)

    def _ruleset_fix(self, checks: Sequence[str]) -> str:
        body = json.dumps(ruleset_body(checks), indent=2)
        return (
            f"gh api -X POST repos/{self.full}/rulesets --input - <<'EOF'\n{body}\nEOF\n"
            f"(or edit the existing ruleset: https://github.com/{self.full}/settings/rules; "
            f"{SECTIONS['branch']})"
        )
