"""How fast `lapse validate` is, next to parsing the YAML alone and next to check-jsonschema.

    python bench/validate.py [-n 5000] [--repeat 3]

One corpus of valid requests is built in a temporary directory; every figure is the best of
--repeat runs over it, measured in the same process run:

  (a) floor     read every request file and parse it with libyaml, in-process
  (b) lapse     validate_repo(...) in-process: schema, policy rules, audit coverage
  (c) lapse CLI `lapse validate --root DIR`, a subprocess (includes interpreter start-up)
  (d) peer      `check-jsonschema --schemafile ... FILES`, subprocess(es): schema only

Targets: (b)/(a) <= 2.0, and (c)/(d) < 1.0 (lapse, doing more, is still faster).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import _corpus  # first: it makes `generator` this checkout's

from generator.checks.validate import validate_repo
from generator.core.repo import Repo

BIN = Path(sys.executable).parent
# Characters of file names per check-jsonschema call: a quarter of what the OS accepts, so
# the peer pays its start-up as few times as the command line allows.
ARGS_BUDGET = os.sysconf("SC_ARG_MAX") // 4
FLOOR_TARGET, PEER_TARGET = 2.0, 1.0


def main() -> None:
    options = _corpus.options(__doc__ or "")
    with tempfile.TemporaryDirectory(prefix="lapse-bench-") as folder:
        root = Path(folder)
        files = _corpus.make_repo(root, options.n)
        print(f"corpus: {len(files)} requests {_corpus.group_sizes(files)} in {root}")
        _report(root, files, options.repeat)


def _report(root: Path, files: list[Path], repeat: int) -> None:
    _check_in_process(root)
    floor = _corpus.best_of(repeat, lambda: _corpus.yaml_floor(files))
    lapse = _corpus.best_of(repeat, lambda: _validate(root))
    cli = _corpus.best_of(
        repeat, lambda: _run([str(BIN / "lapse"), "validate", "--root", "."], root)
    )
    peer = _corpus.best_of(repeat, lambda: _peer(root, files))
    print(f"\nseconds, best of {repeat}:")
    rows = [
        ("(a) floor: libyaml load, in-process", floor),
        ("(b) lapse validate_repo, in-process", lapse),
        ("(c) lapse validate, subprocess", cli),
        (f"(d) check-jsonschema, {_calls(root, files)} subprocess(es)", peer),
    ]
    print("\n".join(_corpus.table(rows)))
    print("\nratios:")
    print(_corpus.verdict("(b)/(a) in-process vs floor", lapse / floor, FLOOR_TARGET))
    print(_corpus.verdict("(c)/(d) CLI vs check-jsonschema", cli / peer, PEER_TARGET, strict=True))
    print("\nprofile of (b), top 8 by cumulative time:")
    print("\n".join(_corpus.profile_top(lambda: _validate(root))))


def _validate(root: Path) -> None:
    validate_repo(Repo.at(root), now=datetime.now(UTC))


def _check_in_process(root: Path) -> None:
    errors = validate_repo(Repo.at(root), now=datetime.now(UTC)).errors
    if errors:
        sys.exit(f"the corpus is not valid: {errors[0]}")


def _peer(root: Path, files: list[Path]) -> None:
    schema = str(root / "schemas" / "access-request.schema.json")
    for chunk in _chunks(_names(root, files), ARGS_BUDGET):
        _run([str(BIN / "check-jsonschema"), "--schemafile", schema, *chunk], root)


def _calls(root: Path, files: list[Path]) -> int:
    return sum(1 for _ in _chunks(_names(root, files), ARGS_BUDGET))


def _names(root: Path, files: list[Path]) -> list[str]:
    return [path.relative_to(root).as_posix() for path in files]


def _chunks(names: list[str], budget: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    used = 0
    for name in names:
        if chunk and used + len(name) + 1 > budget:
            yield chunk
            chunk, used = [], 0
        chunk.append(name)
        used += len(name) + 1
    if chunk:
        yield chunk


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True, env=_env())
    if done.returncode != 0:
        sys.exit(f"{command[0]} exited {done.returncode}:\n{done.stdout}{done.stderr}")


def _env() -> dict[str, str]:
    return {**_corpus.source_env(), "NO_COLOR": "1", "GITHUB_ACTIONS": "false"}


if __name__ == "__main__":
    main()
