"""What the Google Cloud setup check judges by: effective roles, audit-log coverage, and the
commands that fix what is missing. Pure functions over policies as the APIs return them."""

from __future__ import annotations

from typing import Any

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
    found = list(target.resources.get("project", ()))
    found += list(target.bucket_projects.values())
    for secret in target.resources.get("secret", ()):
        found.append(secret.split("/")[1])
    for dataset in target.resources.get("dataset", ()):
        found.append(dataset_path(dataset).split("/")[1])
    return list(dict.fromkeys(found))


def dataset_path(dataset: str) -> str:
    if dataset.startswith("projects/"):
        return dataset
    project, _, name = dataset.partition(".")
    return f"projects/{project}/datasets/{name}"


def grant_command(kind: str, name: str, member: str, role: str) -> str:
    scope = {
        "project": f"projects add-iam-policy-binding {name}",
        "folder": f"resource-manager folders add-iam-policy-binding {name}",
        "organization": f"organizations add-iam-policy-binding {name}",
    }[kind]
    return f"gcloud {scope} --condition=None --member {member} --role {role}"


def home_project(kind: str, name: str, target: Target) -> str | None:
    """The project a bucket, secret, dataset or service account lives in, when known."""
    if kind == "bucket":
        return target.bucket_projects.get(name)
    if kind == "secret":
        return name.split("/")[1]
    if kind == "dataset":
        return dataset_path(name).split("/")[1]
    domain = name.rpartition("@")[2]
    suffix = ".iam.gserviceaccount.com"
    return domain.removesuffix(suffix) if domain.endswith(suffix) else None


def granter_command(kind: str, name: str, project: str | None, member: str, role: str) -> str:
    if kind == "bucket":
        return (
            f"gcloud storage buckets add-iam-policy-binding gs://{name} "
            f"--member {member} --role {role}"
        )
    if kind == "secret":
        secret = name.rsplit("/", 1)[-1]
        return (
            f"gcloud secrets add-iam-policy-binding {secret} --project {project} "
            f"--condition=None --member {member} --role {role}"
        )
    if kind == "service_account":
        return (
            f"gcloud iam service-accounts add-iam-policy-binding {name} --condition=None "
            f"--member {member} --role {role}"
        )
    return f"BigQuery → dataset {name} → Sharing → Permissions → Add principal {member} with {role}"
