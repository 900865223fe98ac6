"""What a `lapse review` run found, typed: one `GrantReport` per grant and the run around them.

A grant's report is made from its `Review` when it was reviewed now, or read back from its JSON
report under reports/ (checked by `report_on_disk` first). The terminal text, `--format json`
(`run_text`) and the exit code all read a `ReviewRun`; `exit_code` below is the one place that
says which reports fail a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from generator.core.model import Finding, Problem, Severity
from generator.review.analysis import Review
from generator.review.sources import Accounting

# The severities that are deviations: each fails the run and is followed up.
DEVIATIONS = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM)


class Reported(Protocol):
    """A grant's report as far as the exit code goes: a `Review` or a `GrantReport`."""

    @property
    def complete(self) -> bool: ...

    @property
    def findings(self) -> Sequence[Finding]: ...


def exit_code(reports: Iterable[Reported]) -> int:
    """1 when any report has a deviation (CRITICAL, HIGH or MEDIUM) or is incomplete, else 0."""
    for report in reports:
        if not report.complete or any(f.severity in DEVIATIONS for f in report.findings):
            return 1
    return 0


@dataclass(frozen=True, slots=True)
class GrantReport:
    """One grant's report as a run shows it: where it is, whether it is whole, what it found."""

    path: str
    request_id: str | None
    complete: bool
    worst: Severity | None
    findings: tuple[Finding, ...]
    gaps: tuple[str, ...]
    reported_earlier: bool = False

    @classmethod
    def of(cls, path: str, review: Review) -> GrantReport:
        """The report of a grant reviewed by this run."""
        request_id = review.subject.request.id
        return cls(path, request_id, review.complete, review.worst, review.findings, review.gaps)

    @classmethod
    def read(cls, path: str, data: Mapping[str, Any]) -> GrantReport:
        """A report already on disk, from JSON `report_on_disk.read_report` found whole."""
        worst = data.get("worst")
        return cls(
            path,
            data["request"]["id"],
            data["complete"] is True,
            Severity(worst) if worst is not None else None,
            tuple(finding_of(f) for f in data.get("findings", [])),
            tuple(data.get("gaps", [])),
            reported_earlier=True,
        )

    @classmethod
    def unreadable(cls, path: str, where: str) -> GrantReport:
        """A report listed as on disk that could no longer be read whole: INCOMPLETE."""
        return cls(path, None, False, None, (), (f"{where}: unreadable",), reported_earlier=True)


@dataclass(frozen=True, slots=True)
class ReviewRun:
    """Every report a run shows (new and already on disk), what it read, and what it refused."""

    grants: tuple[GrantReport, ...]
    accounting: Accounting | None
    problems: tuple[Problem, ...]

    @property
    def reports_exit_code(self) -> int:
        """The exit code the reports alone call for (the JSON output's `exit_code`)."""
        return exit_code(self.grants)

    @property
    def exit_code(self) -> int:
        """The run's exit code: 1 on a deviation, an INCOMPLETE report or a problem, else 0."""
        return 1 if self.problems else self.reports_exit_code


def finding_data(finding: Finding) -> dict[str, Any]:
    """A finding as the JSON report and `--format json` write it."""
    return {
        "severity": finding.severity.value,
        "kind": finding.kind,
        "message": finding.message,
        "evidence": list(finding.evidence),
    }


def finding_of(data: Mapping[str, Any]) -> Finding:
    """A finding read back from `finding_data`'s JSON."""
    return Finding(
        Severity(data["severity"]), data["kind"], data["message"], tuple(data["evidence"])
    )
