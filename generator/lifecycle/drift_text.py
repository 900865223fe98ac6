"""What a drift run says: the terminal listing, JSON, the exit code and incident issues.

In: a `DriftReport`. Out: text, JSON and issue bodies; pure functions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from generator.core.formats import Formats
from generator.lifecycle.drift import (
    INCIDENT_SEVERITIES,
    SEVERITY_RANK,
    DriftFinding,
    DriftReport,
)


def report_exit_code(report: DriftReport) -> int:
    """1 when anything above INFO was found, else 0."""
    return 1 if any(f.severity != "INFO" for f in report.findings) else 0


def incidents(report: DriftReport) -> list[DriftFinding]:
    """The findings that each open one incident issue: CRITICAL and HIGH."""
    return [f for f in report.findings if f.severity in INCIDENT_SEVERITIES]


def _counts(report: DriftReport) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITY_RANK, 0)
    for finding in report.findings:
        counts[finding.severity] += 1
    return counts


def to_text(report: DriftReport) -> str:
    lines = [_text_line(f) for f in report.findings]
    counts = _counts(report)
    summary = ", ".join(f"{n} {severity.lower()}" for severity, n in counts.items())
    checked = _policies(len(report.resources_checked))
    if not report.findings:
        return f"No drift: {checked} checked.\n"
    return "\n".join([*lines, f"{checked} checked: {summary}."]) + "\n"


def _policies(count: int) -> str:
    return f"{count} IAM {'policy' if count == 1 else 'policies'}"


def _text_line(finding: DriftFinding) -> str:
    grant = " ".join(part for part in (finding.role, finding.member, finding.title) if part)
    where = f"{finding.kind} {finding.resource}"
    head = f"{finding.severity} {finding.rule}: {where}" + (f" {grant}" if grant else "")
    return f"{head}\n    {finding.message}"


def to_json(report: DriftReport) -> str:
    document = {
        "findings": [asdict(f) | {"incident_key": incident_key(f)} for f in report.findings],
        "resources_checked": [{"kind": k, "resource": r} for k, r in report.resources_checked],
        "summary": _counts(report),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


FORMATS: Formats[DriftReport] = Formats({"text": to_text, "json": to_json})


# ---------------------------------------------------------------------------
# Incidents: one GitHub issue per CRITICAL or HIGH finding, found again by its key.


def incident_key(finding: DriftFinding) -> str:
    """Stable per (resource, role, member, title), whatever the rule or wording.

    The same grant seen as stripped today and overridden tomorrow is still one incident.
    """
    identity = "\x1f".join(
        (finding.kind, finding.resource, finding.role, finding.member, finding.title)
    )
    return "lapse-drift-" + hashlib.sha256(identity.encode()).hexdigest()[:16]


def incident_title(finding: DriftFinding) -> str:
    if finding.kind == "file":
        return f"IAM drift ({finding.rule}): {finding.resource}"
    what = f"{finding.member} {finding.role} on" if finding.member else "policy of"
    return f"IAM drift ({finding.rule}): {what} {finding.kind} {finding.resource}"


def incident_body(finding: DriftFinding) -> str:
    """Markdown for the incident issue: what, why it matters, what to do."""
    sections = (
        _marker(finding),
        _what(finding),
        _requirements(),
        _remediation(finding),
    )
    return "\n\n".join(sections) + "\n"


def _marker(finding: DriftFinding) -> str:
    # Hidden in the rendered issue; lets a re-run find the issue it already opened.
    return f"<!-- {incident_key(finding)} -->"


def _what(finding: DriftFinding) -> str:
    rows = [
        ("Severity", finding.severity),
        ("Check", finding.rule),
        ("Resource", f"{finding.kind} `{finding.resource}`"),
        ("Role", f"`{finding.role}`" if finding.role else "(whole policy)"),
        ("Member", f"`{finding.member}`" if finding.member else "(whole policy)"),
        ("Condition title", f"`{finding.title}`" if finding.title else "-"),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    sentence = finding.message[:1].upper() + finding.message[1:]
    return f"## What lapse found\n\n{sentence}.\n\n| | |\n|---|---|\n{table}"


def _requirements() -> str:
    return (
        "## Why it matters (PCI DSS v4.0.1)\n\n"
        "- **8.2.6 / 8.2.7** - access that is no longer needed must not stay usable; access "
        "granted for a task is enabled only for the time that task needs. A grant without "
        "its expiry condition stays usable indefinitely.\n"
        "- **7.2.5** - privileges are assigned and kept to the least needed; a permanent "
        "grant exceeds what was approved.\n"
        "- **10.4.3** - anomalies found while reviewing logs and configuration are followed "
        "up.\n"
        "- **12.10.x** - a suspected security incident is handled under the incident "
        "response plan: contained, investigated, recorded and reviewed."
    )


def _remediation(finding: DriftFinding) -> str:
    steps = [
        _removal_step(finding),
        "Re-apply Terraform from `main` (the apply workflow) so every current grant is "
        "written again with its condition, then run `lapse drift` until it is clean.",
        "Find who wrote the policy: in the Admin Activity audit log of the resource's "
        "project, folder or organization, filter on "
        '`protoPayload.methodName:"SetIamPolicy"` with explicit `timestamp>=` and '
        "`timestamp<` bounds; `protoPayload.authenticationInfo.principalEmail` names the "
        "writer and `protoPayload.serviceData.policyDelta.bindingDeltas` shows each "
        "condition removed. Fix or revoke the tool that wrote it.",
        "Review what the member did while the access was permanent (Data Access logs) "
        "with `lapse review`, and record the outcome in this issue.",
    ]
    numbered = "\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1))
    return f"## Remediation\n\n{numbered}"


def _removal_step(finding: DriftFinding) -> str:
    if finding.kind == "file":
        return (
            f"Restore `{finding.resource}` to what `lapse render` writes (or delete it if no "
            "request accounts for it), and find out from git history who wrote it and why."
        )
    target = f"{finding.kind} `{finding.resource}`"
    how = (
        "with a tool that reads and writes policy version 3 (console, or "
        "`gcloud ... remove-iam-policy-binding --condition=None`); never edit the policy "
        "through a version-1 read-modify-write"
    )
    if finding.member:
        grant = f"`{finding.role}` for `{finding.member}`"
        titled = f"binding titled `{finding.title}`"
        which = titled if finding.title else "unconditional binding"
        return f"Remove the {which} of {grant} from {target} {how}."
    return (
        f"Compare the live policy of {target} with the rendered grants and remove every "
        f"unconditional binding that a lapse grant turned into, {how}."
    )
