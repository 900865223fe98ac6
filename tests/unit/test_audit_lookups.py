"""`AuditCoverage` answers each grant's questions from what it derived once: the same answers.

Every grant of every request asks for its scope's gaps and its requester's exemptions. The
coverage keeps the gaps it found and the members exempted anywhere; Hypothesis holds both
answers to the questions asked the long way, over drawn coverages and questions, each asked
twice so that the second answer is the kept one.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.terraform.audit_coverage import (
    REQUIRED_LOG_TYPES,
    AuditCoverage,
    ServiceLogging,
)
from tests.lanes import examples

SCOPES = [("project", "a"), ("project", "b"), ("folder", "1"), ("organization", "9")]
SERVICES = ["allServices", "storage.googleapis.com", "bigquery.googleapis.com", "iam"]
MEMBERS = ["user:alice@example.com", "user:bob@example.com", "group:ops@example.com"]

loggings = st.builds(
    ServiceLogging,
    st.frozensets(st.sampled_from([*sorted(REQUIRED_LOG_TYPES), "OTHER"])),
    st.frozensets(st.sampled_from(MEMBERS)),
)
coverages = st.builds(
    AuditCoverage,
    st.dictionaries(
        st.sampled_from(SCOPES), st.dictionaries(st.sampled_from(SERVICES), loggings, max_size=4)
    ),
)
questions = st.lists(
    st.tuples(
        st.sampled_from([*SCOPES, ("project", "unknown")]),
        st.lists(st.sampled_from(SERVICES), max_size=4).map(tuple),
        st.sampled_from([*MEMBERS, "user:carol@example.com"]),
    ),
    max_size=8,
)


def _gaps(coverage: AuditCoverage, scope: tuple[str, str], services: tuple[str, ...]) -> list[str]:
    configured = coverage.scopes.get(scope, {})
    return [
        s
        for s in services
        if not any(
            name in configured and configured[name].log_types >= REQUIRED_LOG_TYPES
            for name in (s, "allServices")
        )
    ]


def _exemptions(
    coverage: AuditCoverage, scope: tuple[str, str], services: tuple[str, ...], member: str
) -> list[str]:
    configured = coverage.scopes.get(scope, {})
    return [
        s
        for s in (*services, "allServices")
        if s in configured and member in configured[s].exempted
    ]


@settings(max_examples=examples(400), deadline=None)
@given(coverages, questions)
def test_kept_answers_are_the_long_ways(
    coverage: AuditCoverage, asked: list[tuple[tuple[str, str], tuple[str, ...], str]]
) -> None:
    for _ in range(2):
        for scope, services, member in asked:
            gaps = coverage.gaps(scope, services)
            assert gaps == _gaps(coverage, scope, services)
            gaps.append("changed by the caller")  # a caller's list is its own
            assert coverage.exemptions(scope, services, member) == _exemptions(
                coverage, scope, services, member
            )


def test_kept_answers_leave_the_value_as_it_was() -> None:
    logging = ServiceLogging(REQUIRED_LOG_TYPES, frozenset({MEMBERS[0]}))
    coverage = AuditCoverage({SCOPES[0]: {SERVICES[0]: logging}})
    before = repr(coverage)
    assert coverage.gaps(SCOPES[1], (SERVICES[1],)) == [SERVICES[1]]
    assert coverage.exemptions(SCOPES[0], (SERVICES[1],), MEMBERS[0]) == [SERVICES[0]]
    assert repr(coverage) == before
    assert coverage == AuditCoverage({SCOPES[0]: {SERVICES[0]: logging}})
