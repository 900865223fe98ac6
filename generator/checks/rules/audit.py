"""LAPSE26x: Data Access audit logging is on wherever access is granted (PCI DSS 10.2.1)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.rules import RequestContext, describe, rule
from generator.core.model import Grant, Problem

describe(
    "LAPSE262",
    "terraform/*.tf parses, and audit configs use literal values lapse can read.",
    scope="policy",
)


def scope_of(grant: Grant, bucket_projects: dict[str, str]) -> tuple[str, str] | None:
    """The project, folder or organization whose audit configuration covers the grant."""
    if grant.kind in ("folder", "organization"):
        return grant.kind, grant.resource
    project = bucket_projects.get(grant.resource) if grant.kind == "bucket" else grant.project
    return ("project", project) if project else None


@rule(
    "LAPSE260",
    "Data Access logs cover the target's audit_services where access is granted.",
    scope="request",
)
def logging_on(ctx: RequestContext) -> Iterator[Problem]:
    if ctx.audit is None:
        return
    for grant in ctx.request.grants:
        scope = scope_of(grant, ctx.target.bucket_projects)
        if scope is None:
            yield ctx.problem(
                "LAPSE260",
                grant,
                f"cannot tell which project holds {grant.kind} {grant.resource!r}",
                "name the bucket's project under the target's resources.bucket",
            )
            continue
        missing = ctx.audit.gaps(scope, ctx.target.audit_services)
        if missing:
            yield ctx.problem(
                "LAPSE260",
                grant,
                f"Data Access logs (DATA_READ, DATA_WRITE) are off at "
                f"{scope[0]} {scope[1]} for {', '.join(missing)}",
                "add a google_" + scope[0] + "_iam_audit_config to "
                "terraform/audit_logging.tf first",
            )


@rule(
    "LAPSE261",
    "The requester is not exempted from audit logging where access is granted.",
    scope="request",
)
def not_exempted(ctx: RequestContext) -> Iterator[Problem]:
    if ctx.audit is None:
        return
    for grant in ctx.request.grants:
        scope = scope_of(grant, ctx.target.bucket_projects)
        if scope is None:
            continue
        exempt = ctx.audit.exemptions(scope, ctx.target.audit_services, ctx.request.member)
        if exempt:
            yield ctx.problem(
                "LAPSE261",
                grant,
                f"{ctx.request.member} is exempted from audit logging for "
                f"{', '.join(exempt)} at {scope[0]} {scope[1]}",
                "remove the exemption in terraform/audit_logging.tf",
            )
