"""The policy's `watch:` section: its limits, and maintenance windows held to LAPSE330-332."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from generator.checks.validate import validate_policy
from generator.core.repo import Repo
from tests.support import make_repo

WINDOWS_AT = "  # audit_sink: projects/pci-audit-logs/sinks/lapse-audit\n"


def _with_watch(root: Path, text: str) -> None:
    path = root / "policy" / "policy.yaml"
    policy = path.read_text()
    assert WINDOWS_AT in policy
    path.write_text(policy.replace(WINDOWS_AT, WINDOWS_AT + text, 1))


def _window(control: str, starts: str, ends: str) -> str:
    return (
        "  maintenance:\n"
        f"    - control: {control}\n"
        f"      from: {starts}\n"
        f"      until: {ends}\n"
        "      reason: CHG-2207 moves the audit dataset\n"
    )


def _problems(root: Path) -> set[tuple[int, int, str]]:
    _, problems = validate_policy(Repo.at(root))
    return {(p.line, p.col, p.rule) for p in problems}


def test_the_sample_policy_reads_with_its_limits(tmp_path: Path) -> None:
    policy, problems = validate_policy(Repo.at(make_repo(tmp_path)))
    assert problems == [] and policy is not None
    assert policy.watch.recertification_age == timedelta(days=183)
    assert policy.watch.maintenance == ()


def test_a_window_is_read_with_its_place(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _with_watch(root, _window("audit-sink", "2026-12-12T22:00:00Z", "2026-12-13T02:00:00+01:00"))
    policy, problems = validate_policy(Repo.at(root))
    assert problems == [] and policy is not None
    (window,) = policy.watch.maintenance
    assert (window.control, window.ends - window.starts) == ("audit-sink", timedelta(hours=3))
    assert window.line > 0 and window.col > 0


@pytest.mark.parametrize(
    ("starts", "ends", "rule"),
    [
        ("2026-12-13T02:00:00Z", "2026-12-12T22:00:00Z", "LAPSE330"),
        ("2026-12-12T22:00:00Z", "2026-12-12T22:00:00Z", "LAPSE330"),
        # the same instant spelled in another offset is no later
        ("2026-12-12T22:00:00Z", "2026-12-12T23:00:00+01:00", "LAPSE330"),
        ("2026-12-01T00:00:00Z", "2026-12-08T00:01:00Z", "LAPSE331"),
    ],
)
def test_a_window_ends_after_it_begins_and_within_the_longest(
    tmp_path: Path, starts: str, ends: str, rule: str
) -> None:
    root = make_repo(tmp_path)
    _with_watch(root, _window("audit-sink", starts, ends))
    found = _problems(root)
    assert {r for _, _, r in found} == {rule}
    ((line, col, _),) = found
    text = (root / "policy" / "policy.yaml").read_text().splitlines()
    assert text[line - 1][col - 1 :].startswith(ends)


def test_a_window_of_exactly_the_longest_is_allowed(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _with_watch(root, _window("audit-sink", "2026-12-01T00:00:00Z", "2026-12-08T00:00:00Z"))
    assert _problems(root) == set()


@pytest.mark.parametrize("name", ["audit-sinks", "watch", "expire", "review-pull"])
def test_a_window_names_a_known_control(tmp_path: Path, name: str) -> None:
    root = make_repo(tmp_path)
    _with_watch(root, _window(name, "2026-12-12T22:00:00Z", "2026-12-13T02:00:00Z"))
    ((line, col, rule),) = _problems(root)
    assert rule == "LAPSE332"
    text = (root / "policy" / "policy.yaml").read_text().splitlines()
    assert text[line - 1][col - 1 :] == name


def test_a_control_spelled_otherwise_is_refused_by_the_schema(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _with_watch(root, _window("Audit-Sink", "2026-12-12T22:00:00Z", "2026-12-13T02:00:00Z"))
    policy, problems = validate_policy(Repo.at(root))
    assert policy is None and problems


def test_a_window_without_an_end_is_refused(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _with_watch(
        root,
        "  maintenance:\n    - control: audit-sink\n      from: 2026-12-12T22:00:00Z\n"
        "      reason: open-ended on purpose\n",
    )
    policy, problems = validate_policy(Repo.at(root))
    assert policy is None and problems


def test_a_window_on_a_date_that_does_not_exist_is_located(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _with_watch(root, _window("audit-sink", "2026-02-30T22:00:00Z", "2026-03-01T02:00:00Z"))
    ((line, col, rule),) = _problems(root)
    assert rule == "LAPSE305"
    text = (root / "policy" / "policy.yaml").read_text().splitlines()
    assert text[line - 1][col - 1 :].startswith("2026-02-30")


def _windows(*spans: tuple[str, str, str]) -> str:
    entries = "".join(
        f"    - control: {control}\n      from: {starts}\n      until: {ends}\n"
        "      reason: CHG-2207 moves the audit dataset\n"
        for control, starts, ends in spans
    )
    return "  maintenance:\n" + entries


def test_windows_chained_one_after_another_count_as_one(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _with_watch(
        root,
        _windows(
            ("audit-sink", "2026-12-08T00:00:00Z", "2026-12-15T00:00:00Z"),
            ("audit-sink", "2026-12-01T00:00:00Z", "2026-12-08T00:00:00Z"),
            ("apply", "2026-12-15T00:00:00Z", "2026-12-16T00:00:00Z"),
        ),
    )
    ((line, _col, rule),) = _problems(root)
    assert rule == "LAPSE331"
    text = (root / "policy" / "policy.yaml").read_text().splitlines()
    assert text[line - 1].endswith("until: 2026-12-15T00:00:00Z")


@pytest.mark.parametrize(
    ("second", "found"),
    [
        (("2026-12-09T00:00:00Z", "2026-12-10T00:00:00Z"), {"LAPSE331"}),  # a day apart
        (("2026-12-14T23:59:59Z", "2026-12-15T01:00:00Z"), {"LAPSE331"}),
        (("2026-12-15T00:00:00Z", "2026-12-22T00:00:00Z"), set()),  # a week of watching
    ],
)
def test_windows_less_than_the_longest_apart_count_as_one(
    tmp_path: Path, second: tuple[str, str], found: set[str]
) -> None:
    root = make_repo(tmp_path)
    _with_watch(
        root,
        _windows(
            ("audit-sink", "2026-12-01T00:00:00Z", "2026-12-08T00:00:00Z"),
            ("audit-sink", *second),
        ),
    )
    assert {rule for _, _, rule in _problems(root)} == found
