"""Rule limits hold at their exact boundary: a limit that can be exceeded by a second is broken.

NOW is 2026-11-29T12:00:00Z; pci-prod allows 4h windows starting at most 7d ahead, for
example.com identities. Every request here is checked as a new one (time rules apply).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.checks.validate import validate_repo
from generator.core.repo import Repo
from tests.support import NOW, make_repo, place
from tests.unit.test_rules import _policy_with, request

PATH = "requests/pci-prod/inc-4512-batch.yaml"


def rules_hit(tmp_path: Path, text: str, *, people: str = "") -> set[str]:
    root = make_repo(tmp_path)
    if people:
        _policy_with(
            root, "  alice-ng: alice@example.com\n", f"  alice-ng: alice@example.com\n{people}"
        )
    place(root, PATH, text)
    result = validate_repo(Repo.at(root), now=NOW, time_checked={PATH})
    return {p.rule for p in result.problems if p.level == "error" and p.path == PATH}


@pytest.mark.parametrize(
    ("starts", "expires", "expected"),
    [
        ("2026-11-30T09:00:00Z", "2026-11-30T13:00:00Z", set()),  # exactly 4h
        ("2026-11-30T09:00:00Z", "2026-11-30T13:00:01Z", {"LAPSE302"}),  # 4h and a second
        (None, "2026-11-29T16:00:00Z", set()),  # 4h counted from now
        (None, "2026-11-29T16:00:01Z", {"LAPSE302"}),
    ],
)
def test_max_duration_is_exact(
    tmp_path: Path, starts: str | None, expires: str, expected: set[str]
) -> None:
    assert rules_hit(tmp_path, request(starts=starts, expires=expires)) == expected


@pytest.mark.parametrize(
    ("starts", "expected"),
    [
        ("2026-12-06T12:00:00Z", set()),  # exactly 7d ahead
        ("2026-12-06T12:00:01Z", {"LAPSE304"}),  # 7d and a second
    ],
)
def test_max_lead_time_is_exact(tmp_path: Path, starts: str, expected: set[str]) -> None:
    expires = starts.replace("12:00:0", "13:00:0")
    assert rules_hit(tmp_path, request(starts=starts, expires=expires)) == expected


@pytest.mark.parametrize(
    ("expires", "expected"),
    [
        ("2026-11-29T12:00:00Z", {"LAPSE303"}),  # expires == now: already over
        ("2026-11-29T11:59:59Z", {"LAPSE303"}),
        ("2026-11-29T12:00:01Z", set()),
    ],
)
def test_expires_must_be_strictly_after_now(
    tmp_path: Path, expires: str, expected: set[str]
) -> None:
    assert rules_hit(tmp_path, request(starts=None, expires=expires)) == expected


def test_expires_equal_to_starts_is_refused(tmp_path: Path) -> None:
    text = request(starts="2026-11-30T09:00:00Z", expires="2026-11-30T09:00:00Z")
    assert rules_hit(tmp_path, text) == {"LAPSE301"}


@pytest.mark.parametrize(
    "email", ["mallory@evilexample.com", "mallory@mail.example.com", "mallory@example.com.evil.io"]
)
def test_the_domain_allow_list_is_an_exact_match(tmp_path: Path, email: str) -> None:
    # The person is known, so the domain rule alone must refuse them.
    found = rules_hit(tmp_path, request(requester=email), people=f"  mallory: {email}\n")
    assert found == {"LAPSE202"}


def test_an_allowed_domain_passes(tmp_path: Path) -> None:
    people = "  mallory: mallory@example.com\n"
    assert rules_hit(tmp_path, request(requester="mallory@example.com"), people=people) == set()


def test_a_policy_problem_points_at_the_value_that_breaks_the_rule(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _policy_with(
        root,
        "  alice-ng: alice@example.com\n",
        "  alice-ng: alice@example.com\n  zed: z@example.org\n",
    )
    text = (root / "policy/policy.yaml").read_text().splitlines()
    line = text.index("  zed: z@example.org") + 1
    result = validate_repo(Repo.at(root), now=NOW)
    found = [p for p in result.problems if p.rule == "LAPSE271"]
    assert [(p.path, p.line, p.col) for p in found] == [("policy/policy.yaml", line, 8)]
    assert "z@example.org" in found[0].message
