"""What an assessor's evidence pack holds for a period, as plain data (`evidence.json`).

Built from the repository and its reports: every grant whose window overlaps the period (its
request, approval, apply commit, window, actions, findings, sign-off, incidents), the
emergencies among them, the recertifications merged in the period, and the policy they were
held to. Control failures and drift incidents live only in GitHub's issues: they are read when a
reader is given, and otherwise the pack says it could not read them. Each PCI DSS v4.0.1
requirement lapse serves is mapped to the parts of the pack that evidence it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from generator.core.git import Addition, mainline_additions
from generator.core.model import Policy, Problem
from generator.core.repo import Repo
from generator.core.times import format_utc
from generator.github.labelled_issues import LabelledIssue
from generator.lifecycle.grant_ledger import Entry, ledger
from generator.lifecycle.recertification import FOLDER as RECERTIFICATIONS
from generator.lifecycle.recertification import NAME as HALF

SCHEMA = "lapse.evidence/1"
CONTROL_FAILURE = "lapse-control-failure"
DRIFT = "lapse-drift"
INCIDENT_SEVERITIES = ("CRITICAL", "HIGH")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
# Issues with one label, since an instant; raises a LapseError when GitHub fails.
IssueReader = Callable[[str, datetime], list[LabelledIssue]]

# (requirement, what lapse shows for it, the pack's sections that evidence it). Paraphrased.
REQUIREMENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("7.2.1", "An access control model: targets, roles, resources, approvers", ("policy",)),
    ("7.2.2", "Access assigned on approved need, per grant", ("grants",)),
    ("7.2.3", "Privileges approved by authorised personnel (reviewers, commit)", ("grants",)),
    ("7.2.4", "User accounts and privileges reviewed every six months", ("recertifications",)),
    ("7.2.5", "System and application accounts: least privilege", ("policy", "grants")),
    ("7.2.5.1", "System and application accounts reviewed periodically", ("recertifications",)),
    ("7.2.6", "Access to stored cardholder data restricted and approved", ("grants", "policy")),
    ("8.2.1", "Every person has a unique identity", ("policy",)),
    ("8.2.2", "No shared or generic accounts among grantees", ("policy", "grants")),
    ("8.4.2", "MFA evidence for access into the cardholder data environment", ("grants",)),
    ("10.2.1.x", "Audit logs capture each grantee's actions", ("grants",)),
    ("10.2.2", "Audit records name who, what, when and where", ("grants",)),
    ("10.4.1", "Audit logs reviewed, with findings signed off", ("grants",)),
    ("10.5.1", "Audit log history retained", ("policy",)),
    ("10.7.2", "Failures of critical security controls detected", ("control-failures", "drift")),
    ("10.7.3", "Failures of critical security controls responded to", ("control-failures",)),
    ("12.10.x", "Incidents and emergencies handled", ("emergencies", "drift", "grants")),
)


def page_names(entries: tuple[Entry, ...]) -> list[str]:
    """Each grant's page, a plain file name whatever its target and id, and its own: an
    emergency and a normal request may share an id, and so may two files of one id."""
    names: list[str] = []
    for entry in entries:
        request = entry.request
        kind = ".emergency" if request.emergency else ""
        stem = f"grants/{_SAFE.sub('_', request.target)}{kind}.{_SAFE.sub('_', request.id)}"
        name, n = f"{stem}.html", 1
        while name in names:
            n += 1
            name = f"{stem}.{n}.html"
        names.append(name)
    return names


def build(
    repo: Repo,
    policy: Policy,
    since: datetime,
    until: datetime,
    commit: dict[str, str],
    issues: IssueReader | None,
) -> tuple[dict[str, Any], tuple[Problem, ...]]:
    found = ledger(repo, since, until)
    grants = [
        _grant(e, page) for e, page in zip(found.entries, page_names(found.entries), strict=True)
    ]
    pack = {
        "schema": SCHEMA,
        "period": {"from": format_utc(since), "to": format_utc(until)},
        "commit": commit,
        "grants": grants,
        "emergencies": [g for g in grants if g["emergency"]],
        "recertifications": _recertifications(repo, since, until),
        "control_failures": _issues(issues, CONTROL_FAILURE, since, until),
        "drift": _issues(issues, DRIFT, since, until),
        "policy": _policy(policy),
        "problems": [
            {"path": p.path, "line": p.line, "col": p.col, "rule": p.rule, "message": p.message}
            for p in found.problems
        ],
    }
    pack["requirements"] = [
        {"requirement": rid, "what": what, "sections": list(parts)}
        for rid, what, parts in REQUIREMENTS
    ]
    return pack, found.problems


def _grant(entry: Entry, page: str) -> dict[str, Any]:
    request, report = entry.request, entry.report or {}
    findings = [_finding(f) for f in entry.findings]
    return {
        "key": entry.key,
        "page": page,
        "target": request.target,
        "id": request.id,
        "path": request.path,
        "emergency": request.emergency,
        "requester": request.requester,
        "reason": request.reason,
        "ticket": request.ticket,
        "starts": format_utc(request.window.starts) if request.window.starts else None,
        "expires": format_utc(request.window.expires),
        "extensions": [
            {"at": format_utc(e.at), "by": str(e.by), "reason": e.reason}
            for e in request.extensions
        ],
        "grants": [
            {"role": g.role, "kind": g.kind, "resource": g.resource} for g in request.grants
        ],
        "approval": _approval(report.get("approval")),
        "applied": _addition(entry.applied),
        "review": {
            "verdict": entry.verdict,
            "report": entry.report_path,
            "events": _events(report.get("events")),
            "gaps": [g for g in report.get("gaps", []) if isinstance(g, str)],
        },
        "actions": _actions(report.get("actions")),
        "actions_after": _actions(report.get("actions_after")),
        "mfa": report.get("mfa"),
        "findings": findings,
        "incidents": [f for f in findings if f["severity"] in INCIDENT_SEVERITIES],
        "sign_off": entry.sign_off,
        "signed": _addition(entry.signed),
    }


def _events(events: Any) -> dict[str, int] | None:
    if not isinstance(events, dict):
        return None
    counts = {key: events.get(key) for key in ("in_window", "after")}
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in counts.values()):
        return None
    return {key: int(n) for key, n in counts.items() if isinstance(n, int)}


def _approval(approval: Any) -> list[list[str]]:
    """The report's approval record as (what, value) rows; it is free-form there."""
    if not isinstance(approval, dict):
        return []
    rows = []
    for key, value in sorted(approval.items(), key=lambda item: str(item[0])):
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        rows.append([str(key), shown])
    return rows


