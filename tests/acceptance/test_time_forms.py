"""Item: time typed one way everywhere: instants, durations, --since, and how they print."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.acceptance.cli import lapse
from tests.support import make_repo, place

SHOWN_AT = re.compile(r"active at (\S+)")


def shown(run_out: str) -> datetime:
    match = SHOWN_AT.search(run_out)
    assert match, run_out
    return datetime.fromisoformat(match[1].replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-01T09:30:00Z", datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),
        ("2026-12-01T10:30:00+01:00", datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
    ],
)
def test_fixed_instants(tmp_path: Path, typed: str, expected: datetime) -> None:
    root = make_repo(tmp_path, with_requests=True)
    run = lapse(f"simulate --at {typed}", cwd=root)
    assert run.code == 0, run.err
    assert shown(run.out) == expected


@pytest.mark.parametrize(
    ("typed", "offset"),
    [("now", timedelta(0)), ("+2h", timedelta(hours=2)), ("-3d", timedelta(days=-3))],
)
def test_instants_relative_to_the_clock(tmp_path: Path, typed: str, offset: timedelta) -> None:
    root = make_repo(tmp_path, with_requests=True)
    before = datetime.now(UTC).replace(microsecond=0)
    run = lapse(f"simulate --at {typed}", cwd=root)
    after = datetime.now(UTC)
    assert run.code == 0, run.err
    assert before + offset <= shown(run.out) <= after + offset


def test_relative_instants_count_from_at(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    run = lapse(
        "new --at 2026-11-29T12:00:00Z --starts +1h --expires +1h30m --target pci-prod "
        "--grant roles/cloudsql.client=project:pci-prod-payments --ticket INC-4512 "
        "--reason 'Investigate failed settlement batch' --requester alice@example.com --dry-run",
        cwd=root,
    )
    assert run.code == 0, run.err
    assert "starts: 2026-11-29T13:00:00Z\nexpires: 2026-11-29T13:30:00Z\n" in run.out


def test_help_says_a_date_is_midnight_utc() -> None:
    run = lapse("validate --help", cwd=Path.cwd())
    assert "a date (midnight UTC)" in run.out and "+2h" in run.out


@pytest.mark.parametrize(
    ("grace", "cutoff"),
    [
        ("0", "2026-12-02T00:00:00Z"),
        ("90m", "2026-12-01T22:30:00Z"),
        ("1h30m", "2026-12-01T22:30:00Z"),
        ("1d", "2026-12-01T00:00:00Z"),
        ("1w", "2026-11-25T00:00:00Z"),
    ],
)
def test_durations(tmp_path: Path, grace: str, cutoff: str) -> None:
    root = make_repo(tmp_path, with_requests=True)
    run = lapse(f"expire --dry-run --at 2026-12-02T00:00:00Z --grace {grace}", cwd=root)
    assert run.code == 0, run.err
    assert f"at or before {cutoff}" in run.out


def test_the_old_flag_names_still_work(tmp_path: Path) -> None:
    root = make_repo(tmp_path, with_requests=True)
    assert (
        "at or before 2026-12-02T00:00:00Z"
        in lapse("expire --dry-run --now 2026-12-02T00:00:00Z", cwd=root).out
    )
    assert lapse("validate --now 2026-11-29T12:00:00Z", cwd=root).code == 0


def test_since_takes_an_instant_or_a_duration(tmp_path: Path) -> None:
    source = place(tmp_path, "logs/empty.json", "[]\n")
    both = [
        lapse(
            f"review --source file:{source} --at 2026-12-10T00:00:00Z --since {since}",
            cwd=make_repo(tmp_path / since, with_requests=True),
        )
        for since in ("2026-12-02", "8d", "1w1d")
    ]
    assert both[0].out == both[1].out == both[2].out
    # alice's request ended 2026-12-01T13:00Z, before the period, with no report: still due
    assert "inc-4512-settlement-batch" in both[0].out
    assert "5 grants reviewed" in both[0].out
    for since in ("2026-12-02", "8d", "1w1d"):
        summary = json.loads((tmp_path / since / "reports/summary/2026-12-10.json").read_text())
        assert summary["until"] == "2026-12-10T00:00:00Z"
        assert summary["since"] == "2026-12-01T13:00:00Z"  # the earliest grant still due
    bad = lapse("review --since yesterday", cwd=make_repo(tmp_path / "bad"))
    assert bad.code == 2
    assert "neither an instant" in bad.err


def test_windows_print_as_people_write_them(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(
        root,
        "requests/pci-prod/inc-4512-long.yaml",
        "requester: alice@example.com\nreason: Investigate failed settlement batch\n"
        "ticket: INC-4512\nstarts: 2026-11-30T08:00:00Z\nexpires: 2026-11-30T15:59:00Z\n"
        "grants:\n  - role: roles/cloudsql.client\n    project: pci-prod-payments\n",
    )
    run = lapse("validate --at 2026-11-29T12:00:00Z requests/pci-prod/inc-4512-long.yaml", cwd=root)
    assert run.code == 1
    assert "window of 7h59m exceeds 4h" in run.out


@pytest.mark.parametrize("typed", ["yesterday", "2026-02-31", "+2x", "12/01/2026"])
def test_unreadable_instants_are_usage_errors(tmp_path: Path, typed: str) -> None:
    root = make_repo(tmp_path)
    run = lapse(f"validate --at {typed}", cwd=root)
    assert run.code == 2
    assert "Traceback" not in run.err
