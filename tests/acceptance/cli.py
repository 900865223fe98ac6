"""Running `lapse` as a person would: one shell line, its output and its exit code.

By default each run is a real `python -m generator` process. With `LAPSE_CLI_IN_PROCESS=1` (set
by `bench/mutation.py`, and whenever mutmut runs the tests) the same line goes through
`generator.cli.main` inside the test process, with the same working directory, environment and
captured streams, so that mutation testing sees the code the command runs.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def in_process() -> bool:
    return os.environ.get("LAPSE_CLI_IN_PROCESS") == "1" or "MUTANT_UNDER_TEST" in os.environ


def lapse(line: str, *, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run `lapse <line>` in `cwd`. Inherits no GitHub Actions variables unless given."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    environment = {**base, **(env or {})}
    if in_process():
        return _run_in_process(shlex.split(line), cwd=cwd, env=environment)
    done = subprocess.run(
        [sys.executable, "-m", "generator", *shlex.split(line)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    # The local zone is read once per process: tell the C library when TZ changes, both ways.
    try:
        with mock.patch.dict(os.environ, env, clear=True):
            time.tzset()
            yield
    finally:
        time.tzset()


def _run_in_process(argv: list[str], *, cwd: Path, env: dict[str, str]) -> Run:
    from generator.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        _environment(env),
        contextlib.chdir(cwd),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(argv)
    assert "Traceback" not in err.getvalue(), err.getvalue()
    return Run(code, out.getvalue(), err.getvalue())
