"""LAPSE306-310 and LAPSE279: an extended window within its target's extension limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.checks.validate import validate_policy, validate_repo
from generator.core.repo import Repo
from tests.support import NOW, make_repo, place

PATH = "requests/pci-prod/inc-4512-batch.yaml"
BASE = (
    "# yaml-language-server: $schema=../../schemas/access-request.schema.json\n"
    "requester: alice@example.com\n"
    "reason: Investigate failed settlement batch\n"
    "ticket: INC-4512\n"
    "{starts}"
    "expires: {expires}\n"
    "grants:\n"
    "  - role: roles/cloudsql.client\n"
    "    project: pci-prod-payments\n"
)


def extended(expires: str, *entries: tuple[str, str], starts: str | None = "09:00") -> str:
    text = BASE.format(
        starts=f"starts: 2026-11-29T{starts}:00Z\n" if starts else "",
        expires=f"2026-11-29T{expires}:00Z",
    )
    if entries:
        text += "extensions:\n"
    for at, by in entries:
        text += f"  - at: 2026-11-29T{at}:00Z\n    by: {by}\n"
        text += '    reason: "The settlement rerun is still going"\n'
    return text


def found(root: Path, text: str, *, checked: bool = True) -> set[tuple[int, int, str]]:
    place(root, PATH, text)
    result = validate_repo(
        Repo.at(root), now=NOW, time_checked={PATH} if checked else set(), only={PATH}
    )
    return {(p.line, p.col, p.rule) for p in result.problems if p.level == "error"}


def test_an_extension_within_the_limits_is_valid(tmp_path: Path) -> None:
    # 09:00-13:00 approved, extended at 11:50 by 2h: 6h in all, the limit 8h.
    assert found(make_repo(tmp_path), extended("15:00", ("11:50", "2h"))) == set()


def test_two_extensions_to_exactly_the_total_are_valid(tmp_path: Path) -> None:
    text = extended("17:00", ("11:30", "2h"), ("11:55", "2h"))
    assert found(make_repo(tmp_path), text) == set()


def test_an_extension_over_max_extension_is_located_at_its_by(tmp_path: Path) -> None:
    # `by` of the first entry: line 12, column 9.
    assert found(make_repo(tmp_path), extended("16:00", ("11:50", "3h"))) == {(12, 9, "LAPSE308")}


def test_a_third_extension_is_located_at_its_entry(tmp_path: Path) -> None:
    text = extended("14:30", ("10:00", "30m"), ("10:30", "30m"), ("11:50", "30m"))
    assert found(make_repo(tmp_path), text) == {(17, 5, "LAPSE307")}


def test_a_window_over_max_total_duration_is_located_at_expires(tmp_path: Path) -> None:
    # 09:00-13:00 approved, then 2h and 2h: 8h, over a total of 7h.
    root = make_repo(tmp_path)
    place(
        root,
        "policy/policy.yaml",
        _policy(root, "max_total_duration: 8h", "max_total_duration: 7h"),
    )
    text = extended("17:00", ("11:30", "2h"), ("11:55", "2h"))
    assert found(root, text) == {(6, 10, "LAPSE309")}


def test_without_starts_the_first_part_counts_as_max_duration(tmp_path: Path) -> None:
    # 4h (max_duration) + 2h + 2h + 30m > 8h, whenever the grant was merged.
    root = make_repo(tmp_path)
    place(root, "policy/policy.yaml", _policy(root, "max_count: 2", "max_count: 3"))
    text = extended("14:30", ("10:00", "30m"), ("10:30", "2h"), ("11:50", "2h"), starts=None)
    assert (5, 10, "LAPSE309") in found(root, text)


def test_the_window_before_extensions_is_held_to_max_duration(tmp_path: Path) -> None:
    # An `extensions:` entry cannot hide a first window longer than max_duration.
    text = extended("16:00", ("11:50", "1h"))
    assert found(make_repo(tmp_path), text) == {(6, 10, "LAPSE302")}


def test_a_target_without_extensions_refuses_them(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "policy/policy.yaml", _policy(root, "    extensions:\n", "    unused:\n"))
    place(root, "policy/policy.yaml", _drop_block(root))
    assert found(root, extended("15:00", ("11:50", "2h"))) == {(10, 1, "LAPSE306")}


def test_an_emergency_is_never_extended(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    path = "requests/pci-prod/emergency/inc-4512-batch.yaml"
    text = extended("10:30", ("09:50", "30m")).replace("=../../schemas", "=../../../schemas")
    text = text.replace("roles/cloudsql.client", "roles/cloudsql.viewer")
    place(root, path, text)
    result = validate_repo(Repo.at(root), now=NOW, time_checked={path}, only={path})
    assert ("LAPSE306", 10, 1) in {(p.rule, p.line, p.col) for p in result.problems}


@pytest.mark.parametrize(
    ("entries", "where"),
    [
        ((("13:10", "2h"),), (11, 9)),  # after the window it extends had ended
        ((("11:00", "1h"), ("10:00", "1h")), (14, 9)),  # before the extension above
        ((("08:00", "2h"),), (11, 9)),  # before starts
    ],
)
def test_extensions_are_dated_in_order_while_active(
    tmp_path: Path, entries: tuple[tuple[str, str], ...], where: tuple[int, int]
) -> None:
    total = sum(int(by[0]) for _, by in entries)
    text = extended(f"{13 + total}:00", *entries)
    assert (*where, "LAPSE310") in found(make_repo(tmp_path), text, checked=False)


def test_a_lapsed_grant_is_not_revived_by_an_edit(tmp_path: Path) -> None:
    # Now is 12:00; the window ended at 11:00, and the edit says it was extended at 10:59.
    text = extended("13:00", ("10:59", "2h"), starts="08:00")
    assert (11, 9, "LAPSE310") in found(make_repo(tmp_path), text)
    # Merged long ago, it is not judged against the clock.
    assert (11, 9, "LAPSE310") not in found(make_repo(tmp_path / "b"), text, checked=False)


def test_an_extension_dated_in_the_future_is_refused(tmp_path: Path) -> None:
    text = extended("15:00", ("12:30", "2h"))
    assert found(make_repo(tmp_path), text) == {(11, 9, "LAPSE310")}


def test_extension_limits_must_hold_together(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(
        root,
        "policy/policy.yaml",
        _policy(root, "max_total_duration: 8h", "max_total_duration: 4h"),
    )
    _policy_value, problems = validate_policy(Repo.at(root))
    assert {p.rule for p in problems if p.level == "error"} == {"LAPSE279"}


def _policy(root: Path, old: str, new: str) -> str:
    text = (root / "policy/policy.yaml").read_text()
    assert old in text
    return text.replace(old, new, 1)


def _drop_block(root: Path) -> str:
    lines = (root / "policy/policy.yaml").read_text().split("\n")
    start = lines.index("    unused:")
    return "\n".join(lines[:start] + lines[start + 4 :])
