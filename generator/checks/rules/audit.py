"""LAPSE26x: audit logging is on wherever access is granted, before it is (PCI DSS 10.2.1)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.rules import RequestContext, describe, rule
from generator.checks.rules.resources import resource_allowed
from generator.core import resource_kinds
from generator.core.model import Grant, Policy, Problem, Target
from generator.terraform.audit_coverage import REQUIRED_LOG_TYPES, AuditConfig, AuditCoverage

describe(
    "LAPSE262",
    "terraform/*.tf parses, and audit configs use literal values lapse can read.",
    scope="policy",
    fix="Write audit configs in terraform/ with literal project, service and log types.",
)
describe(
    "LAPSE263",
    "Every audit config in a target's scope turns on ADMIN_READ, DATA_READ and DATA_WRITE.",
    scope="policy",
    fix="Add an audit_log_config block for each of ADMIN_READ, DATA_READ and DATA_WRITE "
    "to the audit config the message names.",
)
describe(
    "LAPSE264",
    "The grants module depends_on every audit config, so logging is on before access.",
    scope="policy",
    fix="List every audit config in the grants module's depends_on, so logging is on "
    "before any access begins.",
)
_TYPES = ", ".join(sorted(REQUIRED_LOG_TYPES))


def scope_of(grant: Grant, bucket_projects: dict[str, str]) -> tuple[str, str] | None:
    """The project, folder or organization whose audit configuration covers the grant."""
    project = resource_kinds.home_project(grant.kind, grant.resource, bucket_projects)
    if project:
        return "project", project
    if resource_kinds.get(grant.kind).reaches_down:  # a folder or the organization: its own
        return grant.kind, grant.resource
    return None


def _allowed(ctx: RequestContext) -> Iterator[Grant]:
    """The grants on resources the target allows: another is LAPSE220's alone to report (a
    mistyped project is not also a project without audit logs)."""
    return (grant for grant in ctx.request.grants if resource_allowed(grant, ctx.target))


@rule(
    "LAPSE260",
    "Audit logs (ADMIN_READ, DATA_READ, DATA_WRITE) cover the target's audit_services "
    "where access is granted.",
    scope="request",
    fix="Turn on Data Access audit logs for the service on that project in "
    "terraform/audit_logging.tf first, so the review can see what was done.",
)
def logging_on(ctx: RequestContext) -> Iterator[Problem]:
    if ctx.audit is None:
        return
    for grant in _allowed(ctx):
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
                f"audit logs ({_TYPES}) are not all on at "
                f"{scope[0]} {scope[1]} for {', '.join(missing)}",
                "add a google_" + scope[0] + "_iam_audit_config to "
                "terraform/audit_logging.tf first",
            )


@rule(
    "LAPSE261",
    "The requester is not exempted from audit logging where access is granted.",
    scope="request",
    fix="Remove the requester's exemption from audit logging before granting access.",
)
def not_exempted(ctx: RequestContext) -> Iterator[Problem]:
    if ctx.audit is None:
        return
    for grant in _allowed(ctx):
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


# ---------------------------------------------------------------------------
# The audit configs themselves, located in terraform/*.tf.


def reachable_scopes(target: Target) -> set[tuple[str, str]]:
    """Every project, folder and organization a grant of `target` can touch."""
    found = set()
    for kind, names in target.resources.items():
        for name in names:
            scope = scope_of(Grant("", kind, name), target.bucket_projects)
            if scope is not None:
                found.add(scope)
    return found


def in_scope(config: AuditConfig, policy: Policy) -> bool:
    """Whether some target grants access where `config` decides what is logged."""
    return any(
        config.scope in reachable_scopes(target)
        and (config.service == "allServices" or config.service in target.audit_services)
        for target in policy.targets.values()
    )


def audit_config_problems(audit: AuditCoverage, policy: Policy, folder: str) -> list[Problem]:
    """LAPSE263 and LAPSE264, each at the audit config's own line under `folder`."""
    problems = [
        Problem(
            f"{folder}/{config.file}",
            config.line,
            1,
            "LAPSE263",
            "error",
            f"{config.address} logs {', '.join(sorted(config.log_types)) or 'nothing'} "
            f"for {config.service} at {config.scope[0]} {config.scope[1]}, where access is "
            f"granted; {', '.join(sorted(REQUIRED_LOG_TYPES - config.log_types))} missing",
            f"add an audit_log_config block for each of {_TYPES}: metadata and IAM reads "
            "are ADMIN_READ, data reads DATA_READ, and both are off by default",
        )
        for config in audit.configs
        if not config.log_types >= REQUIRED_LOG_TYPES and in_scope(config, policy)
    ]
    return problems + _ordering_problems(audit, folder)


def _ordering_problems(audit: AuditCoverage, folder: str) -> list[Problem]:
    listed = set(audit.grants_depends_on or ())
    return [
        Problem(
            f"{folder}/{config.file}",
            config.line,
            1,
            "LAPSE264",
            "error",
            f"module.grants does not depend on {config.address}: one apply may create a "
            "grant before its audit logging is on",
            f'list {config.address} under depends_on in module "grants" (terraform/grants.tf)',
        )
        for config in audit.configs
        if config.address not in listed
    ]
