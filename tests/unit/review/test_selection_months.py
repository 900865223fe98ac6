"""Choosing the grants to review reads the archive's months of the period, and nothing else."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from generator.core.repo import Repo
from generator.review.selection import Period, due
from tests.support import make_repo, place

from .conftest import at

PERIOD = Period(at("2026-11-01T00:00:00"), at("2026-12-01T00:00:00"), timedelta(minutes=10))


def archived(expires: str, ticket: str = "INC-5000") -> str:
    return (
        "requester: alice@example.com\nreason: Investigate the settlement batch\n"
        f"ticket: {ticket}\nexpires: {expires}\n"
        "grants:\n  - role: roles/cloudsql.client\n    project: pci-prod-payments\n"
    )


def report(rid: str, *, complete: bool) -> str:
    """The fields of a report that a review reads back."""
    data = {"complete": complete, "request": {"id": rid}, "worst": None, "findings": [], "gaps": []}
    return json.dumps(data)


def test_only_the_months_of_the_retention_are_read(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "archive/pci-prod/2026-11/inc-5001-in.yaml", archived("2026-11-20T10:00:00Z"))
    place(
        root,
        "archive/pci-prod/emergency/2026-11/inc-5002-urgent.yaml",
        archived("2026-11-21T03:00:00Z", "INC-5002"),
    )
    # Ended before the period, and its complete report is there: passed over.
    place(root, "archive/pci-prod/2026-10/inc-5003-before.yaml", archived("2026-10-31T23:00:00Z"))
    place(
        root,
        "reports/pci-prod/2026-10/inc-5003-before.json",
        report("inc-5003-before", complete=True),
    )
    # A broken file whose complete report is there is not parsed: it was reviewed.
    place(root, "archive/pci-prod/2026-09/inc-5004-reviewed.yaml", "requester: [unclosed\n")
    place(
        root,
        "reports/pci-prod/2026-09/inc-5004-reviewed.json",
        report("inc-5004-reviewed", complete=True),
    )
    # Broken files in months outside the retention (400 days and a month before the period's
    # end) and after the period: reading one would report it.
    for month in ("2025-06", "2025-08", "2027-01"):
        place(root, f"archive/pci-prod/{month}/inc-5010-{month}.yaml", "requester: [unclosed\n")
        place(root, f"archive/pci-prod/emergency/{month}/inc-5011-{month}.yaml", "expires: [\n")

    found = due(Repo.at(root), PERIOD)

    assert sorted(request.id for request, _ in found.items) == [
        "inc-5001-in",
        "inc-5002-urgent",
    ]
    assert found.reported == []
    assert found.problems == []


def test_a_file_outside_the_month_layout_is_still_read(tmp_path: Path) -> None:
    # LAPSE134 refuses it; until it is moved, the review does not lose it.
    root = make_repo(tmp_path)
    place(root, "archive/pci-prod/inc-5020-flat.yaml", archived("2026-11-20T10:00:00Z"))
    place(root, "archive/pci-prod/emergency/inc-5021-flat.yaml", archived("2026-11-20T11:00:00Z"))
    place(root, "archive/pci-prod/old/inc-5022-nested.yaml", archived("2026-11-20T12:00:00Z"))
    place(root, "archive/pci-prod/2026-11/inc-5023-broken.yaml", "requester: [unclosed\n")

    found = due(Repo.at(root), PERIOD)

    assert sorted(request.id for request, _ in found.items) == [
        "inc-5020-flat",
        "inc-5021-flat",
        "inc-5022-nested",
    ]
    assert [(p.path, p.rule) for p in found.problems] == [
        ("archive/pci-prod/2026-11/inc-5023-broken.yaml", "LAPSE101")
    ]


def test_the_months_run_across_a_year_end(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "archive/pci-prod/2026-12/inc-5030-dec.yaml", archived("2026-12-30T10:00:00Z"))
    place(root, "archive/pci-prod/2027-01/inc-5031-jan.yaml", archived("2027-01-02T10:00:00Z"))
    place(root, "archive/pci-prod/2027-02/inc-5032-feb.yaml", archived("2027-02-02T10:00:00Z"))
    period = Period(at("2026-12-15T00:00:00"), at("2027-01-10T00:00:00"), timedelta(0))

    found = due(Repo.at(root), period)

    assert sorted(request.id for request, _ in found.items) == ["inc-5030-dec", "inc-5031-jan"]


# Due until reported: a grant whose window ended is reviewed until its complete report is
# there, whatever `--since` says, and for as long as its audit logs are kept.
AT = at("2026-12-10T00:00:00")
RECENT = Period(AT - timedelta(days=2), AT, timedelta(minutes=10))


def test_a_grant_that_ended_before_the_period_without_a_report_is_due(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "archive/pci-prod/2026-12/inc-5040-late.yaml", archived("2026-12-05T00:00:00Z"))

    found = due(Repo.at(root), RECENT)

    assert [request.id for request, _ in found.items] == ["inc-5040-late"]


def test_an_incomplete_report_keeps_it_due_and_a_complete_one_ends_that(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "archive/pci-prod/2026-12/inc-5041-late.yaml", archived("2026-12-05T00:00:00Z"))
    report_file = place(
        root, "reports/pci-prod/2026-12/inc-5041-late.json", report("inc-5041-late", complete=False)
    )
    assert [r.id for r, _ in due(Repo.at(root), RECENT).items] == ["inc-5041-late"]

    report_file.write_text(report("inc-5041-late", complete=True))
    found = due(Repo.at(root), RECENT)

    assert found.items == []
    assert found.reported == []  # ended before the period: not shown again either


def test_an_active_request_that_ended_long_ago_is_due_too(tmp_path: Path) -> None:
    # Not archived yet (expire did not run): still reviewed, not forgotten.
    root = make_repo(tmp_path)
    place(root, "requests/pci-prod/inc-5042-stale.yaml", archived("2026-11-01T00:00:00Z"))

    assert [r.id for r, _ in due(Repo.at(root), RECENT).items] == ["inc-5042-stale"]


def test_past_the_retention_a_grant_without_report_is_listed_for_an_incomplete_one(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path)
    # 410 days before AT: past the 400 days the logs are kept, within the month after.
    place(root, "archive/pci-prod/2025-10/inc-5043-old.yaml", archived("2025-10-26T00:00:00Z"))
    place(root, "archive/pci-prod/2025-10/inc-5044-old.yaml", archived("2025-10-26T00:00:00Z"))
    place(
        root, "reports/pci-prod/2025-10/inc-5044-old.json", report("inc-5044-old", complete=False)
    )
    # 399 days before: within the retention, due as any other.
    place(root, "archive/pci-prod/2025-11/inc-5045-kept.yaml", archived("2025-11-06T00:00:00Z"))

    found = due(Repo.at(root), RECENT)

    assert [r.id for r, _ in found.past_retention] == ["inc-5043-old"]
    assert [r.id for r, _ in found.items] == ["inc-5045-kept"]
    shorter = due(Repo.at(root), RECENT, retention=timedelta(days=380))
    assert [r.id for r, _ in shorter.past_retention] == ["inc-5043-old", "inc-5045-kept"]
    assert shorter.items == []
