"""What the Google Cloud setup check judges by: effective roles, audit-log coverage, and the
commands that fix what is missing. Pure functions over policies as the APIs return them."""

from __future__ import annotations

from typing import Any

from generator.core import resource_kinds
from generator.core.checklist import CheckItem, missing, ok, wrong
from generator.core.model import Target

LOG_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")


def members_by_role(policy: dict[str, Any]) -> dict[str, set[str]]:
    """Unconditional members by role: a conditional binding is not a standing role."""
    found: dict[str, set[str]] = {}
    for binding in policy.get("bindings") or []:
        if not binding.get("condition"):
            found.setdefault(str(binding.get("role")), set()).update(binding.get("members") or [])
    return found


def coverage(
    kind: str, name: str, service: str, configs: list[dict[str, Any]], people: set[str]
) -> CheckItem:
    subject = f"{service} on {kind} {name}"
    types: set[str] = set()
    exempted: set[str] = set()
    for config in configs:
        if config.get("service") not in (service, "allServices"):
            continue
        for log in config.get("auditLogConfigs") or []:
            types.add(str(log.get("logType")))
            exempted.update(set(log.get("exemptedMembers") or []) & people)
    absent = [log for log in LOG_TYPES if log not in types]
    if absent:
        return missing(
            "audit logs",
            subject,
            f"{', '.join(absent)} not enabled here or on a folder or organization above",
            f"terraform/audit_logging.tf: a google_{kind}_iam_audit_config for {service} with "
            "ADMIN_READ, DATA_READ and DATA_WRITE, merged and applied",
        )
    if exempted:
        return wrong(
            "audit logs",
            subject,
            f"exempts {', '.join(sorted(exempted))}: their use of a grant is not logged",
            "remove the exemptedMembers from that audit config",
        )
    return ok("audit logs", subject, ", ".join(LOG_TYPES))


def projects_of(target: Target) -> list[str]:
    """The projects a target's grants live in: named projects, and the homes of its resources."""
    found = [
        resource_kinds.home_project(kind.key, name, target.bucket_projects)
        for kind in resource_kinds.kinds()
        if kind.setup.home_checked
        for name in target.resources.get(kind.key, ())
    ]
    return list(dict.fromkeys(project for project in found if project))


def grant_command(kind: str, name: str, member: str, role: str) -> str:
    scope = resource_kinds.get(kind).setup.binding_command
    return f"gcloud {scope} {name} --condition=None --member {member} --role {role}"
