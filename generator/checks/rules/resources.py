"""LAPSE21x-23x: one allowed role on one allowed resource of a kind that takes conditions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from generator.checks.rules import PolicyContext, RequestContext, describe, rule
from generator.core.model import Grant, Problem, Target
from generator.core.wording import did_you_mean

BASIC_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})


@rule(
    "LAPSE210",
    "Basic roles (owner, editor, viewer) are refused everywhere.",
    scope="request",
    fix="Ask for a predefined role that fits the task (e.g. roles/cloudsql.client).",
)
def basic_roles(ctx: RequestContext) -> Iterator[Problem]:
    for grant in ctx.request.grants:
        if grant.role in BASIC_ROLES:
            yield ctx.problem(
                "LAPSE210",
                grant,
                f"{grant.role} is a basic role",
                "basic roles cannot carry IAM conditions and grant far more than "
                "any task needs; ask for a predefined role",
            )


@rule(
    "LAPSE211",
    "The role is allowed for the target.",
    scope="request",
    fix="Choose one of the roles the target allows (the hint lists them); to allow "
    "another, change the policy in a security-reviewed pull request.",
)
def allowed_role(ctx: RequestContext) -> Iterator[Problem]:
    for grant in ctx.request.grants:
        if grant.role not in BASIC_ROLES and grant.role not in ctx.target.roles:
            yield ctx.problem(
                "LAPSE211",
                grant,
                f"{grant.role} is not allowed for target {ctx.target.name!r}",
                did_you_mean(grant.role, ctx.target.roles)
                + f"allowed: {', '.join(ctx.target.roles)}",
            )


@rule(
    "LAPSE220",
    "The resource is allowed for the target.",
    scope="request",
    fix="Name a resource the target allows (the hint lists them), spelled as there.",
)
def allowed_resource(ctx: RequestContext) -> Iterator[Problem]:
    for grant in ctx.request.grants:
        if not resource_allowed(grant, ctx.target):
            allowed = ctx.target.resources.get(grant.kind, ())
            listed = ", ".join(allowed) or f"no {grant.kind} at all"
            yield ctx.problem(
                "LAPSE220",
                ctx.grant_part(grant, grant.kind),
                f"{grant.kind} {grant.resource!r} is not allowed for target {ctx.target.name!r}",
                did_you_mean(grant.resource, allowed) + f"allowed: {listed}",
            )


@rule(
    "LAPSE222",
    "Every bucket a target allows is marked uniform_bucket_level_access: required.",
    scope="policy",
    fix="Mark the bucket `uniform_bucket_level_access: required` in the target (and "
    "enforce it on the bucket): object ACLs would grant access no condition ends.",
)
def uniform_bucket_access(ctx: PolicyContext) -> Iterator[Problem]:
    for name, target in ctx.policy.targets.items():
        for bucket in target.bucket_projects:
            if bucket not in target.uniform_access_buckets:
                yield ctx.problem(
                    "LAPSE222",
                    ("targets", name, "resources", "bucket", bucket),
                    f"targets.{name}.resources.bucket.{bucket} does not mark uniform "
                    "bucket-level access as required",
                    "IAM conditions on a bucket work only with uniform bucket-level access; "
                    "write `project: <project>` and `uniform_bucket_level_access: required`, "
                    "enable it on the bucket (`gcloud storage buckets update gs://BUCKET "
                    "--uniform-bucket-level-access`) and let `lapse doctor` confirm it",
                    key=True,
                )


def resource_allowed(grant: Grant, target: Target) -> bool:
    """Whether the target allows the grant's resource, however the request spells it."""
    names = target.resources.get(grant.kind, ())
    return grant.canonical in _canonical_names(grant.kind, names)


@cache
def _canonical_names(kind: str, names: tuple[str, ...]) -> frozenset[str]:
    """The canonical spelling of every allowed resource of one kind, built once per policy."""
    return frozenset(Grant("", kind, name).canonical for name in names)


@rule(
    "LAPSE230",
    "No grant appears twice in one request.",
    scope="request",
    fix="Remove the repeated grant.",
)
def duplicate_grants(ctx: RequestContext) -> Iterator[Problem]:
    seen: dict[tuple[str, str, str], int] = {}
    for grant in ctx.request.grants:
        key = (grant.role, grant.kind, grant.canonical)
        if key in seen:
            yield ctx.problem(
                "LAPSE230",
                grant,
                f"{grant.role} on {grant.kind} {grant.resource!r} is already "
                f"granted at line {seen[key]}",
                "remove one of them",
            )
        seen.setdefault(key, grant.line)


@rule(
    "LAPSE231",
    "The ticket matches the target's ticket_pattern.",
    scope="request",
    fix="Use a ticket id of the form the target's ticket_pattern requires, e.g. INC-4512.",
)
def ticket_pattern(ctx: RequestContext) -> Iterator[Problem]:
    if not re.search(ctx.target.ticket_pattern, ctx.request.ticket):
        yield ctx.problem(
            "LAPSE231",
            ("ticket",),
            f"ticket {ctx.request.ticket!r} does not match {ctx.target.ticket_pattern!r}",
            "link the incident or change this access is for",
        )


@rule(
    "LAPSE232",
    "The reason is long enough to judge and short enough to read.",
    scope="request",
    fix="Explain why this access is needed now, in a sentence or two.",
)
def reason_length(ctx: RequestContext) -> Iterator[Problem]:
    size = len(ctx.request.reason.strip())
    low, high = ctx.policy.limits.reason_min_length, ctx.policy.limits.reason_max_length
    if not low <= size <= high:
        yield ctx.problem(
            "LAPSE232",
            ("reason",),
            f"reason has {size} characters; between {low} and {high} are required",
            "say what you will do and why, so an approver can judge it",
        )


describe(
    "LAPSE221",
    "The resource is of a kind that accepts conditional bindings (Pub/Sub does not).",
    fix="Ask for access at a level that accepts IAM conditions (e.g. the project).",
)
