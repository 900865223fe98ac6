"""Run the pipeline fuzz target far longer than CI does.

    python bench/fuzz.py [--examples 50000] [--seed N]

Prints how many examples were rendered, refused, and how long each took on average; any
failure is shrunk by hypothesis and printed as a minimal reproducing request.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fuzzing import check_pipeline, request_texts
from tests.support import make_repo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=None)
    options = parser.parse_args()
    outcomes: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as folder:
        root = make_repo(Path(folder))

        @settings(
            max_examples=options.examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=request_texts())
        def target(case: tuple[str, str]) -> None:
            outcomes["rendered" if check_pipeline(root, *case) else "refused"] += 1

        if options.seed is not None:
            target = seed(options.seed)(target)
        started = time.perf_counter()
        target()
        elapsed = time.perf_counter() - started
    total = sum(outcomes.values())
    print(
        f"{total} examples in {elapsed:.1f}s ({elapsed / max(total, 1) * 1000:.2f} ms each): "
        f"{outcomes['rendered']} rendered and proven to expire, {outcomes['refused']} refused"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
