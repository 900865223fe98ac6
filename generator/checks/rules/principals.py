"""LAPSE20x: access goes to one known person, by their own identity (PCI DSS 8.2.1, 8.2.2)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.rules import RequestContext, rule
from generator.core.model import Problem
from generator.core.wording import did_you_mean

NOT_PEOPLE = (".gserviceaccount.com",)


_EMAILS: list[tuple[dict[str, str], frozenset[str]]] = []


def _emails(people: dict[str, str]) -> frozenset[str]:
    """The people's emails as a set, built once per policy rather than scanned per request."""
    if not _EMAILS or _EMAILS[0][0] is not people:
        _EMAILS[:] = [(people, frozenset(people.values()))]
    return _EMAILS[0][1]


@rule(
    "LAPSE201",
    "The requester is a person listed in the policy's people.",
    scope="request",
    fix="Use your email as listed under `people` in policy/policy.yaml; to be added, "
    "ask the security owners in a separate change.",
)
def known_person(ctx: RequestContext) -> Iterator[Problem]:
    # Exact comparison: a look-alike character makes a different identity.
    if ctx.request.requester not in _emails(ctx.policy.people):
        yield ctx.problem(
            "LAPSE201",
            ("requester",),
            f"{ctx.request.requester!r} is not a person in policy/policy.yaml",
            did_you_mean(ctx.request.requester, ctx.policy.people.values(), cutoff=0.85)
            + "add the person under `people` (GitHub login -> email) in a "
            "separate, security-reviewed change",
        )


@rule(
    "LAPSE202",
    "The requester's email domain is allowed for the target.",
    scope="request",
    fix="Request with an email in one of the target's allowed domains.",
)
def allowed_domain(ctx: RequestContext) -> Iterator[Problem]:
    domain = ctx.request.requester.rpartition("@")[2]
    if domain not in ctx.target.domains:
        yield ctx.problem(
            "LAPSE202",
            ("requester",),
            f"domain {domain!r} is not allowed for target {ctx.target.name!r}",
            f"allowed: {', '.join(ctx.target.domains)}",
        )


@rule(
    "LAPSE203",
    "Only people get access: never service accounts, groups, domains or the public.",
    scope="request",
    fix="Request access for yourself as a person; service accounts, groups and "
    "domains are never grantees.",
)
def person_principal(ctx: RequestContext) -> Iterator[Problem]:
    if ctx.request.requester.endswith(NOT_PEOPLE):
        yield ctx.problem(
            "LAPSE203",
            ("requester",),
            f"{ctx.request.requester!r} is a service account, not a person",
            "temporary access is for people; service accounts are managed in "
            "Terraform with their own review",
        )
