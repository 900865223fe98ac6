"""Log entries, in Cloud Logging's shape, for whose-is-it cases the sources must read.

Each follows a real entry's fields (see tests/data/audit and the audit-real scenario): what the
service writes for the call, with this suite's people, projects and times.
"""

from __future__ import annotations

from typing import Any

PERSON = "alice@example.com"
RUNNER = "batch-runner@pci-prod-payments.iam.gserviceaccount.com"
RUNNER_ID = "104722530651733214409"
DEPLOYER = "deployer@pci-prod-payments.iam.gserviceaccount.com"
TERRAFORM = "terraform@pci-iac.iam.gserviceaccount.com"
PROJECT_NUMBER = "318305520187"
ACTIVITY = "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Factivity"
DATA_ACCESS = "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Fdata_access"
AUDIT_LOG = "type.googleapis.com/google.cloud.audit.AuditLog"
IAM_AUDIT_DATA = "type.googleapis.com/google.iam.v1.logging.AuditData"
SECRET = f"projects/{PROJECT_NUMBER}/secrets/stripe-api-key/versions/3"
LAPSE_TITLE = "lapse/inc-4512-settlement-batch/0"


def _entry(
    insert_id: str, timestamp: str, log: str, resource: dict[str, Any], payload: dict[str, Any]
) -> dict[str, Any]:
    return {
        "protoPayload": {"@type": AUDIT_LOG, "status": {}, **payload},
        "insertId": insert_id,
        "resource": resource,
        "timestamp": timestamp,
        "severity": "NOTICE",
        "logName": log,
        "receiveTimestamp": timestamp,
    }


def _project() -> dict[str, Any]:
    return {"type": "project", "labels": {"project_id": "pci-prod-payments"}}


