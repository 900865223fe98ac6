"""Whole-process timing the command benchmarks share: paired runs, medians, one table.

Every figure is the median wall time of a fresh process. The commands of one row are run in
rounds, each round running every command once in a rotating order, so that a noisy neighbour
on a shared machine slows all of them alike rather than one of them.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import _corpus

BIN = Path(sys.executable).parent
# A fresh process reading and parsing the same files with libyaml: the least any tool can do.
FLOOR_CODE = """
import sys, yaml
from pathlib import Path
root = Path(sys.argv[1])
paths = sorted(root.joinpath("requests").rglob("*.yaml")) + [root / "policy" / "policy.yaml"]
for path in paths:
    yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
"""
DEFAULT_SIZES = (50, 500, 5000, 20000)


@dataclass(frozen=True, slots=True)
class Command:
    """One process to time; `before` runs untimed ahead of each run (to reset state)."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    before: Callable[[], object] | None = None


@dataclass(frozen=True, slots=True)
class Spread:
    median: float
    low: float
    high: float
    cpu: float  # median user + system seconds of the process: what contention inflates least

    def __str__(self) -> str:
        return f"{self.median:7.3f} s [{self.low:.3f}-{self.high:.3f}]"


def floor(root: Path) -> Command:
    return Command([sys.executable, "-c", FLOOR_CODE, str(root)], root, os.environ.copy())


def lapse(root: Path, *args: str, cache: Path | str = "off") -> Command:
    env = {**_corpus.source_env(), "NO_COLOR": "1", "GITHUB_ACTIONS": "false"}
    env["LAPSE_CACHE_DIR"] = str(cache)
    # As installed: Python keeps compiled modules, so start-up is not a compile of lapse.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return Command([str(BIN / "lapse"), *args], root, env)


def paired(commands: dict[str, Command], rounds: int) -> dict[str, Spread]:
    """Median (and range) of `rounds` runs of each command, interleaved."""
    names = list(commands)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_run(commands[name]))
    spreads: dict[str, Spread] = {}
    for name, found in times.items():
        wall = [w for w, _ in found]
        cpu = statistics.median(c for _, c in found)
        spreads[name] = Spread(statistics.median(wall), min(wall), max(wall), cpu)
    return spreads


def _run(command: Command) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    if command.before is not None:
        command.before()
    used = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        command.argv, cwd=command.cwd, env=command.env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{command.argv[:3]} exited {done.returncode}:\n{done.stdout}{done.stderr}"[:4000])
    return elapsed, _children_cpu() - used


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def verdict(ratio: float, target: float | None, *, strict: bool = False) -> str:
    if target is None:
        return f"{ratio:6.2f}  {'':>12}  -"
    met = ratio < target if strict else ratio <= target
    sign = "<" if strict else "<="
    return f"{ratio:6.2f}  {sign + ' ' + format(target, '.1f'):>12}  {'PASS' if met else 'MISS'}"


def header() -> str:
    return f"  {'row':<40} {'seconds (median [range])':<28} {'ratio':>6}  {'target':>12}  result"


def row(label: str, spread: Spread, ratio: float, target: float | None, **kw: bool) -> str:
    return f"  {label:<40} {spread!s:<28} {verdict(ratio, target, **kw)}"


def sizes(text: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",")) if text else DEFAULT_SIZES


def corpus(n: int) -> Iterator[tuple[Path, list[Path]]]:  # a one-shot generator
    """A fresh corpus of `n` requests in a temporary directory, removed afterwards."""
    folder = tempfile.mkdtemp(prefix=f"lapse-bench-{n}-")
    try:
        root = Path(folder)
        yield root, _corpus.make_repo(root, n)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def rounds_for(n: int, rounds: int) -> int:
    """Fewer rounds for the big corpora: each one costs tens of seconds on a shared machine."""
    return max(3, rounds // 2) if n >= 20000 else rounds
