"""Builds scenario.jsonl: real Cloud Audit Log entries (../audit_real/, written by others) lined
up with one request, their principals, times and projects rewritten.

    python tests/data/audit_scenario/build.py [PATH_TO_AUDIT_REAL]

The originals are only read. Each scenario line names its source in `insertId`
(`<case>--<original insertId>`) and the table in README.md says what was rewritten.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REAL = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "audit_real"
PERSON = "alice@example.com"
ACCOUNT = "batch-runner@pci-prod-payments.iam.gserviceaccount.com"
ACCOUNT_ID = "104722530651733214409"
PROJECT = "pci-prod-payments"
PROJECT_NUMBER = "318305520187"
DAY = "2026-12-01T"


def original(name: str, line: int) -> dict[str, Any]:
    text = (REAL / name).read_text().splitlines()[line - 1]
    data: dict[str, Any] = json.loads(text)
    return data


def retext(entry: dict[str, Any], replacements: dict[str, str]) -> dict[str, Any]:
    text = json.dumps(entry, separators=(",", ":"))
    for old, new in replacements.items():
        text = text.replace(old, new)
    data: dict[str, Any] = json.loads(text)
    return data


def placed(entry: dict[str, Any], case: str, clock: str) -> dict[str, Any]:
    entry["insertId"] = f"{case}--{entry.get('insertId') or entry.get('insertid') or 'none'}"
    entry["timestamp"] = f"{DAY}{clock}Z"
    entry.pop("receiveTimestamp", None)
    return entry


def auth(entry: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = entry["protoPayload"]["authenticationInfo"]
    return found


def cases() -> list[dict[str, Any]]:
    lines = []
    # Direct, in role, in scope: a Cloud SQL connect (no deviation).
    entry = retext(original("dynatrace-gcp-monitor.jsonl", 3), {"dynatrace-gcp-extension": PROJECT})
    auth(entry).clear()
    auth(entry)["principalEmail"] = PERSON
    lines.append(placed(entry, "direct-in-role", "09:30:00.123456789"))
    # Impersonated: a SetIamPolicy through a service account, the person first in the chain.
    entry = retext(
        original("elastic-integrations.jsonl", 2),
        {"made-up-ci-account@project-id.iam.gserviceaccount.com": ACCOUNT, "project-id": PROJECT},
    )
    auth(entry)["serviceAccountDelegationInfo"] = [
        {"firstPartyPrincipal": {"principalEmail": PERSON}}
    ]
    lines.append(placed(entry, "impersonated-set-iam-policy", "10:00:00"))
    # A token minted for the account, named by unique id (subject-only caller) ...
    entry = retext(
        original("elastic-integrations.jsonl", 1),
        {
            "made-up-ci-account@project-id.iam.gserviceaccount.com": ACCOUNT,
            "somenumber": ACCOUNT_ID,
            "project-id": PROJECT,
        },
    )
    auth(entry).clear()
    auth(entry)["principalSubject"] = f"user:{PERSON}"
    lines.append(placed(entry, "minted-token", "10:10:00"))
    # ... then the account reads an object outside the granted bucket with that token.
    entry = retext(
        original("elastic-integrations-fork.jsonl", 16),
        {"dataflow-staging-us-central1-xxx": "ledger-archive", "elastic-product": PROJECT},
    )
    auth(entry).clear()
    auth(entry)["principalEmail"] = ACCOUNT
    lines.append(placed(entry, "token-use-out-of-scope", "10:20:00"))
    # No authorizationInfo: a console VM stop, which roles/cloudsql.client does not allow.
    entry = retext(
        original("elastic-integrations-fork.jsonl", 7),
        {"projects/foo/": f"projects/{PROJECT}/", '"foo"': f'"{PROJECT}"'},
    )
    auth(entry)["principalEmail"] = PERSON
    lines.append(placed(entry, "no-authorization-info-out-of-role", "11:00:00"))
    # Numeric ids: a GetProject naming the project by number, resolved from the entry's labels.
    entry = retext(original("gcp-security-analytics.jsonl", 4), {"1234": PROJECT_NUMBER})
    entry["resource"]["labels"]["project_id"] = PROJECT
    auth(entry)["principalEmail"] = PERSON
    lines.append(placed(entry, "numeric-project-in-role", "11:10:00"))
    # A denied attempt outside the role.
    entry = retext(original("elastic-integrations-fork.jsonl", 2), {"elastic-beats": PROJECT})
    auth(entry)["principalEmail"] = PERSON
    lines.append(placed(entry, "denied", "11:20:00"))
    # String booleans: "granted": "true" and "code": "5" (a failed call that was allowed).
    entry = retext(
        original("ons-blaise-slack-alerter.jsonl", 11),
        {"ons-gcp-monitoring-prod": PROJECT, "ons-blaise-v2-prod": PROJECT},
    )
    auth(entry).clear()
    auth(entry)["principalEmail"] = PERSON
    lines.append(placed(entry, "string-booleans-out-of-role", "11:30:00"))
    # A snapshot of a disk in the granted project: a copy that outlives the window.
    entry = retext(original("panther-analysis.jsonl", 107), {"test-project": PROJECT})
    auth(entry)["principalEmail"] = PERSON
    lines.append(placed(entry, "snapshot", "11:40:00"))
    # An export out of the environment. No real entry is an export: this one is the Cloud SQL
    # connect above with its method, permission and request made those of an export.
    entry = retext(
        original("dynatrace-gcp-monitor.jsonl", 3),
        {
            "dynatrace-gcp-extension": PROJECT,
            "cloudsql.instances.connect": "cloudsql.instances.export",
        },
    )
    auth(entry).clear()
    auth(entry)["principalEmail"] = PERSON
    entry["protoPayload"]["request"]["body"] = {"exportContext": {"uri": "gs://home-backup/db.sql"}}
    entry["protoPayload"]["request"]["exportContext"] = {"uri": "gs://home-backup/db.sql"}
    lines.append(placed(entry, "export-out", "12:00:00"))
    # Inside the grace period after expiry (13:00): not a deviation.
    entry = retext(
        original("elastic-integrations-fork.jsonl", 16),
        {"dataflow-staging-us-central1-xxx": "settlement-exports", "elastic-product": PROJECT},
    )
    auth(entry).clear()
    auth(entry)["principalEmail"] = PERSON
    lines.append(placed(entry, "inside-grace", "13:05:00"))
    # After expiry and grace, in scope: the binding did not expire.
    entry = json.loads(json.dumps(entry))
    entry["insertId"] = entry["insertId"].split("--", 1)[1]
    lines.append(placed(entry, "after-expiry", "14:00:00"))
    # The real Cloud SQL connect shape: the person is the caller, and the delegation chain names
    # a Google-managed first party (the App Engine app server) in front of them.
    connect = retext(
        original("dynatrace-gcp-monitor.jsonl", 3), {"dynatrace-gcp-extension": PROJECT}
    )
    auth(connect)["principalEmail"] = PERSON
    # Outside the role: an IAM database login (roles/cloudsql.client allows connect only).
    entry = retext(connect, {"cloudsql.instances.connect": "cloudsql.instances.login"})
    lines.append(placed(entry, "first-party-out-of-role", "09:40:00"))
    # ... and a connect 40 minutes after expiry: the binding did not expire.
    entry = json.loads(json.dumps(connect))
    lines.append(placed(entry, "first-party-after-expiry", "13:40:00"))
    # No authorizationInfo, and a method that names no permission, in the granted project.
    entry = retext(original("elastic-integrations-fork.jsonl", 22), {"elastic-siem": PROJECT})
    entry["protoPayload"]["authenticationInfo"] = {"principalEmail": PERSON}
    lines.append(placed(entry, "unknown-permission", "12:10:00"))
    # Someone else's entry, for the accounting.
    lines.append(placed(original("grafana-loki.jsonl", 1), "other-principal", "10:30:00"))
    return lines


if __name__ == "__main__":
    out = HERE / "scenario.jsonl"
    out.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in cases()))
    print(f"wrote {out}")
