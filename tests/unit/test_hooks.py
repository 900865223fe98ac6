"""The pre-commit hook definitions call commands that exist and pass on this repository."""

from __future__ import annotations

import shlex

import click
import pytest
import yaml

from generator import cli
from tests.support import REPO

HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())


@pytest.mark.parametrize("hook", HOOKS, ids=lambda h: h["id"])
def test_hook_runs_clean_on_the_repository(hook: dict[str, object],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    program, *args = shlex.split(str(hook["entry"]))
    assert program == "lapse"
    assert cli.cli.get_command(click.Context(cli.cli), args[0]) is not None
    monkeypatch.chdir(REPO)
    assert cli.main([*args, "--root", str(REPO)]) == 0
