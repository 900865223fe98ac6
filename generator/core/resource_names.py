"""How Google Cloud spells the resources lapse grants: the pieces `resource_kinds` is built from.

Pure functions of names, one small group per kind: the one spelling a policy is read under
(`""` when the text is not a name lapse can read), the REST call that reads its allow policy as
version 3, the Terraform arguments that name it and their reading back, the name audit logs
give it, the project it lives in, and the command that lets the apply identity set its policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from generator.core.checklist import CheckItem, missing, ok, wrong

POLICY_VERSION = 3

CRM = "https://cloudresourcemanager.googleapis.com"
STORAGE = "https://storage.googleapis.com/storage/v1"
SM = "https://secretmanager.googleapis.com/v1"  # Secret Manager
BIGQUERY = "https://bigquery.googleapis.com/bigquery/v2"
IAM = "https://iam.googleapis.com/v1"

# Resource Manager: the options travel in a POST body (GetIamPolicyRequest).
OPTIONS_BODY: dict[str, Any] = {"options": {"requestedPolicyVersion": POLICY_VERSION}}
# Secret Manager, IAM service accounts: the same options as a query parameter, empty body.
OPTIONS_QUERY = {"options.requestedPolicyVersion": str(POLICY_VERSION)}
# Cloud Storage's JSON API spells the parameter its own way, and BigQuery's datasets.get its own.
_STORAGE_QUERY = {"optionsRequestedPolicyVersion": str(POLICY_VERSION)}
_DATASET_QUERY = {"accessPolicyVersion": str(POLICY_VERSION)}
_ACCOUNT_DOMAIN = ".iam.gserviceaccount.com"

Arguments = tuple[tuple[str, str], ...]
Read = Callable[[str], str]  # a Terraform argument's value by name


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    """The one HTTP call that reads a resource's allow policy."""

    method: str
    url: str
    params: dict[str, str] | None = None
    body: dict[str, Any] | None = None


def segments(path: str) -> str:
    """Each path segment quoted, keeping the separators the API's URL template expects."""
    return "/".join(quote(part, safe="@") for part in path.split("/"))


def same(text: str) -> str:
    return text


def nowhere(_: str) -> str | None:
    return None


# --- project ---------------------------------------------------------------------------------


def project_policy_name(text: str) -> str:
    name = text.removeprefix("projects/")
    return name if name and "/" not in name else ""


def project_policy_request(name: str) -> PolicyRequest:
    # v1 takes the project ID itself in the path (v3 would want projects/{number-or-id}).
    return PolicyRequest(
        "POST", f"{CRM}/v1/projects/{segments(name)}:getIamPolicy", body=OPTIONS_BODY
    )


# --- folder ----------------------------------------------------------------------------------


def folder_policy_name(text: str) -> str:
    number = text.removeprefix("folders/")
    return f"folders/{number}" if number.isdigit() else ""


def folder_policy_request(name: str) -> PolicyRequest:
    return PolicyRequest("POST", f"{CRM}/v3/{segments(name)}:getIamPolicy", body=OPTIONS_BODY)


def folder_audit_name(resource: str) -> str:
    return resource if resource.startswith("folders/") else f"folders/{resource}"


# --- organization ----------------------------------------------------------------------------


def organization_policy_name(text: str) -> str:
    number = text.removeprefix("organizations/")
    return number if number.isdigit() else ""


def organization_policy_request(name: str) -> PolicyRequest:
    return PolicyRequest(
        "POST", f"{CRM}/v3/organizations/{segments(name)}:getIamPolicy", body=OPTIONS_BODY
    )


def organization_audit_name(resource: str) -> str:
    return resource if resource.startswith("organizations/") else f"organizations/{resource}"


# --- bucket ----------------------------------------------------------------------------------


def bucket_policy_name(text: str) -> str:
    name = text.removeprefix("gs://").rstrip("/")
    return name if name and "/" not in name else ""


def bucket_policy_request(name: str) -> PolicyRequest:
    return PolicyRequest("GET", f"{STORAGE}/b/{quote(name, safe='')}/iam", params=_STORAGE_QUERY)


def bucket_granter(name: str, _project: str | None, member: str, role: str) -> str:
    return (
        f"gcloud storage buckets add-iam-policy-binding gs://{name} --member {member} --role {role}"
    )


def bucket_judged(bucket: str, found: Mapping[str, Any] | None) -> CheckItem:
    """IAM conditions on a bucket work only with uniform bucket-level access."""
    subject = f"bucket {bucket}"
    if found is None:
        return missing("resources", subject, "does not exist", "fix policy/policy.yaml")
    uniform = (found.get("iamConfiguration") or {}).get("uniformBucketLevelAccess") or {}
    if uniform.get("enabled"):
        return ok("resources", subject, "uniform bucket-level access on")
    return wrong(
        "resources",
        subject,
        "uniform bucket-level access is off: IAM conditions on the bucket do not work",
        f"gcloud storage buckets update gs://{bucket} --uniform-bucket-level-access",
    )


