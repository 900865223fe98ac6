"""How fast `lapse render` is, cold and in a pull request, next to parsing the YAML alone.

    python bench/render.py [--sizes 50,500,5000,20000] [--rounds 5] [--pr-base 5000]
                           [--rows-json PATH]

For each size one corpus of valid requests is built in a temporary directory, and fresh
processes are timed in paired rounds (medians, with the range seen):

  floor         a fresh Python reading every request and the policy with libyaml's C loader
  render cold   `lapse render` with no terraform/grants/ and an empty cache: every file
                rendered, verified and written (the last round's folder is set aside, and
                deleted when the benchmark ends)
  PR check      `lapse render --check` on a pull request that adds one request to --pr-base:
                the cache is the one the base branch's CI left (it rendered and checked the
                base), the new request's file was rendered by its author

Targets: render cold <= 5x the floor at 5,000 requests; the PR check <= 2x the floor.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import _corpus  # first: it makes `generator` this checkout's
import _timing

COLD_TARGET, COLD_TARGET_AT, PR_TARGET = 5.0, 5000, 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated corpus sizes")
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds per size")
    parser.add_argument("--pr-base", type=int, default=5000, help="requests before the PR")
    parser.add_argument("--rows-json", metavar="PATH", help="also write the rows as JSON")
    options = parser.parse_args()
    print(f"lapse render, whole processes, median of paired rounds; {_timing.load_line()}")
    print(_timing.TABLE_HEADER)
    found: list[_timing.Row] = []
    for row in rows(_timing.sizes(options.sizes), options.rounds, options.pr_base):
        print(row.text(), flush=True)
        found.append(row)
    _timing.write_rows(found, options.rows_json)


def rows(sizes: tuple[int, ...], rounds: int, pr_base: int) -> Iterator[_timing.Row]:
    """Every row of this benchmark, each as soon as it is measured."""
    for n in sizes:
        for root, files in _timing.corpus(n):
            yield from _cold(root, len(files), rounds)
    for root, files in _timing.corpus(pr_base + 1):
        yield from _pull_request(root, files, rounds)


def _cold(root: Path, n: int, rounds: int) -> Iterator[_timing.Row]:
    cache = Path(tempfile.mkdtemp(prefix="lapse-bench-cache-"))
    render = _timing.lapse(root, "render", cache=cache)

    def reset() -> None:  # the last round's files are set aside, not deleted (see set_aside)
        _corpus.set_aside(root / "terraform" / "grants")
        _corpus.set_aside(cache)

    commands = {
        "floor": _timing.floor(root),
        "cold": _timing.Command(render.argv, render.cwd, render.env, before=reset),
    }
    try:
        found = _timing.paired(commands, _timing.rounds_for(n, rounds))
    finally:
        _corpus.set_aside(cache)
    _check_written(root, n)
    floor, cold = found["floor"], found["cold"]
    target = COLD_TARGET if n == COLD_TARGET_AT else None
    yield _timing.measured(f"render n={n}: floor (libyaml, fresh process)", floor, 1.0)
    yield _timing.measured(f"render n={n}: cold / floor", cold, cold.median / floor.median, target)
    yield _timing.measured("  the same, CPU seconds / floor's", None, cold.cpu / floor.cpu, target)


def _pull_request(root: Path, files: list[Path], rounds: int) -> Iterator[_timing.Row]:
    added = files[-1]
    aside = root / added.name
    base_cache = Path(tempfile.mkdtemp(prefix="lapse-bench-base-"))
    cache = Path(tempfile.mkdtemp(prefix="lapse-bench-pr-"))
    try:
        added.rename(aside)  # the base branch: render it, and check it as its CI does
        _timing.paired({"base": _timing.lapse(root, "render", cache=base_cache)}, 1)
        _timing.paired({"base CI": _timing.lapse(root, "render", "--check", cache=base_cache)}, 1)
        aside.rename(added)  # the author renders the new request on their own machine
        _timing.paired({"author": _timing.lapse(root, "render")}, 1)
        _check_written(root, len(files))

        def restore() -> None:
            _corpus.set_aside(cache)
            shutil.copytree(base_cache, cache)

        check = _timing.lapse(root, "render", "--check", cache=cache)
        commands = {
            "floor": _timing.floor(root),
            "pr": _timing.Command(check.argv, check.cwd, check.env, before=restore),
        }
        found = _timing.paired(commands, rounds)
    finally:
        _corpus.set_aside(base_cache)
        _corpus.set_aside(cache)
    floor, pr = found["floor"], found["pr"]
    label = f"render PR +1 to {len(files) - 1}:"
    yield _timing.measured(f"{label} floor (libyaml, fresh process)", floor, 1.0)
    yield _timing.measured(f"{label} --check / floor", pr, pr.median / floor.median, PR_TARGET)
    yield _timing.measured("  the same, CPU seconds / floor's", None, pr.cpu / floor.cpu, PR_TARGET)


def _check_written(root: Path, expected: int) -> None:
    written = len(list((root / "terraform" / "grants").glob("*.tf")))
    if written != expected:
        raise SystemExit(f"render wrote {written} files for {expected} requests")


if __name__ == "__main__":
    main()
