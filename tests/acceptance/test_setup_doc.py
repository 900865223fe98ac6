"""docs/setup.md is run, not just read: every block marked `offline` runs in a fresh copy of this
repository, in order, `lapse doctor` against GitHub and Google Cloud as tests/setup_world.py
serves them; `lapse init --dry-run` prints the block shown after it, byte for byte.

The commands come from the Markdown itself, so the checklist and this test cannot drift.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import responses

from generator import cli
from tests import setup_world as w
from tests.acceptance.cli import lapse
from tests.fresh_copy import GIT_ENV, REPO, clone, fresh_template  # noqa: F401

SETUP = REPO / "docs" / "setup.md"
BLOCK = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# What the checklist's placeholders stand for in the world the fakes serve.
PLACEHOLDERS = {"$OWNER": w.OWNER, "$REPO": w.NAME, "SLUG": w.APP_SLUG}


def blocks(text: str, info: str) -> list[str]:
    return [body for found_info, body in BLOCK.findall(text) if found_info.strip() == info]


def commands(block: str) -> list[str]:
    """Each command of a shell block, continuation lines joined, comments left out."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")
    ]


def test_the_checklist_has_offline_blocks_for_every_local_step() -> None:
    run = [c for block in blocks(SETUP.read_text(), "sh offline") for c in commands(block)]
    verbs = [shlex.split(c)[shlex.split(c).index("lapse") + 1] for c in run if " lapse " in f" {c}"]
    assert verbs[:2] == ["init", "init"]
    assert {"validate", "render", "codeowners"} <= set(verbs) and verbs[-1] == "doctor"


@pytest.fixture
def world(http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch) -> w.World:
    made = w.World()
    made.install(http)
    w.doctor_clients(monkeypatch)
    return made


def test_every_offline_command_of_the_checklist_runs_in_a_fresh_copy(
    fresh_template: Path,  # noqa: F811
    tmp_path: Path,
    world: w.World,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = SETUP.read_text(encoding="utf-8")
    (shown,) = blocks(text, "text init-dry-run")
    copy = clone(fresh_template, tmp_path / "copy")
    capsys.readouterr()
    for command in [c for block in blocks(text, "sh offline") for c in commands(block)]:
        words = shlex.split(command)
        if words[0] == "git":
            subprocess.run(["bash", "-c", command], cwd=copy, env=GIT_ENV | _path(), check=True)
            continue
        words = words[words.index("lapse") + 1 :]  # the environment is the world's
        if words[0] == "doctor":
            line = [PLACEHOLDERS.get(word, word) for word in words]
            code = cli.main([*line, "--root", str(copy)])
            out = capsys.readouterr().out
            assert code == 0, out
            assert " 0 missing, 0 wrong, 0 cannot tell: all green" in out, out
            continue
        run = lapse(shlex.join(words), cwd=copy)
        assert run.code == 0, (command, run.out, run.err)
        if "--dry-run" in words:
            assert run.out == shown, "docs/setup.md shows another dry run than lapse prints"
    assert not (copy / "tests").exists()
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=copy, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""


def _path() -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")}


def test_the_requesting_example_works_in_a_fresh_copy(
    fresh_template: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    text = (REPO / "docs" / "requesting.md").read_text(encoding="utf-8")
    (example,) = [c for b in blocks(text, "sh") for c in commands(b) if c.startswith("lapse new")]
    copy = clone(fresh_template, tmp_path / "copy")
    run = lapse(f"{example.removeprefix('lapse ')} --dry-run", cwd=copy)
    assert run.code == 0, run.err
    assert "nothing written (--dry-run)" in run.out