def _finding(finding: dict[str, Any]) -> dict[str, Any]:
    evidence = finding.get("evidence")
    return {
        "severity": str(finding.get("severity", "")),
        "kind": str(finding.get("kind", "")),
        "message": str(finding.get("message", "")),
        "evidence": [str(e) for e in evidence] if isinstance(evidence, list) else [],
    }


def _actions(actions: Any) -> list[dict[str, Any]]:
    if not isinstance(actions, list):
        return []
    keys = ("service", "method", "resource", "first", "last")
    rows = []
    for action in actions:
        if not isinstance(action, dict):
            continue
        row: dict[str, Any] = {key: str(action.get(key, "")) for key in keys}
        for key in ("count", "denied"):
            value = action.get(key)
            row[key] = value if isinstance(value, int) and not isinstance(value, bool) else 0
        rows.append(row)
    return rows


def _addition(addition: Addition | None) -> dict[str, str] | None:
    return None if addition is None else {"commit": addition.sha, "at": format_utc(addition.at)}


def _recertifications(repo: Repo, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Recertification files merged on the main line within the period."""
    merged = mainline_additions(repo.root, RECERTIFICATIONS)
    found = []
    for path, addition in sorted(merged.items()):
        name = path.removeprefix(RECERTIFICATIONS + "/").removesuffix(".md")
        if HALF.match(name) and path.endswith(".md") and since <= addition.at <= until:
            found.append({"half": name, "path": path, **(_addition(addition) or {})})
    return found


def _issues(
    reader: IssueReader | None, label: str, since: datetime, until: datetime
) -> dict[str, Any]:
    if reader is None:
        return {
            "read": False,
            "why": f"not read: no GitHub token was given, so the issues labelled {label} "
            "are not in this pack",
            "issues": [],
        }
    listed = reader(label, since)
    return {
        "read": True,
        "why": f"GitHub issues labelled {label}, open or closed, of the period",
        "issues": [asdict(i) for i in listed if _during(i, since, until)],
    }


def _during(issue: LabelledIssue, since: datetime, until: datetime) -> bool:
    """Opened by the period's end, and open at some point within it."""
    opened = _instant(issue.created_at)
    closed = _instant(issue.closed_at) if issue.closed_at else None
    return opened is not None and opened <= until and (closed is None or closed >= since)


def _instant(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _policy(policy: Policy) -> dict[str, Any]:
    return {
        "security_owners": list(policy.security_owners),
        "people": [[login, email] for login, email in sorted(policy.people.items())],
        "audit_log_retention_days": policy.limits.audit_log_retention_days,
        "targets": [
            {
                "name": name,
                "approvers": list(t.approvers),
                "emergency_approvers": list(t.emergency.approvers) if t.emergency else [],
                "max_duration": str(t.max_duration),
                "roles": [[r, t.persistence_exceptions.get(r, "")] for r in t.roles],
                "resources": [[k, list(v)] for k, v in sorted(t.resources.items()) if v],
            }
            for name, t in sorted(policy.targets.items())
        ],
    }
