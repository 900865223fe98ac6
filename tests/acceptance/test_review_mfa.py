"""`lapse review` records, per grant, how the grantee's sessions began (PCI DSS 8.4.2).

The logins come from the Reports API (`activities.list`, applicationName `login`) answered over
HTTP in Google's shape, or from Login Audit entries shared to Cloud Logging in the audit export
(the real shape, tests/data/audit_real). A login entry is never use of a grant.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from generator import cli
from generator.commands import adapters
from tests.acceptance.test_review_cli import entry, export
from tests.support import make_repo

UNTIL = ["--until", "2026-12-10T00:00:00Z", "--since", "30d"]
REPORT = "reports/pci-prod/2026-12/inc-4512-settlement-batch"
REPORTS_API = re.compile(
    r"https://admin\.googleapis\.com/admin/reports/v1/activity/users/alice@example\.com"
    r"/applications/login\?.*"
)


def activity(at: str, methods: list[str], *, second: bool | None = None) -> dict[str, Any]:
    """A `login_success` activity as the Reports API lists it."""
    parameters: list[dict[str, Any]] = [
        {"name": "login_type", "value": "google_password"},
        {"name": "login_challenge_method", "multiValue": methods},
        {"name": "is_suspicious", "boolValue": False},
    ]
    if second is not None:
        parameters.append({"name": "is_second_factor", "boolValue": second})
    return {
        "kind": "admin#reports#activity",
        "id": {
            "time": at,
            "uniqueQualifier": f"q-{at[11:19].replace(':', '')}",
            "applicationName": "login",
            "customerId": "C03az79cb",
        },
        "etag": '"JDMC8884sebSczDxOtZ17CIssbQ/Pau_EbIGF8FWZWC7W8Ti1uoCfjc"',
        "actor": {"email": "alice@example.com", "profileId": "104465715494659475645"},
        "ipAddress": "203.0.113.7",
        "events": [{"type": "login", "name": "login_success", "parameters": parameters}],
    }


def shared_login(insert_id: str, at: str, methods: list[str]) -> dict[str, Any]:
    """A `login_success` Login Audit entry shared to Cloud Logging (the real entries' shape)."""
    return {
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": {"principalEmail": "alice@example.com"},
            "requestMetadata": {"callerIp": "203.0.113.7"},
            "serviceName": "login.googleapis.com",
            "methodName": "google.login.LoginService.loginSuccess",
            "resourceName": "organizations/618305524870",
            "metadata": {
                "event": [
                    {
                        "eventType": "login",
                        "eventName": "login_success",
                        "parameter": [
                            {
                                "type": "TYPE_STRING",
                                "value": "google_password",
                                "name": "login_type",
                                "label": "LABEL_OPTIONAL",
                            },
                            {
                                "type": "TYPE_STRING",
                                "multiStrValue": methods,
                                "name": "login_challenge_method",
                                "label": "LABEL_REPEATED",
                            },
                        ],
                    }
                ],
                "@type": "type.googleapis.com/ccc_hosted_reporting.ActivityProto",
            },
        },
        "insertId": insert_id,
        "resource": {"type": "audited_resource", "labels": {"service": "login.googleapis.com"}},
        "timestamp": at,
        "severity": "NOTICE",
        "logName": "organizations/618305524870/logs/cloudaudit.googleapis.com%2Fdata_access",
    }


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    made = make_repo(tmp_path / "repo", with_requests=True)
    monkeypatch.setattr(adapters, "admin_session", requests.Session)
    return made


def with_mfa(root: Path, text: str) -> None:
    policy = root / "policy" / "policy.yaml"
    policy.write_text(policy.read_text() + f"\nmfa:\n{text}")


def review(root: Path, log: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["review", "--root", str(root), "--source", f"file:{log}", *UNTIL])
    return code, capsys.readouterr().out


def reported(root: Path) -> tuple[dict[str, Any], str]:
    data = json.loads((root / f"{REPORT}.json").read_text())
    return data, (root / f"{REPORT}.md").read_text()


def answer_logins(http: responses.RequestsMock, *activities: dict[str, Any]) -> None:
    body = {"kind": "admin#reports#activities", "etag": '"e"', "items": list(activities)}
    http.add(responses.GET, REPORTS_API, json=body)


