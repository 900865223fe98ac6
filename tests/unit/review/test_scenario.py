"""A lined-up scenario from real audit entries (tests/data/audit_scenario/, built by its
build.py from tests/data/audit_real/): each case gets the severity it deserves."""

from __future__ import annotations

from collections import defaultdict

from generator.core.model import Severity
from generator.review.analysis import review_all
from generator.review.file_source import FileSource

from .conftest import GRACE, SCENARIO, at, scenario_subject

C, H, M, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.INFO

EXPECTED: dict[str, set[tuple[Severity, str]]] = {
    "direct-in-role": set(),
    "impersonated-set-iam-policy": {(C, "persistence"), (INFO, "delegation")},
    "minted-token": {(H, "unexplained")},
    "token-use-out-of-scope": {(H, "unexplained"), (INFO, "delegation")},
    "no-authorization-info-out-of-role": {(H, "unexplained")},
    "numeric-project-in-role": set(),
    "denied": {(M, "denied")},
    "string-booleans-out-of-role": {(H, "unexplained")},
    # A copy is counted once: the copy, not also the permission it used.
    "snapshot": {(H, "exfiltration")},
    "export-out": {(H, "exfiltration")},
    "inside-grace": set(),
    "after-expiry": {(C, "binding-not-expired")},
    # The person is the caller behind a Google-managed first party: still their actions.
    "first-party-out-of-role": {(H, "unexplained")},
    "first-party-after-expiry": {(C, "binding-not-expired")},
    "unknown-permission": {(M, "unverifiable")},
}


def scenario_review() -> tuple[FileSource, dict[str, set[tuple[Severity, str]]], list[str]]:
    subject = scenario_subject()
    source = FileSource(SCENARIO)
    events = list(
        source.events([subject.principal], at("2026-12-01T00:00:00"), at("2026-12-02T00:00:00"))
    )
    (result,) = review_all([subject], events, grace=GRACE)
    by_case: dict[str, set[tuple[Severity, str]]] = defaultdict(set)
    for finding in result.findings:
        for evidence in finding.evidence:
            by_case[evidence.split("--")[0]].add((finding.severity, finding.kind))
    seen = [e.insert_id.split("--")[0] for e in (*result.events_in_window, *result.events_after)]
    return source, dict(by_case), seen


def test_each_case_has_its_expected_severity() -> None:
    _, by_case, seen = scenario_review()
    assert sorted(seen) == sorted(EXPECTED)  # every case reached the review, no one else's
    assert {case: by_case.get(case, set()) for case in EXPECTED} == EXPECTED


def test_each_event_is_counted_once_and_high_findings_name_every_role() -> None:
    subject = scenario_subject()
    events = FileSource(SCENARIO).events(
        [subject.principal], at("2026-12-01T00:00:00"), at("2026-12-02T00:00:00")
    )
    (result,) = review_all([subject], list(events), grace=GRACE)
    deviations = [f for f in result.findings if f.severity is not INFO]
    evidence = [e for f in deviations for e in f.evidence]
    assert len(evidence) == len(set(evidence))  # no event in two deviations
    roles = sorted(g.role for g in subject.request.grants)
    for finding in deviations:
        if "permission not in" in finding.message:
            assert all(role in finding.message for role in roles), finding.message


def test_the_scenario_is_accounted_for() -> None:
    source, _, _ = scenario_review()
    books = source.accounting
    assert books.read == len(EXPECTED) + 1
    assert (books.events, books.other_principals, len(books.unreadable)) == (len(EXPECTED), 1, 0)
