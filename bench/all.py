"""Every command benchmark in one run: validate, render, review; each prints its PASS/MISS rows.

    python bench/all.py [--quick]

validate and render run at 50, 500, 5,000 and 20,000 requests (validate also at 5, and on this
repository's samples), render also for a pull request adding one request to 5,000; review runs
bench/review.py at 250,000 and 1,000,000 audit entries, and `lapse review` whole-process with
20,000 archived requests outside the period next to 50. --quick stops at 5,000 and 250,000.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import _timing  # imports _corpus first: it makes `generator` this checkout's

HERE = Path(__file__).resolve().parent
ARCHIVE_TARGET = 1.2  # 20,000 archived requests outside the period cost (almost) nothing
UNTIL = "2026-12-01T00:00:00Z"  # the corpus is for 2027: nothing archived is due


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the largest sizes")
    parser.add_argument("--rounds", type=int, default=5)
    quick = parser.parse_args().quick
    rounds = str(parser.parse_args().rounds)
    sizes = "50,500,5000" if quick else "50,500,5000,20000"
    _script("validate.py", "--sizes", f"5,{sizes}", "--rounds", rounds)
    _script("render.py", "--sizes", sizes, "--rounds", rounds)
    # review.py measures N/4 and N itself: 62,500 and 250,000 quick, else 250,000 and 1,000,000.
    _script("review.py", "--entries", "250000" if quick else "1000000", "--rounds", rounds)
    print("\nlapse review, whole processes, median of paired rounds")
    print(_timing.header())
    print("\n".join(_archived(50, 2000 if quick else 20000, int(rounds))))


def _script(name: str, *args: str) -> None:
    print(f"\n==> bench/{name} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(HERE / name), *args], check=False)


def _archived(few: int, many: int, rounds: int) -> Iterator[str]:
    """One repository (policy, Terraform) with `many` archived requests, and a copy of it that
    keeps only `few`: the two differ in the size of archive/ alone."""
    commands: dict[str, _timing.Command] = {}
    folders: list[Path] = []
    for root, _ in _timing.corpus(many):
        _archive_by_month(root)
        (root / "audit.jsonl").write_text("", encoding="utf-8")
        for label in ("many", "few"):
            kept = Path(f"{root}-{label}")
            shutil.copytree(root, kept)
            folders.append(kept)
            if label == "few":
                for extra in sorted((kept / "archive").rglob("*.yaml"))[few:]:
                    extra.unlink()
            args = ("review", "--source", "file:audit.jsonl", "--until", UNTIL, "--root", ".")
            commands[label] = _timing.lapse(kept, *args)
    try:
        found = _timing.paired(commands, rounds)
    finally:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    ratio = found["many"].median / found["few"].median
    yield _timing.row(f"{few} archived requests", found["few"], 1.0, None)
    yield _timing.row(f"{many} archived / {few} archived", found["many"], ratio, ARCHIVE_TARGET)


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
