"""The pre-commit hook definitions call commands that exist and pass on this repository."""

from __future__ import annotations

import re
import shlex
import subprocess

import click
import pytest
import yaml

from generator import cli
from tests.support import REPO

HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())


def _all_files(pattern: str) -> list[str]:
    """What `pre-commit run --all-files` passes: every tracked file the hook's regex matches."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    return [path for path in tracked if re.search(pattern, path)]


@pytest.mark.parametrize("hook", HOOKS, ids=lambda h: h["id"])
def test_hook_runs_clean_on_the_repository(
    hook: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, *args = shlex.split(str(hook["entry"]))
    assert program == "lapse"
    assert cli.cli.get_command(click.Context(cli.cli), args[0]) is not None
    monkeypatch.chdir(REPO)
    # pre-commit passes file names unless told not to; pass them as it would.
    files = _all_files(str(hook["files"])) if hook.get("pass_filenames", True) else []
    assert cli.main([*args, "--root", str(REPO), *files]) == 0