def test_activity_after_a_second_factor_login_shows_the_evidence_and_no_finding(
    root: Path, tmp_path: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    with_mfa(root, "  session_length: 12h\n  customer: C03az79cb\n")
    answer_logins(http, activity("2026-12-01T08:55:12.000Z", ["password", "security_key"]))
    log = export(tmp_path / "audit.jsonl", [entry("in-window", "2026-12-01T10:00:00Z")])

    code, out = review(root, log, capsys)

    assert code == 0, out
    data, markdown = reported(root)
    assert data["complete"] is True
    assert [f["kind"] for f in data["findings"]] == []
    assert data["mfa"]["actions"] == 1 and data["mfa"]["unbacked"] == 0
    assert data["mfa"]["methods"] == ["password", "security_key"]
    assert data["mfa"]["logins"][0]["second_factor"] is True
    assert data["mfa"]["since"] == "2026-11-30T22:00:00Z"
    assert "## Multi-factor authentication" in markdown
    assert "1 of 1 actions follow a login with a second factor" in markdown
    asked = http.calls[0].request.url
    assert "eventName=login_success" in asked and "customerId=C03az79cb" in asked
    assert "startTime=2026-11-30T22%3A00%3A00.000Z" in asked


def test_activity_after_a_password_only_login_is_high(
    root: Path, tmp_path: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    with_mfa(root, "  session_length: 12h\n")
    answer_logins(
        http,
        activity("2026-12-01T08:00:00.000Z", ["password", "google_prompt"]),
        # A later password-only sign-in opened the session the action came through.
        activity("2026-12-01T09:40:00.000Z", ["password"], second=False),
    )
    log = export(tmp_path / "audit.jsonl", [entry("in-window", "2026-12-01T10:00:00Z")])

    code, out = review(root, log, capsys)

    assert code == 1
    assert "inc-4512-settlement-batch: HIGH, complete" in out
    data, markdown = reported(root)
    [finding] = [f for f in data["findings"] if f["kind"] == "no-second-factor"]
    assert finding["severity"] == "HIGH"
    assert finding["evidence"] == ["q-094000"]
    assert "1 of 1 actions" in finding["message"] and "with password only" in finding["message"]
    assert data["mfa"]["unbacked"] == 1
    assert "no-second-factor" in markdown


def test_a_login_older_than_the_session_length_backs_nothing(
    root: Path, tmp_path: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    with_mfa(root, "  session_length: 30m\n")
    answer_logins(http, activity("2026-12-01T09:00:00.000Z", ["security_key"]))
    log = export(tmp_path / "audit.jsonl", [entry("in-window", "2026-12-01T10:00:00Z")])

    code, _ = review(root, log, capsys)

    assert code == 1
    data, _ = reported(root)
    [finding] = [f for f in data["findings"] if f["kind"] == "no-second-factor"]
    assert "no login within 30m before it" in finding["message"]


def test_an_unreadable_login_audit_makes_the_report_incomplete_with_the_reason(
    root: Path, tmp_path: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    with_mfa(root, "  session_length: 12h\n")
    error = {"error": {"code": 403, "message": "Not Authorized to access this resource/api",
                       "status": "PERMISSION_DENIED"}}  # fmt: skip
    http.add(responses.GET, REPORTS_API, json=error, status=403)
    log = export(tmp_path / "audit.jsonl", [entry("in-window", "2026-12-01T10:00:00Z")])

    code, out = review(root, log, capsys)

    assert code == 1
    assert "inc-4512-settlement-batch: INFO, INCOMPLETE" in out or "INCOMPLETE" in out
    data, markdown = reported(root)
    assert data["complete"] is False
    [gap] = [g for g in data["gaps"] if "Login Audit" in g]
    assert "could not be read" in gap and "403" in gap
    assert "mfa" not in data
    assert "**INCOMPLETE**" in markdown


def test_login_entries_shared_to_cloud_logging_are_evidence_never_use_of_the_grant(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_mfa(root, "  login_audit: audit_logs\n  session_length: 12h\n")
    log = export(
        tmp_path / "audit.jsonl",
        [
            shared_login("login-1", "2026-12-01T09:10:00Z", ["password"]),
            entry("in-window", "2026-12-01T10:00:00Z"),
        ],
    )

    code, _ = review(root, log, capsys)

    assert code == 1
    data, _ = reported(root)
    assert data["events"]["in_window"] == 1, "the login is not an action of the grant"
    kinds = sorted(f["kind"] for f in data["findings"])
    assert kinds == ["no-second-factor"], kinds
    assert data["mfa"]["logins"][0]["evidence"] == "login-1"
    assert data["mfa"]["read_from"] == "Login Audit entries in the audit logs"


def test_a_shared_second_factor_login_backs_the_window(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_mfa(root, "  login_audit: audit_logs\n")
    log = export(
        tmp_path / "audit.jsonl",
        [
            shared_login("login-1", "2026-12-01T09:10:00Z", ["password", "security_key"]),
            entry("in-window", "2026-12-01T10:00:00Z"),
        ],
    )

    code, out = review(root, log, capsys)

    assert code == 0, out
    data, _ = reported(root)
    assert data["findings"] == [] and data["mfa"]["unbacked"] == 0


def test_without_an_mfa_section_the_report_says_none_was_recorded(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = export(tmp_path / "audit.jsonl", [entry("in-window", "2026-12-01T10:00:00Z")])

    code, _ = review(root, log, capsys)

    assert code == 0
    data, markdown = reported(root)
    assert "mfa" not in data
    assert "Not recorded: the policy has no `mfa` section." in markdown