# Under a target's `resources`: each bucket with the project that holds it.
BUCKETS_SCHEMA: dict[str, Any] = {
    "title": "Cloud Storage buckets",
    "description": "Bucket name -> the project that holds it (its audit logging is checked) and "
    "`uniform_bucket_level_access: required`. IAM conditions on a bucket work only "
    "with uniform bucket-level access; with fine-grained ACLs an object ACL can "
    "grant what the expiring binding was meant to bound. A bucket given only as a "
    "project name is refused (LAPSE222).",
    "type": "object",
    "propertyNames": {"pattern": "^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$"},
    "additionalProperties": {
        "title": "Bucket",
        "description": "{project, uniform_bucket_level_access: required}; a "
        "bare project name is read but refused by LAPSE222.",
        "type": ["object", "string"],
        "pattern": "^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
        "additionalProperties": False,
        "required": ["project"],
        "properties": {
            "project": {
                "title": "Project",
                "description": "The project that holds the bucket.",
                "type": "string",
                "pattern": "^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
            },
            "uniform_bucket_level_access": {
                "title": "Uniform bucket-level access",
                "description": "Must be `required`: the bucket must have uniform bucket-level "
                "access enabled (ideally locked), which `lapse doctor` verifies live.",
                "const": "required",
            },
        },
    },
}


# --- secret ----------------------------------------------------------------------------------


def secret_arguments(resource: str) -> Arguments:
    _, project, _, secret = resource.split("/", 3)
    return (("project", project), ("secret_id", secret))


def secret_read_back(read: Read) -> str:
    return f"projects/{read('project')}/secrets/{read('secret_id')}"


def secret_home(resource: str) -> str | None:
    return resource.split("/")[1] if resource.startswith("projects/") else None


def secret_policy_name(text: str) -> str:
    parts = text.split("/")
    ok = len(parts) == 4 and parts[0] == "projects" and parts[2] == "secrets"
    return text if ok and all(parts) else ""


def secret_policy_request(name: str) -> PolicyRequest:
    return PolicyRequest("GET", f"{SM}/{segments(name)}:getIamPolicy", params=OPTIONS_QUERY)


def secret_granter(name: str, project: str | None, member: str, role: str) -> str:
    secret = name.rsplit("/", 1)[-1]
    return (
        f"gcloud secrets add-iam-policy-binding {secret} --project {project} "
        f"--condition=None --member {member} --role {role}"
    )


# --- dataset: PROJECT.DATASET or projects/PROJECT/datasets/DATASET -----------------------------


def dataset_canonical(resource: str) -> str:
    """Datasets in one spelling, PROJECT.DATASET."""
    if resource.startswith("projects/"):
        _, project, _, dataset = resource.split("/", 3)
        return f"{project}.{dataset}"
    return resource


def dataset_path(resource: str) -> str:
    """Datasets as the REST API and audit logs name them, projects/PROJECT/datasets/DATASET."""
    if resource.startswith("projects/"):
        return resource
    project, _, dataset = resource.partition(".")
    return f"projects/{project}/datasets/{dataset}"


def dataset_arguments(resource: str) -> Arguments:
    project, dataset = dataset_canonical(resource).split(".", 1)
    return (("project", project), ("dataset_id", dataset))


def dataset_read_back(read: Read) -> str:
    return f"{read('project')}.{read('dataset_id')}"


def dataset_home(resource: str) -> str | None:
    if resource.startswith("projects/"):
        return resource.split("/")[1]
    return resource.split(".", 1)[0]


def dataset_policy_name(text: str) -> str:
    parts = text.split("/")
    if len(parts) == 4 and parts[0] == "projects" and parts[2] == "datasets" and all(parts):
        return text
    project, dot, dataset = text.partition(".")
    if dot and project and dataset and "/" not in text and "." not in dataset:
        return f"projects/{project}/datasets/{dataset}"
    return ""


def dataset_policy_request(name: str) -> PolicyRequest:
    # datasets.get: the access list, conditions included, is part of the dataset resource.
    return PolicyRequest("GET", f"{BIGQUERY}/{segments(name)}", params=_DATASET_QUERY)


def dataset_granter(name: str, _project: str | None, member: str, role: str) -> str:
    return f"BigQuery → dataset {name} → Sharing → Permissions → Add principal {member} with {role}"


# --- service account: its email ----------------------------------------------------------------


def account_home(resource: str) -> str | None:
    domain = resource.rpartition("@")[2]
    return domain.removesuffix(_ACCOUNT_DOMAIN) if domain.endswith(_ACCOUNT_DOMAIN) else None


def account_arguments(resource: str) -> Arguments:
    project = account_home(resource) or "-"
    return (("service_account_id", f"projects/{project}/serviceAccounts/{resource}"),)


def account_read_back(read: Read) -> str:
    return read("service_account_id").rpartition("/")[2]


def account_policy_name(text: str) -> str:
    email = text.rpartition("/serviceAccounts/")[2] if text.startswith("projects/") else text
    return email if "@" in email and "/" not in email else ""


def account_policy_request(name: str) -> PolicyRequest:
    # `-` lets the API infer the project from the account's email.
    return PolicyRequest(
        "POST",
        f"{IAM}/projects/-/serviceAccounts/{segments(name)}:getIamPolicy",
        params=OPTIONS_QUERY,
    )


def account_url(email: str) -> str:
    return f"{IAM}/projects/-/serviceAccounts/{quote(email, safe='@')}"


def account_granter(name: str, _project: str | None, member: str, role: str) -> str:
    return (
        f"gcloud iam service-accounts add-iam-policy-binding {name} --condition=None "
        f"--member {member} --role {role}"
    )
