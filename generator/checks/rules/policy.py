"""LAPSE27x: the policy itself holds no contradictions (PCI DSS 7.2.1, 8.2.1, 8.2.2)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from generator.checks.rules import PolicyContext, describe, rule
from generator.checks.rules.principals import NOT_PEOPLE
from generator.checks.rules.resources import BASIC_ROLES
from generator.core.model import Problem

describe(
    "LAPSE274",
    "Every target's ticket_pattern is a valid regular expression.",
    scope="policy",
    fix="Fix the regular expression in the target's ticket_pattern.",
)


@rule(
    "LAPSE271",
    "Every person's email is in a domain some target allows.",
    scope="policy",
    fix="Add the person's email domain to a target, or correct the email.",
)
def person_domain(ctx: PolicyContext) -> Iterator[Problem]:
    domains = {d for target in ctx.policy.targets.values() for d in target.domains}
    for login, email in ctx.policy.people.items():
        if email.rpartition("@")[2] not in domains:
            yield ctx.problem(
                "LAPSE271",
                ("people", login),
                f"{login}: {email} is outside every allowed domain ({', '.join(sorted(domains))})",
                "people must use an identity whose 2-Step Verification the organization enforces",
            )


@rule(
    "LAPSE272",
    "One email belongs to one GitHub login: no shared identities.",
    scope="policy",
    fix="Give each GitHub login its own email; shared identities defeat attribution.",
)
def shared_identity(ctx: PolicyContext) -> Iterator[Problem]:
    logins: dict[str, list[str]] = defaultdict(list)
    for login, email in ctx.policy.people.items():
        logins[email].append(login)
        if len(logins[email]) > 1:
            yield ctx.problem(
                "LAPSE272",
                ("people", login),
                f"{email} is listed for {' and '.join(logins[email])}",
                "a shared identity breaks accountability (PCI DSS 8.2.2); give "
                "each person their own",
            )


@rule(
    "LAPSE273",
    "People are people: no service accounts in the people map.",
    scope="policy",
    fix="List people only; remove the service account from `people`.",
)
def people_are_people(ctx: PolicyContext) -> Iterator[Problem]:
    for login, email in ctx.policy.people.items():
        if email.endswith(NOT_PEOPLE):
            yield ctx.problem(
                "LAPSE273",
                ("people", login),
                f"{login}: {email} is a service account",
                "list the person's own Google identity",
            )


@rule(
    "LAPSE275",
    "No target allows a basic role (owner, editor, viewer).",
    scope="policy",
    fix="Remove roles/owner, roles/editor and roles/viewer from the target's roles.",
)
def no_basic_roles(ctx: PolicyContext) -> Iterator[Problem]:
    for name, target in ctx.policy.targets.items():
        for index, role in enumerate(target.roles):
            if role in BASIC_ROLES:
                yield ctx.problem(
                    "LAPSE275",
                    ("targets", name, "roles", index),
                    f"targets.{name} allows the basic role {role}",
                    "basic roles cannot carry IAM conditions",
                )


@rule(
    "LAPSE270",
    "Every channel a target's `notify` or `notifications.security` names is defined.",
    scope="policy",
    fix="Add the channel under notifications.channels, or name one that is there.",
)
def known_channels(ctx: PolicyContext) -> Iterator[Problem]:
    notifications = ctx.policy.notifications
    defined = set(notifications.channels) if notifications else set()
    named: list[tuple[tuple[str, ...], str | None]] = [
        (("targets", name, "notify"), target.notify) for name, target in ctx.policy.targets.items()
    ]
    if notifications is not None:
        named.append((("notifications", "security"), notifications.security))
    for where, channel in named:
        if channel is not None and channel not in defined:
            yield ctx.problem(
                "LAPSE270",
                where,
                f"no channel {channel!r} under notifications.channels",
                f"channels: {', '.join(sorted(defined)) or 'none'}",
            )
