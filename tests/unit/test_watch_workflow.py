"""`lapse doctor` checks that watch.yml is there, hourly, running `lapse watch --open-issues`
with the permissions and the Google identity it needs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.core.checklist import State
from generator.github.watch_workflow import FILE, watch_workflow_items
from tests.support import REPO


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(REPO / FILE, tmp_path / FILE)
    return tmp_path


def _edit(root: Path, old: str, new: str) -> None:
    text = (root / FILE).read_text()
    assert old in text
    (root / FILE).write_text(text.replace(old, new, 1))


def _not_ok(root: Path) -> list[tuple[str, State]]:
    return [(i.subject, i.state) for i in watch_workflow_items(root) if i.state is not State.OK]


def test_the_repositorys_watch_workflow_has_what_it_needs(root: Path) -> None:
    items = watch_workflow_items(root)
    assert len(items) == 9 and _not_ok(root) == []


def test_without_the_workflow_it_is_missing(tmp_path: Path) -> None:
    (item,) = watch_workflow_items(tmp_path)
    assert (item.subject, item.state) == (FILE, State.MISSING)


@pytest.mark.parametrize(
    ("old", "new", "subject"),
    [
        ("issues: write", "issues: read", "the watch job may write issues"),
        ("      actions: read # the runs", "      # the runs", "the watch job may read actions"),
        ('"41 * * * *"', '"41 5 * * *"', f"{FILE} runs hourly"),
        ("--open-issues \\", "\\", f"{FILE} runs lapse watch"),
        ("google-github-actions/auth@", "example/auth@", "the watch job authenticates"),
    ],
)
def test_each_need_is_checked(root: Path, old: str, new: str, subject: str) -> None:
    _edit(root, old, new)
    found = _not_ok(root)
    assert len(found) == 1 and found[0][0].startswith(subject) and found[0][1] is State.WRONG


@pytest.mark.parametrize(
    "text", ["jobs: 3\n", "- a list\n", "on: {schedule: 5}\njobs: {w: {steps: 7}}\n", ":\n  - ["]
)
def test_a_malformed_workflow_is_an_item_never_a_traceback(root: Path, text: str) -> None:
    (root / FILE).write_text(text)
    assert any(item.state is not State.OK for item in watch_workflow_items(root))
