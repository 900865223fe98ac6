"""Running `lapse` as a person would: one shell line, its output and its exit code."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def lapse(line: str, *, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run `lapse <line>` in `cwd`. Inherits no GitHub Actions variables unless given."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    done = subprocess.run(
        [sys.executable, "-m", "generator", *shlex.split(line)],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Run(done.returncode, done.stdout, done.stderr)
