"""How fast `lapse validate` is, next to parsing the YAML alone and next to check-jsonschema.

    python bench/validate.py [--sizes 5,50,500,5000,20000] [--rounds 5]

For each size one corpus of valid requests is built in a temporary directory, and three fresh
processes are timed in paired rounds (medians, with the range seen):

  floor   a fresh Python reading every request and the policy with libyaml's C loader
  lapse   `lapse validate` (schema, policy rules, audit coverage), with a warm local cache
  peer    `check-jsonschema --schemafile ... FILES`: the schema alone

Targets: lapse faster than the peer at every size; lapse <= 2x the floor at 5,000 requests;
`lapse validate` on this repository's own samples under 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import _corpus  # first: it makes `generator` this checkout's
import _timing

ARGS_BUDGET = os.sysconf("SC_ARG_MAX") // 4
FLOOR_TARGET, FLOOR_TARGET_AT, PEER_TARGET, SAMPLES_TARGET = 2.0, 5000, 1.0, 0.3
NOW = "2026-12-01T00:00:00Z"  # the corpus is for 2027: every request is still to come


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated corpus sizes")
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds per size")
    options = parser.parse_args()
    sizes = _timing.sizes(options.sizes) if options.sizes else (5, *_timing.DEFAULT_SIZES)
    print("lapse validate, whole processes, median of paired rounds")
    print(_timing.header())
    with tempfile.TemporaryDirectory(prefix="lapse-bench-cache-") as cache:
        print("\n".join(_samples(Path(cache), options.rounds)))
        for n in sizes:
            for root, files in _timing.corpus(n):
                print("\n".join(_size(root, files, Path(cache), options.rounds)))


def _samples(cache: Path, rounds: int) -> Iterator[str]:
    command = _timing.lapse(_corpus.SOURCE, "validate", cache=cache)
    _timing.paired({"warm": command}, 1)  # fills the audit-coverage cache
    spread = _timing.paired({"lapse": command}, rounds)["lapse"]
    yield _timing.row("this repository's samples (seconds)", spread, spread.median, SAMPLES_TARGET)
    # On a shared machine the wall clock also counts other people's work: the CPU time the
    # process used is the same figure without the waiting.
    yield _timing.row(
        "  the same, CPU seconds of the process", spread, spread.cpu, SAMPLES_TARGET
    )


def _size(root: Path, files: list[Path], cache: Path, rounds: int) -> Iterator[str]:
    commands = {
        "floor": _timing.floor(root),
        "lapse": _timing.lapse(root, "validate", "--now", NOW, cache=cache),
        "peer": _peer(root, files),
    }
    _timing.paired({"warm": commands["lapse"]}, 1)
    found = _timing.paired(commands, _timing.rounds_for(len(files), rounds))
    floor, lapse, peer = found["floor"], found["lapse"], found["peer"]
    at_target = FLOOR_TARGET if len(files) == FLOOR_TARGET_AT else None
    n = f"n={len(files)}"
    yield _timing.row(f"{n} floor (libyaml, fresh process)", floor, 1.0, None)
    yield _timing.row(f"{n} lapse validate / floor", lapse, lapse.median / floor.median, at_target)
    yield _timing.row(
        f"{n} check-jsonschema (lapse / peer)",
        peer,
        lapse.median / peer.median,
        PEER_TARGET,
        strict=True,
    )


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
