"""How fast `lapse validate` is, next to parsing the YAML alone and next to check-jsonschema.

    python bench/validate.py [--sizes 5,50,500,5000,20000] [--rounds 5] [--rows-json PATH]

For each size one corpus of valid requests is built in a temporary directory, and three fresh
processes are timed in paired rounds (medians, with the range seen):

  floor   a fresh Python reading every request and the policy with libyaml's C loader
  lapse   `lapse validate` (schema, policy rules, audit coverage), with a warm local cache
  peer    `check-jsonschema --schemafile ... FILES`: the schema alone

Targets: lapse faster than the peer at every size; lapse <= 1.5x the floor at 5,000 requests;
`lapse validate` on this repository's own samples under 0.3 s; the process's peak RSS (as the
OS counts it) grows by less than 3 KiB a request, from the second-smallest size to the largest.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import _corpus  # first: it makes `generator` this checkout's
import _timing

ARGS_BUDGET = os.sysconf("SC_ARG_MAX") // 4
FLOOR_TARGET, FLOOR_TARGET_AT, PEER_TARGET, SAMPLES_TARGET = 1.5, 5000, 1.0, 0.3
MEMORY_TARGET_KIB = 3.0
NOW = "2026-12-01T00:00:00Z"  # the corpus is for 2027: every request is still to come


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated corpus sizes")
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds per size")
    parser.add_argument("--rows-json", metavar="PATH", help="also write the rows as JSON")
    options = parser.parse_args()
    sizes = _timing.sizes(options.sizes) if options.sizes else (5, *_timing.DEFAULT_SIZES)
    print(f"lapse validate, whole processes, median of paired rounds; {_timing.load_line()}")
    print(_timing.TABLE_HEADER)
    found: list[_timing.Row] = []
    for row in rows(sizes, options.rounds):
        print(row.text(), flush=True)
        found.append(row)
    _timing.write_rows(found, options.rows_json)


def rows(sizes: tuple[int, ...], rounds: int) -> Iterator[_timing.Row]:
    """Every row of this benchmark, each as soon as it is measured."""
    peaks: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="lapse-bench-cache-") as cache:
        yield from _samples(Path(cache), rounds)
        for n in sizes:
            for root, files in _timing.corpus(n):
                yield from _size(root, files, Path(cache), rounds, peaks)
    yield from _memory(peaks)


def _samples(cache: Path, rounds: int) -> Iterator[_timing.Row]:
    command = _timing.lapse(_corpus.SOURCE, "validate", cache=cache)
    _timing.paired({"warm": command}, 1)  # fills the audit-coverage cache
    files = sorted((_corpus.SOURCE / "requests").rglob("*.yaml"))
    peer_root = Path(tempfile.mkdtemp(prefix="lapse-bench-peer-"))
    try:  # the peer's script is written beside the files it names, as for the corpora
        shutil.copytree(_corpus.SOURCE / "requests", peer_root / "requests")
        shutil.copytree(_corpus.SOURCE / "schemas", peer_root / "schemas")
        peer = _peer(peer_root, [peer_root / f.relative_to(_corpus.SOURCE) for f in files])
        found = _timing.paired({"lapse": command, "peer": peer}, rounds)
    finally:
        _corpus.set_aside(peer_root)
    spread, peer_spread = found["lapse"], found["peer"]
    yield _timing.measured(
        "validate: samples, lapse / check-jsonschema",
        peer_spread,
        spread.median / peer_spread.median,
        PEER_TARGET,
        strict=True,
    )
    yield _timing.measured(
        "validate: this repository's samples (s)", spread, spread.median, SAMPLES_TARGET
    )
    # On a shared machine the wall clock also counts other people's work: the CPU time the
    # process used is the same figure without the waiting.
    yield _timing.measured(
        "  the same, CPU seconds of the process", None, spread.cpu, SAMPLES_TARGET
    )


def _size(
    root: Path, files: list[Path], cache: Path, rounds: int, peaks: dict[int, float]
) -> Iterator[_timing.Row]:
    commands = {
        "floor": _timing.floor(root),
        "lapse": _timing.lapse(root, "validate", "--now", NOW, cache=cache),
        "peer": _peer(root, files),
    }
    _timing.paired({"warm": commands["lapse"]}, 1)
    found = _timing.paired(commands, _timing.rounds_for(len(files), rounds))
    floor, lapse, peer = found["floor"], found["lapse"], found["peer"]
    peaks[len(files)] = lapse.rss_kib
    at_target = FLOOR_TARGET if len(files) == FLOOR_TARGET_AT else None
    n = f"n={len(files)}"
    yield _timing.measured(f"validate {n}: floor (libyaml, fresh process)", floor, 1.0)
    yield _timing.measured(
        f"validate {n}: lapse / floor", lapse, lapse.median / floor.median, at_target
    )
    yield _timing.measured(
        "  the same, CPU seconds / floor's", None, lapse.cpu / floor.cpu, at_target
    )
    yield _timing.measured(
        f"validate {n}: lapse / check-jsonschema",
        peer,
        lapse.median / peer.median,
        PEER_TARGET,
        strict=True,
    )


def _memory(peaks: dict[int, float]) -> Iterator[_timing.Row]:
    """Peak RSS per request: the slope from the second-smallest corpus to the largest, so that
    start-up and the policy (the same at every size) do not count."""
    sizes = sorted(peaks)
    if len(sizes) < 3:
        return
    low, high = sizes[1], sizes[-1]
    slope = (peaks[high] - peaks[low]) / (high - low)
    yield _timing.measured(
        f"validate: peak RSS per request, n={low}->{high} (KiB)", None, slope, MEMORY_TARGET_KIB
    )
    for n in (low, high):
        yield _timing.measured(f"  peak RSS at n={n} (MiB)", None, peaks[n] / 1024)


def _peer(root: Path, files: list[Path]) -> _timing.Command:
    """check-jsonschema on every file; one shell runs the calls the command line needs."""
    schema = str(root / "schemas" / "access-request.schema.json")
    names = [path.relative_to(root).as_posix() for path in files]
    calls = [
        " ".join([str(_timing.BIN / "check-jsonschema"), "--schemafile", schema, *chunk])
        for chunk in _chunks(names, ARGS_BUDGET)
    ]
    script = root / ".peer.sh"
    script.write_text("set -e\n" + "\n".join(calls) + "\n", encoding="utf-8")
    return _timing.Command(["sh", str(script)], root, os.environ.copy())


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


if __name__ == "__main__":
    main()
