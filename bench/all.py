"""Every target of the command benchmarks in one table: help, validate, render, memory, review.

    python bench/all.py [--quick] [--rounds 5]

Every figure is a whole process (start-up and output included), timed in paired rounds on
this machine, with median, min and max, the limit, PASS or MISS, and the 1-minute load
average when the row was measured:

  help      `lapse --help` and every `lapse COMMAND --help` (the slowest shown), under 0.25 s
  validate  at 5 to 20,000 requests (bench/validate.py): <= 1.5x the libyaml floor at 5,000,
            below check-jsonschema, the samples under 0.3 s, peak RSS < 3 KiB a request
  render    cold at 50 to 20,000 (bench/render.py): <= 5x the floor at 5,000; a pull request
            adding one request to 5,000, `render --check` <= 2x
  review    bench/review.py at 250,000 and 1,000,000 audit entries, read from the rows it
            writes with `--rows-json PATH` (a JSON list of objects with "row", "median",
            "min", "max", "ratio", "limit", "result"); and `lapse review` with 20,000
            archived requests outside the period next to 50

--quick stops at 5,000 requests and 250,000 entries.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import _corpus  # first: it makes `generator` this checkout's
import _timing
import render as render_bench
import validate as validate_bench

HERE = Path(__file__).resolve().parent
HELP_TARGET = 0.25  # seconds, wall, on a quiet machine
ARCHIVE_TARGET = 1.2  # 20,000 archived requests outside the period cost (almost) nothing
UNTIL = "2026-12-01T00:00:00Z"  # the corpus is for 2027: nothing archived is due


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the largest sizes")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    quick, rounds = options.quick, options.rounds
    sizes = (50, 500, 5000) if quick else (50, 500, 5000, 20000)
    print(f"lapse, whole processes, median of paired rounds; at start: {_timing.load_line()}")
    print(_timing.TABLE_HEADER)
    rows: list[_timing.Row] = []
    sections = (
        _help(rounds),
        validate_bench.rows((5, *sizes), rounds),
        render_bench.rows(sizes, rounds, 5000),
        _review(250_000 if quick else 1_000_000, rounds),
        _archived(50, 2000 if quick else 20000, rounds),
    )
    for section in sections:
        for row in section:
            print(row.text(), flush=True)
            rows.append(row)
    judged = [row.result for row in rows if row.result != "-"]
    print(
        f"{judged.count('PASS')} PASS, {judged.count('MISS')} MISS; at end: {_timing.load_line()}"
    )


def _help(rounds: int) -> Iterator[_timing.Row]:
    """`lapse --help`, and each command's: the slowest of them against the limit."""
    from generator.cli import COMMANDS  # noqa: PLC0415 - after _corpus

    helps = {
        name or "lapse": _timing.lapse(_corpus.SOURCE, *([name] if name else []), "--help")
        for name in ["", *sorted(COMMANDS)]
    }
    found = _timing.paired(helps, rounds)
    top = found.pop("lapse")
    yield _timing.measured("help: lapse --help (s)", top, top.median, HELP_TARGET, strict=True)
    name, slowest = max(found.items(), key=lambda item: item[1].median)
    yield _timing.measured(
        f"help: slowest lapse COMMAND --help ({name}) (s)",
        slowest,
        slowest.median,
        HELP_TARGET,
        strict=True,
    )
    heaviest = max(found.values(), key=lambda spread: spread.cpu)
    yield _timing.measured(
        "  the heaviest help, CPU seconds", None, heaviest.cpu, HELP_TARGET, strict=True
    )


def _review(entries: int, rounds: int) -> Iterator[_timing.Row]:
    """bench/review.py's rows (it measures entries/4 and entries), when it writes them; else one
    row saying so."""
    script = HERE / "review.py"
    usage = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=False
    )
    label = f"review {entries:,} entries"
    if "--rows-json" not in usage.stdout:
        yield _timing.Row(label, None, None, note="review: not measured (no --rows-json)")
        return
    with tempfile.TemporaryDirectory(prefix="lapse-bench-review-") as folder:
        written = Path(folder) / "rows.json"
        args = [sys.executable, str(script), "--entries", str(entries), "--rounds", str(rounds)]
        done = subprocess.run(
            [*args, "--rows-json", str(written)], capture_output=True, text=True, check=False
        )
        if done.returncode not in (0, 1) or not written.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            yield _timing.Row(label, None, None, note=f"review: not measured ({tail[0]})")
            return
        for item in json.loads(written.read_text(encoding="utf-8")):
            yield _review_row(item)


def _review_row(item: dict[str, object]) -> _timing.Row:
    def number(*keys: str) -> float | None:
        found = next((item[k] for k in keys if isinstance(item.get(k), int | float)), None)
        return float(found) if isinstance(found, int | float) else None

    median, low, high = number("median"), number("min", "low"), number("max", "high")
    spread = (
        _timing.Spread(median, low if low is not None else median, high or median, 0.0)
        if median is not None
        else None
    )
    label = str(item.get("row") or item.get("label") or "review")
    load = number("load")
    return _timing.Row(
        label,
        spread,
        number("ratio", "value"),
        number("limit", "target"),
        bool(item.get("strict")),
        load if load is not None else _timing.load_now(),
        note=str(item.get("note") or ""),
    )


def _archived(few: int, many: int, rounds: int) -> Iterator[_timing.Row]:
    """One repository (policy, Terraform) with `many` archived requests, and a copy of it that
    keeps only `few`: the two differ in the size of archive/ alone."""
    commands: dict[str, _timing.Command] = {}
    folders: list[Path] = []
    for root, _ in _timing.corpus(many):
        _archive_by_month(root)
        (root / "audit.jsonl").write_text("", encoding="utf-8")
        archived = sorted((root / "archive").rglob("*.yaml"))
        for label, kept_files in (("many", archived), ("few", archived[:few])):
            kept = Path(f"{root}-{label}")
            shutil.copytree(root, kept, ignore=shutil.ignore_patterns("archive"))
            for file in kept_files:  # copied, not deleted from a full copy: see set_aside
                copy = kept / file.relative_to(root)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, copy)
            folders.append(kept)
            args = ("review", "--source", "file:audit.jsonl", "--until", UNTIL, "--root", ".")
            commands[label] = _timing.lapse(kept, *args)
    try:
        found = _timing.paired(commands, rounds)
    finally:
        for folder in folders:
            _corpus.set_aside(folder)
    ratio = found["many"].median / found["few"].median
    yield _timing.measured(f"review: {few} archived requests", found["few"], 1.0)
    yield _timing.measured(
        f"review: {many} archived / {few} archived", found["many"], ratio, ARCHIVE_TARGET
    )


def _archive_by_month(root: Path) -> None:
    """Moves every request to where `lapse expire` files it: the month its window ended."""
    from generator.checks.archive_ends import archived_end  # noqa: PLC0415 - after _corpus
    from generator.core.request_paths import archive_path, parse_request_path  # noqa: PLC0415

    for file in sorted((root / "requests").rglob("*.yaml")):
        name = file.relative_to(root).as_posix()
        where, end = parse_request_path(name), archived_end(name, file)
        if where is None or end.expires is None:
            raise SystemExit(f"{name}: the corpus should hold only valid requests")
        moved = root / archive_path(where.target, where.id, end.expires, emergency=where.emergency)
        moved.parent.mkdir(parents=True, exist_ok=True)
        file.rename(moved)
    shutil.rmtree(root / "requests")
    (root / "requests").mkdir()


if __name__ == "__main__":
    main()