def _set_iam_policy(auth: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    return {
        "authenticationInfo": auth,
        "requestMetadata": {"callerIp": "203.0.113.24"},
        "serviceName": "cloudresourcemanager.googleapis.com",
        "methodName": "SetIamPolicy",
        "authorizationInfo": [
            {
                "resource": "projects/pci-prod-payments",
                "permission": "resourcemanager.projects.setIamPolicy",
                "granted": True,
            }
        ],
        "resourceName": "projects/pci-prod-payments",
        "serviceData": {"@type": IAM_AUDIT_DATA, "policyDelta": {"bindingDeltas": [delta]}},
        "request": {"@type": "type.googleapis.com/google.iam.v1.SetIamPolicyRequest"},
    }


def delegated_set_iam_policy(insert_id: str = "delegated-owner") -> dict[str, Any]:
    """The person, through the deployer account, makes themselves owner."""
    auth = {
        "principalEmail": DEPLOYER,
        "serviceAccountDelegationInfo": [{"firstPartyPrincipal": {"principalEmail": PERSON}}],
    }
    delta = {"action": "ADD", "role": "roles/owner", "member": f"user:{PERSON}"}
    return _entry(
        insert_id, "2026-12-01T09:40:00Z", ACTIVITY, _project(), _set_iam_policy(auth, delta)
    )


def lapse_binding_by_terraform() -> dict[str, Any]:
    """The pipeline's account applies the request's conditional binding: it dates the window."""
    delta = {
        "action": "ADD",
        "role": "roles/cloudsql.client",
        "member": f"user:{PERSON}",
        "condition": {
            "title": LAPSE_TITLE,
            "description": "INC-4512",
            "expression": 'request.time < timestamp("2026-12-01T13:00:00Z")',
        },
    }
    payload = _set_iam_policy({"principalEmail": TERRAFORM}, delta)
    return _entry("lapse-binding", "2026-12-01T09:02:00Z", ACTIVITY, _project(), payload)


def subject_only_connect() -> dict[str, Any]:
    """A call that names its principal only as `principalSubject`."""
    payload = {
        "authenticationInfo": {"principalSubject": f"user:{PERSON}"},
        "serviceName": "cloudsql.googleapis.com",
        "methodName": "cloudsql.instances.connect",
        "resourceName": "projects/pci-prod-payments/instances/settlement-db",
        "authorizationInfo": [
            {
                "resource": "projects/pci-prod-payments/instances/settlement-db",
                "permission": "cloudsql.instances.connect",
                "granted": True,
            }
        ],
    }
    resource = {
        "type": "cloudsql_database",
        "labels": {"project_id": "pci-prod-payments", "database_id": "pci-prod-payments:db"},
    }
    return _entry("subject-only", "2026-12-01T09:50:00Z", DATA_ACCESS, resource, payload)


def secret_read(principal: str, timestamp: str, insert_id: str = "runner-secret") -> dict[str, Any]:
    """A secret read, the project named by number (the entry's labels name it)."""
    payload = {
        "authenticationInfo": {"principalEmail": principal},
        "requestMetadata": {"callerIp": "10.128.0.7"},
        "serviceName": "secretmanager.googleapis.com",
        "methodName": "google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion",
        "authorizationInfo": [
            {"resource": SECRET, "permission": "secretmanager.versions.access", "granted": True}
        ],
        "resourceName": SECRET,
        "request": {
            "@type": "type.googleapis.com/google.cloud.secretmanager.v1.AccessSecretVersionRequest",
            "name": SECRET,
        },
    }
    resource = {
        "type": "audited_resource",
        "labels": {
            "service": "secretmanager.googleapis.com",
            "method": "google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion",
            "project_id": "pci-prod-payments",
        },
    }
    return _entry(insert_id, timestamp, DATA_ACCESS, resource, payload)


def mint_token(timestamp: str = "2026-12-01T10:00:00Z") -> dict[str, Any]:
    """The person mints an access token for the runner (which IAM names by unique id)."""
    name = f"projects/-/serviceAccounts/{RUNNER_ID}"
    payload = {
        "authenticationInfo": {"principalSubject": f"user:{PERSON}"},
        "authorizationInfo": [
            {"permission": "iam.serviceAccounts.getAccessToken", "granted": True}
        ],
        "metadata": {"identityDelegationChain": [f"projects/-/serviceAccounts/{RUNNER}"]},
        "methodName": "GenerateAccessToken",
        "request": {
            "@type": "type.googleapis.com/google.iam.credentials.v1.GenerateAccessTokenRequest",
            "name": f"projects/-/serviceAccounts/{RUNNER}",
        },
        "requestMetadata": {"callerIp": "175.16.199.45"},
        "resourceName": name,
        "serviceName": "iamcredentials.googleapis.com",
    }
    resource = {
        "type": "service_account",
        "labels": {"email_id": RUNNER, "project_id": "pci-prod-payments", "unique_id": RUNNER_ID},
    }
    return _entry("minted-token", timestamp, DATA_ACCESS, resource, payload)


def export_out() -> dict[str, Any]:
    """The person exports the settlement database to a bucket outside the grant."""
    instance = "projects/pci-prod-payments/instances/settlement-db"
    payload = {
        "authenticationInfo": {"principalEmail": PERSON},
        "requestMetadata": {"callerIp": "203.0.113.24"},
        "serviceName": "cloudsql.googleapis.com",
        "methodName": "cloudsql.instances.export",
        "authorizationInfo": [
            {"resource": instance, "permission": "cloudsql.instances.export", "granted": True}
        ],
        "resourceName": instance,
        "request": {
            "@type": "type.googleapis.com/google.cloud.sql.v1.SqlInstancesExportRequest",
            "body": {
                "exportContext": {
                    "uri": "gs://home-backup/settlement.sql",
                    "kind": "sql#exportContext",
                }
            },
            "instance": "settlement-db",
            "project": "pci-prod-payments",
        },
    }
    resource = {
        "type": "cloudsql_database",
        "labels": {"project_id": "pci-prod-payments", "database_id": "pci-prod-payments:db"},
    }
    return _entry("export-out", "2026-12-01T11:00:00Z", ACTIVITY, resource, payload)
