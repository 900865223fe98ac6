"""LAPSE25x: a role is judged by its permissions, read from policy/roles.lock.json.

A temporary grant of a role that can set IAM policy, mint keys or tokens, or start workloads
as a service account is not temporary: the grantee can leave access behind (PCI DSS 7.2.5).
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.rules import PolicyContext, RequestContext, describe, rule
from generator.checks.rules.resources import BASIC_ROLES
from generator.core.model import Problem
from generator.gcp.roles import persistence_permissions

describe(
    "LAPSE252",
    "policy/roles.lock.json is readable and well formed.",
    scope="policy",
    fix="Restore policy/roles.lock.json from git, or run `lapse roles sync`.",
)


_JUDGED: dict[int, tuple[tuple[str, ...], dict[str, list[str]]]] = {}


def _persistence_of(permissions: tuple[str, ...]) -> dict[str, list[str]]:
    # A role's verdict depends only on its permissions: judge each role once, not per grant.
    # Keyed by identity (the lock holds one tuple per role): hashing hundreds of permission
    # names for every grant cost more than the rule itself.
    kept = _JUDGED.get(id(permissions))
    if kept is None or kept[0] is not permissions:
        kept = (permissions, persistence_permissions(permissions))
        _JUDGED[id(permissions)] = kept
    return kept[1]


def _offending(groups: dict[str, list[str]]) -> str:
    permissions = sorted({p for found in groups.values() for p in found})
    shown = ", ".join(permissions[:6]) + (", ..." if len(permissions) > 6 else "")
    return f"{shown} ({', '.join(sorted(groups))})"


@rule(
    "LAPSE250",
    "Every requested role is in policy/roles.lock.json.",
    scope="request",
    fix="Run `lapse roles sync --role ROLE` and commit policy/roles.lock.json.",
)
def role_known(ctx: RequestContext) -> Iterator[Problem]:
    if ctx.roles is None:
        return  # LAPSE252 already says the lock file is unusable
    for grant in ctx.request.grants:
        # Roles the target does not allow are refused by LAPSE210/LAPSE211 already.
        if grant.role in ctx.target.roles and grant.role not in ctx.roles:
            yield ctx.problem(
                "LAPSE250",
                grant,
                f"{grant.role} is not in policy/roles.lock.json",
                f"run `lapse roles sync --role {grant.role}` and commit the lock file",
            )


@rule(
    "LAPSE251",
    "Roles whose permissions let access outlive its window are refused.",
    scope="request",
    fix="Ask for a role without permissions that create lasting access (IAM policy, "
    "keys, tokens, deployments), or get a written persistence exception in the policy.",
)
def no_persistence(ctx: RequestContext) -> Iterator[Problem]:
    if ctx.roles is None:
        return
    for grant in ctx.request.grants:
        info = ctx.roles.get(grant.role)
        if info is None or grant.role in ctx.target.persistence_exceptions:
            continue
        groups = _persistence_of(info.permissions)
        if groups:
            yield ctx.problem(
                "LAPSE251",
                grant,
                f"{grant.role} can leave access behind after expiry: {_offending(groups)}",
                "ask for a role without these permissions; exceptions are listed "
                "under the target's persistence_exceptions with a justification",
            )


@rule(
    "LAPSE253",
    "A target allows no persistence-capable role without a written exception.",
    scope="policy",
    fix="Remove the role from the target, or add a written persistence_exceptions entry.",
)
def policy_persistence(ctx: PolicyContext) -> Iterator[Problem]:
    if ctx.roles is None:
        return
    for name, target in ctx.policy.targets.items():
        for index, role in enumerate(target.roles):
            info = ctx.roles.get(role)
            if info is None or role in target.persistence_exceptions:
                continue
            groups = _persistence_of(info.permissions)
            if groups:
                yield ctx.problem(
                    "LAPSE253",
                    ("targets", name, "roles", index),
                    f"targets.{name} allows {role}, which can leave access behind: "
                    f"{_offending(groups)}",
                    "remove it, or add it to persistence_exceptions with a "
                    "justification the security team signs",
                )


@rule(
    "LAPSE254",
    "Every role a target allows is in policy/roles.lock.json.",
    scope="policy",
    fix="Run `lapse roles sync` so every allowed role is in the lock file.",
)
def policy_roles_known(ctx: PolicyContext) -> Iterator[Problem]:
    if ctx.roles is None:
        return
    for name, target in ctx.policy.targets.items():
        for index, role in enumerate(target.roles):
            if role not in ctx.roles and role not in BASIC_ROLES:
                yield ctx.problem(
                    "LAPSE254",
                    ("targets", name, "roles", index),
                    f"targets.{name} allows {role}, which is not in the lock file",
                    f"run `lapse roles sync --role {role}`",
                )
