"""`lapse` ends as soon as its work is done, and loses nothing by it (`cli.run`).

The interpreter's teardown of what a run read is skipped; the exit handlers still run (a
temporary folder is removed by one), the output still arrives whole through a pipe, and the exit
code is the command's. Under a profiler the interpreter exits as usual, so the profile is kept.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import REPO

CHILD = """
import atexit, os, sys, tempfile
from generator import cli

folder = tempfile.TemporaryDirectory(prefix="lapse-exit-")  # removed by an exit handler
print(folder.name, file=sys.stderr, flush=True)


class Torn:
    def __del__(self, write=os.write):
        write(2, b"torn down\\n")


kept = Torn()  # deleted only when the interpreter tears its modules down


def main(argv=None):
    sys.stdout.write("x" * 1_000_000)  # still in the buffer when the command returns
    return 3


cli.main = main
atexit.register(lambda: sys.stdout.write("handler ran\\n"))
if sys.argv[1:] == ["profiled"]:
    sys.setprofile(lambda *_: None)
cli.run()
raise AssertionError("run returned")
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_command_ends_without_teardown_and_loses_nothing() -> None:
    done = _run()
    assert done.returncode == 3, done.stderr
    assert done.stdout == "x" * 1_000_000 + "handler ran\n"
    folder = Path(done.stderr.splitlines()[0])
    assert folder.name.startswith("lapse-exit-")
    assert not folder.exists()
    assert "torn down" not in done.stderr
    assert "AssertionError" not in done.stderr


def test_under_a_profiler_the_interpreter_exits_as_usual() -> None:
    done = _run("profiled")
    assert done.returncode == 3, done.stderr
    assert done.stdout == "x" * 1_000_000 + "handler ran\n"
    assert not Path(done.stderr.splitlines()[0]).exists()
    assert "torn down" in done.stderr
