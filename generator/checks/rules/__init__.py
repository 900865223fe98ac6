"""The rule registry.

Each rule has a stable id that appears in every problem it raises and in docs/rules.md's rule
table. Rules are plain functions registered with `@rule`; one module per family. A rule's
registration carries all that is said about it: its summary (the rule table of docs/rules.md), its
scope and level, and its fix (`lapse explain`). Adding a rule is one function in its family
and three lines of test (ARCHITECTURE.md, "How to add a rule").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from generator.checks.archive_ends import ArchivedEnd
from generator.checks.loading import Document
from generator.core.model import Grant, Level, Policy, Problem, Request, Target

if TYPE_CHECKING:
    from generator.gcp.roles import RolesLock
    from generator.terraform.audit_coverage import AuditCoverage
    from generator.terraform.configuration import Configuration

Scope = Literal["load", "request", "repo", "policy", "tree", "history"]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """One schema-valid request, with everything its rules may consult."""

    request: Request
    document: Document
    target: Target
    policy: Policy
    roles: RolesLock | None
    audit: AuditCoverage | None
    now: datetime | None  # None: the caller must not depend on the clock (render)
    time_checked: bool

    def problem(
        self,
        rule_id: str,
        where: tuple[str | int, ...] | Grant,
        message: str,
        hint: str = "",
        *,
        level: Level | None = None,
        key: bool = False,
    ) -> Problem:
        if isinstance(where, Grant):
            line, col = where.line, where.col
        else:
            line, col = self.document.at(*where, key=key)
        chosen = level or REGISTRY[rule_id].level
        return Problem(self.document.path, line, col, rule_id, chosen, message, hint)

    def grant_part(self, grant: Grant, part: str) -> tuple[str | int, ...]:
        """Where `part` of `grant` is written: "role", or its resource's key (`grant.kind`)."""
        index = next(i for i, g in enumerate(self.request.grants) if g is grant)
        return "grants", index, part


@dataclass(frozen=True, slots=True)
class RepoContext:
    """All requests at once, for rules about uniqueness and budgets."""

    requests: tuple[RequestContext, ...]
    paths: tuple[str, ...]
    archive_paths: tuple[str, ...]
    policy: Policy | None
    now: datetime | None
    # Emergency requests in archive/, read for the rolling-window counts (LAPSE296, LAPSE297).
    archived_emergencies: tuple[Request, ...] = ()
    # When each archived file says its window ended, for its month folder (LAPSE134).
    archived_ends: tuple[ArchivedEnd, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyContext:
    document: Document
    policy: Policy
    roles: RolesLock | None

    def problem(
        self,
        rule_id: str,
        where: tuple[str | int, ...],
        message: str,
        hint: str,
        *,
        key: bool = False,
    ) -> Problem:
        line, col = self.document.at(*where, key=key)
        return Problem(
            self.document.path, line, col, rule_id, REGISTRY[rule_id].level, message, hint
        )


@dataclass(frozen=True, slots=True)
class TreeContext:
    """The repository as files: its symlinks and its whole Terraform configuration."""

    symlinks: tuple[str, ...]
    configuration: Configuration | None
    resource_types: frozenset[str]  # the allowlist: lapse's own types plus the policy's


Check = Callable[..., Iterable[Problem]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    summary: str
    scope: Scope
    level: Level
    fix: str  # what to do about its problem, for `lapse explain`
    check: Check | None = field(default=None, compare=False)


REGISTRY: dict[str, Rule] = {}


def rule(
    rule_id: str, summary: str, *, scope: Scope, fix: str, level: Level = "error"
) -> Callable[[Check], Check]:
    """Register a check function under a stable id."""

    def register(check: Check) -> Check:
        describe(rule_id, summary, scope=scope, level=level, fix=fix, check=check)
        return check

    return register


def describe(
    rule_id: str,
    summary: str,
    *,
    scope: Scope = "load",
    level: Level = "error",
    fix: str,
    check: Check | None = None,
) -> None:
    """Register a rule whose check runs elsewhere (the loader, the schema) under a stable id."""
    if rule_id in REGISTRY:
        raise ValueError(f"rule id {rule_id} registered twice")
    REGISTRY[rule_id] = Rule(rule_id, summary, scope, level, fix, check)


def checks(scope: Scope) -> Iterator[Check]:
    for entry in sorted(REGISTRY.values(), key=lambda r: r.id):
        if entry.scope == scope and entry.check is not None:
            yield entry.check


def load_all() -> dict[str, Rule]:
    """Import every rule family so the registry is complete."""
    from generator.checks.rules import (  # noqa: F401, PLC0415 - imported for their registrations
        append_only,
        audit,
        budgets,
        emergency,
        extensions,
        hierarchy,
        loading,
        maintenance,
        paths,
        policy,
        principals,
        resources,
        roles,
        symlinks,
        terraform_config,
        windows,
    )

    return REGISTRY
