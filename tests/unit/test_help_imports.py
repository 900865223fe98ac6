"""A help text loads only what it shows: click, the standard library and lapse's command layer.

`lapse --help` and `lapse COMMAND --help` are asked for at a prompt and must answer at once;
PyGithub, Google's clients, jinja2, python-hcl2, jsonschema, rich, cel-python and even PyYAML
load when a command runs. Each help is asked for in one fresh process, in turn, and the
modules it brought in are listed; the test reads the modules, never the clock. `lapse render`
likewise loads no CEL evaluator: only `lapse simulate` judges conditions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import REPO

# Runs in the child: every help in turn, and the modules outside the standard library (and
# click, and lapse) that each one loaded first. `extra` is imported before the helps.
CHILD = """
import contextlib, io, json, sys
extra = sys.argv[1:]
before = set(sys.modules)
from generator.cli import cli, main
import click

def outside(names):
    roots = {name.split(".")[0] for name in names}
    return sorted(roots - set(sys.stdlib_module_names) - {"generator", "click"})

for name in extra:
    __import__(name)
helps = [[]]
context = click.Context(cli)
for name in cli.list_commands(context):
    command = cli.get_command(context, name)
    helps.append([name])
    for sub in sorted(getattr(command, "commands", {})):
        helps.append([name, sub])
loaded, seen = {}, set(sys.modules)
for words in helps:
    with contextlib.redirect_stdout(io.StringIO()) as shown:
        code = main([*words, "--help"])
    assert code == 0 and "Usage:" in shown.getvalue(), (words, code)
    loaded[" ".join(words) or "(lapse)"] = outside(set(sys.modules) - seen)
    seen = set(sys.modules)
loaded["(start)"] = outside(seen - before)
print(json.dumps(loaded))
"""


def _loaded(*extra: str) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout)
    assert isinstance(found, dict)
    return found


def test_no_help_loads_a_library_it_does_not_show() -> None:
    loaded = _loaded()
    assert len(loaded) >= 20  # lapse, every command (and subcommand), the start
    assert {"(lapse)", "validate", "render", "review", "doctor"} <= set(loaded)
    assert {help: found for help, found in loaded.items() if found} == {}


def test_the_check_sees_a_library_a_command_would_load() -> None:
    # A stage imported at module level by a command: its libraries show up in the listing.
    loaded = _loaded("generator.checks.loading", "generator.review.logging_source")
    assert {"yaml", "google", "requests"} <= set(loaded["(start)"])


RENDER = """
import contextlib, io, sys
from generator.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(["render", "--check", "--root", sys.argv[1]])
print(code, " ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_render_loads_no_cel(tmp_path: Path) -> None:
    # Its summary table names grants; only `lapse simulate` evaluates their conditions.
    env = {**os.environ, "LAPSE_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", RENDER, str(REPO)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    code, modules = done.stdout.split(" ", 1)
    assert code == "0"
    assert "yaml" in modules.split()  # it did read the requests
    assert "celpy" not in modules.split()
