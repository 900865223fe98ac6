"""A repository with a half-year of history: grants, archived grants, review reports, an
emergency and its report, committed on a main line, for `lapse recertify` and `lapse evidence`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.plans import git, start_history
from tests.support import archive_of, make_repo, place
from tests.unit.test_emergency import request_text

SETTLEMENT = "requests/pci-prod/inc-4512-settlement-batch.yaml"
SECRET = "requests/pci-prod/inc-4530-secret-metadata.yaml"
EMERGENCY = "requests/pci-prod/emergency/inc-7001-payments-down.yaml"
TEAMS = {
    "pci-access-approvers": ["carol-diaz", "dave-li"],
    "payments-oncall": ["frank-mueller"],
    "security": ["grace-hopkins"],
    "platform-leads": ["erin-walsh"],
}


def report(path: str, request_id: str, *, worst: str | None, findings: int = 0) -> dict[str, Any]:
    """A review report as `lapse review` writes it (schema lapse.review/1), trimmed to a grant."""
    found = [
        {
            "severity": worst or "INFO",
            "kind": "use-after-expiry",
            "message": f"an action after the window <script>alert({n})</script>",
            "evidence": [f"insert-{n}"],
        }
        for n in range(findings)
    ]
    return {
        "schema": "lapse.review/1",
        "request": {
            "id": request_id,
            "target": "pci-prod",
            "path": path,
            "requester": "alice@example.com",
            "reason": "Investigate failed settlement batch for merchant 4411",
            "ticket": "INC-4512",
            "starts": "2026-12-01T09:00:00Z",
            "expires": "2026-12-01T13:00:00Z",
            "grants": [],
        },
        "archived": True,
        "approval": {
            "pull request": "#41",
            "approved by": ["carol-diaz"],
            "review ids": [80001],
            "approved on commits": ["5c1e9b0f7a3d"],
        },
        "window": {
            "start": "2026-12-01T09:00:00Z",
            "end": "2026-12-01T13:00:00Z",
            "grace_seconds": 0,
            "start_from": "request",
        },
        "complete": True,
        "gaps": [],
        "events": {"in_window": 3, "after": 0},
        "findings": found,
        "worst": worst,
        "pci_dss": [],
        "actions": [
            {
                "service": "cloudsql.googleapis.com",
                "method": "cloudsql.instances.connect",
                "resource": "projects/pci-prod-payments/instances/settlement",
                "count": 2,
                "denied": 0,
                "first": "2026-12-01T09:12:00Z",
                "last": "2026-12-01T11:40:00Z",
            },
            {
                "service": "storage.googleapis.com",
                "method": "storage.objects.get",
                "resource": "projects/_/buckets/settlement-exports/objects/<b>x</b>",
                "count": 1,
                "denied": 1,
                "first": "2026-12-01T12:30:00Z",
                "last": "2026-12-01T12:30:00Z",
            },
        ],
        "actions_after": [],
    }


def build(tmp: Path) -> Path:
    """Main: the sample requests; then settlement and the emergency archived with their reports
    merged; the secret grant still in requests/ with no report yet."""
    root = make_repo(tmp / "repo", with_requests=True)
    place(root, EMERGENCY, request_text(role="roles/logging.viewer"))
    start_history(root)
    for path in (SETTLEMENT, EMERGENCY):
        archived = archive_of(path, "2026-12" if path == SETTLEMENT else "2026-11")
        (root / archived).parent.mkdir(parents=True, exist_ok=True)
        (root / path).rename(root / archived)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Archive expired requests")
    settle = report(SETTLEMENT, "inc-4512-settlement-batch", worst="HIGH", findings=1)
    place(root, "reports/pci-prod/2026-12/inc-4512-settlement-batch.json", json.dumps(settle))
    place(root, "reports/pci-prod/2026-12/inc-4512-settlement-batch.md", "# Review\n")
    urgent = report(EMERGENCY, "inc-7001-payments-down", worst=None)
    urgent["request"] |= {"id": "inc-7001-payments-down", "ticket": "INC-7001"}
    place(root, "reports/pci-prod/2026-11/inc-7001-payments-down.json", json.dumps(urgent))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Review reports, signed off")
    return root
