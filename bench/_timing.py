"""Whole-process timing the command benchmarks share: paired runs, medians, one table.

Every figure is the median wall time of a fresh process, start-up and output included. The
commands of one row are run in rounds, each round running every command once in a rotating
order, so that a noisy neighbour on a shared machine slows all of them alike rather than one
of them. Each process's CPU time and peak RSS are read from the OS (wait4), and each row notes
the machine's load average when it was measured.
"""

from __future__ import annotations

import json
import os
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
    rss_kib: float = 0.0  # median peak resident set of the process, as the OS counts it

    def __str__(self) -> str:
        return f"{self.median:7.3f} s [{self.low:.3f}-{self.high:.3f}]"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a table: a figure, its ratio (or value), the limit and whether it is met."""

    label: str
    spread: Spread | None
    ratio: float | None
    target: float | None = None
    strict: bool = False
    load: float = -1.0  # the 1-minute load average when measured
    note: str = ""  # what stands instead of a figure (not measured, and why)

    @property
    def result(self) -> str:
        if self.ratio is None or self.target is None:
            return "-"
        met = self.ratio < self.target if self.strict else self.ratio <= self.target
        return "PASS" if met else "MISS"

    def text(self) -> str:
        if self.note:
            return f"  {self.label:<54} {self.note}"
        spread = str(self.spread) if self.spread else ""
        ratio = "" if self.ratio is None else f"{self.ratio:6.2f}"
        limit = "" if self.target is None else ("< " if self.strict else "<= ") + f"{self.target:g}"
        return (
            f"  {self.label:<54} {spread:<28} {ratio:>6}  {limit:>8}  {self.result:<6}"
            f"{self.load:5.1f}"
        )

    def as_json(self) -> dict[str, object]:
        spread = self.spread
        return {
            "row": self.label,
            "median": spread.median if spread else None,
            "min": spread.low if spread else None,
            "max": spread.high if spread else None,
            "ratio": self.ratio,
            "limit": self.target,
            "strict": self.strict,
            "result": self.result,
            "load": self.load,
            "note": self.note,
        }


TABLE_HEADER = (
    f"  {'row':<54} {'seconds: median [min-max]':<28} {'ratio':>6}  {'limit':>8}  "
    f"{'result':<6}{'load':>5}"
)


def load_now() -> float:
    return os.getloadavg()[0]


def measured(
    label: str,
    spread: Spread | None,
    ratio: float | None,
    target: float | None = None,
    *,
    strict: bool = False,
) -> Row:
    return Row(label, spread, ratio, target, strict, load_now())


def write_rows(rows: list[Row], path: str | None) -> None:
    """`--rows-json PATH`: the rows for bench/all.py's one table."""
    if path:
        Path(path).write_text(json.dumps([r.as_json() for r in rows], indent=1), encoding="utf-8")


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


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
    times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_run(commands[name]))
    spreads: dict[str, Spread] = {}
    for name, found in times.items():
        wall = [w for w, _, _ in found]
        cpu = statistics.median(c for _, c, _ in found)
        rss = statistics.median(r for _, _, r in found)
        spreads[name] = Spread(statistics.median(wall), min(wall), max(wall), cpu, rss)
    return spreads


def _run(command: Command) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (KiB) of one run, from the OS (wait4)."""
    if command.before is not None:
        command.before()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            command.argv, cwd=command.cwd, env=command.env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            out.seek(0)
            err.seek(0)
            shown = (out.read() + err.read()).decode(errors="replace")
            sys.exit(f"{command.argv[:3]} exited {child.returncode}:\n{shown}"[:4000])
    return elapsed, usage.ru_utime + usage.ru_stime, float(usage.ru_maxrss)


def sizes(text: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",")) if text else DEFAULT_SIZES


def corpus(n: int) -> Iterator[tuple[Path, list[Path]]]:  # a one-shot generator
    """A fresh corpus of `n` requests in a temporary directory, set aside afterwards."""
    root = Path(tempfile.mkdtemp(prefix=f"lapse-bench-{n}-"))
    try:
        files = _corpus.make_repo(root, n)
        os.sync()  # no timed run competes with writing out the files just made
        yield root, files
    finally:
        _corpus.set_aside(root)


def rounds_for(n: int, rounds: int) -> int:
    """Fewer rounds for the big corpora: each one costs tens of seconds on a shared machine."""
    return max(3, rounds // 2) if n >= 20000 else rounds
