"""A hand-edited file gets its schema and policy problems in one round, wherever it still reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from generator.checks.validate import validate_repo
from generator.core.repo import Repo
from tests.support import make_repo, place

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PATH = "requests/pci-prod/inc-4801-hand-edited.yaml"
HAND_EDITED = """\
requester: mallory@example.com
reason: Look at the settlement tables by hand
ticket: INC-4801
starts: 2026-12-01T09:00:00Z
expires: 2026-12-09T09:00:00Z
expire: 2026-12-01T13:00:00Z
note: edited by hand
grants:
  - role: roles/owner
    project: pci-prod-payments
    comment: needed
"""


def _found(root: Path, path: str = PATH) -> list[tuple[int, int, str, str]]:
    result = validate_repo(Repo.at(root), now=NOW, time_checked={path})
    return [(p.line, p.col, p.rule, p.message) for p in result.problems if p.path == path]


def test_three_unknown_keys_and_three_policy_problems_come_together(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, PATH, HAND_EDITED)

    found = _found(root)

    assert [(line, col, rule) for line, col, rule, _ in found] == [
        (1, 12, "LAPSE201"),  # mallory is nobody in the policy
        (5, 10, "LAPSE302"),  # 8 days where 4 hours is the most
        (6, 1, "LAPSE120"),  # expire
        (7, 1, "LAPSE120"),  # note
        (9, 5, "LAPSE210"),  # a basic role
        (11, 5, "LAPSE120"),  # comment, and not again as "a grant names two things"
    ]


def test_an_unknown_key_names_the_key_it_resembles(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, PATH, HAND_EDITED)

    messages = {message for *_, message in _found(root)}

    assert "unknown key 'expire'; did you mean 'expires'?" in messages
    assert "unknown key 'note'" in messages  # nothing close: no guess


def test_a_misspelt_required_key_is_guessed_and_nothing_is_judged_without_it(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path)
    place(root, PATH, HAND_EDITED.replace("expires:", "Expires:").replace("expire:", "note2:"))

    found = _found(root)

    assert (5, 1, "LAPSE120", "unknown key 'Expires'; did you mean 'expires'?") in found
    assert {rule for _, _, rule, _ in found} == {"LAPSE120"}  # no window to judge


def test_a_grant_key_guess_comes_from_the_grant_s_own_keys(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, PATH, HAND_EDITED.replace("    comment: needed\n", "    projet: x\n"))

    messages = {message for *_, message in _found(root)}

    assert "unknown key 'projet'; did you mean 'project'?" in messages


def test_an_unknown_key_in_the_policy_does_not_hide_the_requests_problems(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path)
    policy = root / "policy/policy.yaml"
    policy.write_text(policy.read_text() + "notes: reviewed by hand\n")
    place(root, PATH, HAND_EDITED)

    result = validate_repo(Repo.at(root), now=NOW, time_checked={PATH})

    rules = {(p.path, p.rule) for p in result.problems}
    assert ("policy/policy.yaml", "LAPSE120") in rules
    assert {(PATH, "LAPSE201"), (PATH, "LAPSE302"), (PATH, "LAPSE210")} <= rules
    assert result.requests == ()
