"""Every grant of a period with what the repository records of it: its review and sign-off.

Read from the checkout alone: requests/ and archive/ (through `read_requests`, so a file that
is not a request is a located problem, never a traceback), the review reports under
reports/<target>/<month>/ (through `read_report`: a broken one is LAPSE115), and git's main
line for the commits that brought the request (the apply) and its report (the sign-off).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from generator.checks.validate import read_requests
from generator.core.git import Addition, mainline_additions
from generator.core.model import Problem, Request
from generator.core.repo import Repo
from generator.core.request_paths import parse_request_path, request_path
from generator.review.report_on_disk import OnDisk, read_report

# More editions than any grant is reviewed again: a bound on the files looked for.
MAX_EDITIONS = 50


@dataclass(frozen=True, slots=True)
class Entry:
    """One grant: its request, its newest whole review report, and the commits that record it."""

    request: Request
    report: dict[str, Any] | None = None
    report_path: str | None = None
    applied: Addition | None = None  # the main-line commit that brought the request
    signed: Addition | None = None  # the main-line commit that brought its report

    @property
    def key(self) -> str:
        return f"{self.request.target}/{self.request.id}"

    @property
    def verdict(self) -> str:
        """What its review found: the worst severity, CLEAN, INCOMPLETE or not reviewed."""
        if self.report is None:
            return "not reviewed"
        if self.report.get("complete") is not True:
            return "INCOMPLETE"
        worst = self.report.get("worst")
        return str(worst) if worst else "CLEAN"

    @property
    def sign_off(self) -> str:
        if self.signed is not None:
            return f"report merged in {self.signed.sha[:12]} at {_iso(self.signed.at)}"
        if self.report_path is not None:
            return "report not on the main line yet"
        return "no report"

    @property
    def findings(self) -> list[dict[str, Any]]:
        found = (self.report or {}).get("findings", [])
        return [f for f in found if isinstance(f, dict)]


@dataclass(frozen=True, slots=True)
class Ledger:
    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...] = field(default=())


def ledger(repo: Repo, since: datetime, until: datetime) -> Ledger:
    """The grants whose window overlaps [since, until], oldest first, with every file that
    could not be read as a located problem."""
    requests, problems = read_requests(repo, [*repo.request_files(), *repo.archive_files()])
    applied = mainline_additions(repo.root, "requests")
    signed = mainline_additions(repo.root, "reports")
    entries = []
    for request in sorted(requests, key=lambda r: (r.window.expires, r.target, r.id, r.path)):
        brought = _first(applied, _request_paths(request))
        # A window without `starts` opened at the merge that brought it, and by its end.
        opened = min(brought.at, request.window.expires) if brought else request.window.expires
        starts = request.window.starts or opened
        if request.window.expires < since or starts > until:
            continue
        report, report_problems = _report(repo, request)
        problems.extend(report_problems)
        where = report.path if report is not None and report.data is not None else None
        path = repo.relative(where) if where is not None else None
        entries.append(
            Entry(
                request,
                report.data if report is not None else None,
                path,
                brought,
                _first(signed, [path[:-4] + "md", path] if path else []),
            )
        )
    return Ledger(tuple(entries), tuple(problems))


def _report(repo: Repo, request: Request) -> tuple[OnDisk | None, list[Problem]]:
    """The newest whole edition of the grant's JSON report, and the problems of broken ones."""
    month = request.window.expires.astimezone(UTC).strftime("%Y-%m")
    folder = repo.reports / request.target / month
    newest: OnDisk | None = None
    problems: list[Problem] = []
    for edition in range(1, MAX_EDITIONS + 1):
        name = f"{request.id}.json" if edition == 1 else f"{request.id}.{edition}.json"
        found = read_report(repo, folder / name)
        if not found.exists:
            break
        problems.extend(found.problems)
        if found.data is not None and found.data.get("request", {}).get("id") == request.id:
            newest = found
    return newest, problems


def _request_paths(request: Request) -> list[str]:
    """Where the request was merged: its requests/ path (the archive copy came later)."""
    where = parse_request_path(request.path)
    if where is None:
        return [request.path]
    return [request_path(where.target, where.id, emergency=where.emergency), request.path]


def _first(found: dict[str, Addition], paths: Iterable[str]) -> Addition | None:
    return next((found[p] for p in paths if p in found), None)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
