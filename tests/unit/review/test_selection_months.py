"""Choosing the grants to review reads the archive's months of the period, and nothing else."""

from __future__ import annotations

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


def test_only_the_months_of_the_period_are_read(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "archive/pci-prod/2026-11/inc-5001-in.yaml", archived("2026-11-20T10:00:00Z"))
    place(
        root,
        "archive/pci-prod/emergency/2026-11/inc-5002-urgent.yaml",
        archived("2026-11-21T03:00:00Z", "INC-5002"),
    )
    # Ended the day before the period: its month is listed (a day's slack), then passed over.
    place(root, "archive/pci-prod/2026-10/inc-5003-before.yaml", archived("2026-10-31T23:00:00Z"))
    # Broken files in months the period does not touch: reading one would report it.
    for month in ("2025-06", "2026-09", "2027-01"):
        place(root, f"archive/pci-prod/{month}/inc-5010-{month}.yaml", "requester: [unclosed\n")
        place(root, f"archive/pci-prod/emergency/{month}/inc-5011-{month}.yaml", "expires: [\n")

    found = due(Repo.at(root), PERIOD)

    assert sorted(request.id for request, _ in found.items) == [
        "inc-5001-in",
        "inc-5002-urgent",
    ]
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
