"""How fast and how lean `lapse review --source file:` reads an exported audit log, as a process.

Generates JSON-lines exports (Cloud Storage sink layout) of N/4 and N entries, with 3% and with
30% of the lines from ~200 grantees (the rest from service accounts and other people), and a
repository whose archive holds the grantees' requests. Then, per export, in paired rounds (each
round runs both, in alternating order):

  floor  a fresh Python process that reads every line and orjson.loads it;
  lapse  `lapse review --source file:EXPORT` from start-up to the reports written.

Every figure is a whole process, timed from the outside, reading the export from memory (it
is read, untimed, before each run). lapse reads a large export in parts,
one forked process per processor it may use (`generator/review/shards.py`); the floor is one
process, as a plain parse is. Printed per export: the median of the per-round ratio lapse /
floor with its min and max, and the peak resident memory of the lapse process as the OS
measured it (`ru_maxrss` of the waited child, which on Linux is the largest of it and of the
children it waited for: the peak of any one process, not their sum). Targets, each printed PASS or
MISS with its limit: the ratio's median at most 1.5 at every size from 250,000 entries and at
every share (a smaller size is shown, unjudged), and lapse's peak RSS at N within 10% of that at
N/4, for each share. The CPU seconds (user + system) of both
processes are printed beside, with their ratio: on a busy machine wall time also measures the
neighbours, CPU time only the work.

    python bench/review.py [--entries N] [--grantees G] [--rounds R] [--seed S] [--profile]

--profile runs lapse once more under cProfile on the N, 30% export and prints where the
time went (a profiled run, slower than the timed ones).
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _corpus  # first: it makes `generator` this checkout's
import orjson

from generator.review.shards import MOST_PARTS, processors

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PERIOD_START = datetime(2026, 11, 1, tzinfo=UTC)
PERIOD = timedelta(days=30)
WINDOW = timedelta(hours=4)
SHARES = (0.03, 0.30)
RATIO_TARGET = 1.5
# The ratio is a target from this size on; below it (`--entries` under 1,000,000 measures
# N/4 too) the fixed costs of a run weigh more than the reading, and the row is shown unjudged.
TARGET_FROM = 250_000
RSS_GROWTH = 0.10
USER_AGENT = "google-cloud-sdk gcloud/502.0.0 command/gcloud.storage.cp (gzip),gzip(gfe)"
FLOOR_CODE = """
import sys, orjson
with open(sys.argv[1], "rb") as stream:
    for line in stream:
        orjson.loads(line)
"""


def grantee(index: int) -> str:
    return f"engineer-{index:03d}@example.com"


def window_start(index: int, grantees: int) -> datetime:
    step = (PERIOD - WINDOW * 2) / grantees
    return PERIOD_START + step * index


def entry(rng: random.Random, at: datetime, principal: str, number: int) -> dict[str, Any]:
    """One data-access entry shaped like a real one (about 1 KiB as JSON)."""
    if rng.random() < 0.5:
        service, method = "storage.googleapis.com", "storage.objects.get"
        name = (
            f"projects/_/buckets/settlement-exports/objects/2026-11/batch-{rng.randrange(9999)}.csv"
        )
        labels = {"bucket_name": "settlement-exports", "project_id": "pci-prod-payments"}
        kind = "gcs_bucket"
    else:
        service, method = "cloudsql.googleapis.com", "cloudsql.instances.connect"
        name = "instances/settlement-db"
        labels = {
            "database_id": "pci-prod-payments:settlement-db",
            "project_id": "pci-prod-payments",
        }
        kind = "cloudsql_database"
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S") + f".{rng.randrange(10**9):09d}Z"
    return {
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {
                "principalEmail": principal,
                "principalSubject": f"user:{principal}",
            },
            "requestMetadata": {
                "callerIp": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                "callerSuppliedUserAgent": USER_AGENT,
                "requestAttributes": {"time": stamp, "auth": {}},
                "destinationAttributes": {},
            },
            "serviceName": service,
            "methodName": method,
            "authorizationInfo": [
                {"resource": name, "permission": method, "granted": True, "resourceAttributes": {}}
            ],
            "resourceName": name,
            "resourceLocation": {"currentLocations": ["europe-west3"]},
        },
        "insertId": f"{number:012x}",
        "resource": {"type": kind, "labels": {**labels, "location": "europe-west3"}},
        "timestamp": stamp,
        "severity": "INFO",
        "logName": "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Fdata_access",
        "receiveTimestamp": stamp,
    }


def noise_principal(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"svc-{rng.randrange(400):03d}@pci-prod-payments.iam.gserviceaccount.com"
    return f"person-{rng.randrange(3000):04d}@example.com"


def lines(count: int, grantees: int, share: float, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    step = PERIOD / count
    for number in range(count):
        at = PERIOD_START + step * number
        if rng.random() < share:
            # A grantee acts inside their window (mostly) or just after it.
            index = rng.randrange(grantees)
            at = window_start(index, grantees) + WINDOW * rng.uniform(0.0, 1.05)
            principal = grantee(index)
        else:
            principal = noise_principal(rng)
        yield orjson.dumps(entry(rng, at, principal, number)) + b"\n"


def generate(path: Path, count: int, grantees: int, share: float, seed: int) -> None:
    with path.open("wb") as out:
        for line in lines(count, grantees, share, seed):
            out.write(line)


def make_repo(root: Path, grantees: int) -> None:
    """Policy, roles lock, Terraform and the grantees' requests, archived as `lapse expire` does."""
    for folder in ("policy", "schemas", "terraform"):
        shutil.copytree(ROOT / folder, root / folder)
    for index in range(grantees):
        ends = window_start(index, grantees) + WINDOW
        month = root / "archive" / "pci-prod" / ends.strftime("%Y-%m")
        month.mkdir(parents=True, exist_ok=True)
        (month / f"inc-{5000 + index}-bench.yaml").write_text(archived_request(index, ends))
    (root / "requests").mkdir()


def archived_request(index: int, expires: datetime) -> str:
    return (
        f"requester: {grantee(index)}\n"
        "reason: Benchmark access window for the post-access review\n"
        f"ticket: INC-{5000 + index}\n"
        f"starts: {(expires - WINDOW).strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        f"expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        "grants:\n"
        "  - role: roles/cloudsql.client\n    project: pci-prod-payments\n"
        "  - role: roles/storage.objectViewer\n    bucket: settlement-exports\n"
    )


def lapse_argv(repo: Path, export: Path, *, profile: Path | None = None) -> list[str]:
    args = [
        "review",
        f"--source=file:{export}",
        f"--since={PERIOD_START:%Y-%m-%dT%H:%M:%SZ}",
        f"--until={PERIOD_START + PERIOD:%Y-%m-%dT%H:%M:%SZ}",
        f"--root={repo}",
    ]
    if profile is None:
        return [str(BIN / "lapse"), *args]
    # `python -m generator` is the `lapse` command (cProfile has no -c before Python 3.12).
    return [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "generator", *args]


def environment() -> dict[str, str]:
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "NO_COLOR": "1"}
    env.update(GITHUB_ACTIONS="false", CI="true", LAPSE_CACHE_DIR="off")
    env.pop("GITHUB_TOKEN", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled modules are kept
    return env


@dataclass(frozen=True, slots=True)
class Run:
    wall: float
    cpu: float
    rss: float  # MiB, the child's own peak (ru_maxrss of wait4)


def warm(export: Path) -> None:
    """Read the export, untimed, so that the run after it reads it from memory.

    Both commands are timed reading from the page cache. On this machine the cache shrinks
    without notice (to 0.4-0.7 GB of 24 GB), so one warming before the rounds is not enough: a
    review of 250,000 entries that read 337 MB from the disk took 1.45 s, from memory 1.06 s.
    """
    buffer = bytearray(1 << 20)
    with export.open("rb", buffering=0) as stream:
        while stream.readinto(buffer):
            pass


def run_once(argv: list[str], repo: Path, *, lapse: bool, export: Path | None = None) -> Run:
    if lapse:
        _corpus.set_aside(repo / "reports")  # else the next run skips them; see set_aside
    if export is not None:
        warm(export)
    began = time.perf_counter()
    child = subprocess.Popen(
        argv, cwd=repo, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    stderr = child.stderr.read() if child.stderr else b""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    # lapse exits 1 when a report has a deviation; anything else is a failure to measure.
    if child.returncode not in ((0, 1) if lapse else (0,)):
        sys.exit(f"{argv[:3]} exited {child.returncode}:\n{stderr.decode()[-3000:]}")
    if lapse and len(list((repo / "reports").rglob("*.json"))) < 2:
        sys.exit(f"{argv[:3]} wrote no reports:\n{stderr.decode()[-3000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def paired(repo: Path, export: Path, rounds: int) -> tuple[list[float], list[Run], list[Run]]:
    """Per-round ratios lapse / floor, and every run of each, in alternating order."""
    floor_argv = [sys.executable, "-c", FLOOR_CODE, str(export)]
    lapse_argv_ = lapse_argv(repo, export)
    run_once(floor_argv, repo, lapse=False)  # a first run of each, untimed
    run_once(lapse_argv_, repo, lapse=True)
    ratios, floors, lapses = [], [], []
    for index in range(rounds):  # each run reads the export from memory (`warm`)
        if index % 2:
            lapse_run = run_once(lapse_argv_, repo, lapse=True, export=export)
            floor_run = run_once(floor_argv, repo, lapse=False, export=export)
        else:
            floor_run = run_once(floor_argv, repo, lapse=False, export=export)
            lapse_run = run_once(lapse_argv_, repo, lapse=True, export=export)
        floors.append(floor_run)
        lapses.append(lapse_run)
        ratios.append(lapse_run.wall / floor_run.wall)
    return ratios, floors, lapses


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--grantees", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=4411)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--rows-json", type=Path, metavar="FILE", help="also write the rows here, for bench/all.py"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lapse-bench-review-") as tmp:
        return measure(Path(tmp), args)


def measure(tmp: Path, args: argparse.Namespace) -> int:
    sizes = (args.entries // 4, args.entries)
    began = time.perf_counter()
    repo = tmp / "repo"
    make_repo(repo, args.grantees)
    exports = {}
    for share in SHARES:
        for count in sizes:
            exports[count, share] = tmp / f"audit-{count}-{round(share * 100)}.jsonl"
            generate(exports[count, share], count, args.grantees, share, args.seed)
    # Gigabytes just written are still being written out: no timed run competes with that.
    os.sync()
    print(
        f"{args.grantees} grantees, {args.rounds} paired rounds per export, lapse reading in up "
        f"to {min(processors(), MOST_PARTS)} processes; generated in "
        f"{time.perf_counter() - began:.0f} s; {load()}; this process's RSS "
        f"{_own_rss():.0f} MiB (a child's ru_maxrss cannot read below it)"
    )
    print("whole processes, wall seconds median [min-max]; ratio lapse/floor per round")
    print(
        f"  {'entries':>9} {'share':>5}  {'floor s':<22} {'lapse s':<22} "
        f"{'ratio median [min-max]':<24} {'lapse RSS MiB':>13}  target  result"
        "  (CPU s floor / lapse = ratio)"
    )
    results: list[bool] = []
    rows: list[dict[str, object]] = []
    rss: dict[tuple[int, float], float] = {}
    for (count, share), export in exports.items():
        ratios, floors, lapses = paired(repo, export, args.rounds)
        ratio = statistics.median(ratios)
        rss[count, share] = statistics.median(r.rss for r in lapses)
        judged = count >= TARGET_FROM
        if judged:
            results.append(ratio <= RATIO_TARGET)
        walls = [r.wall for r in lapses]
        rows.append(
            {
                "row": f"review {count:,} entries, {share:.0%} reviewed / orjson floor",
                "median": statistics.median(walls),
                "min": min(walls),
                "max": max(walls),
                "ratio": ratio,
                "limit": RATIO_TARGET if judged else None,
                "load": os.getloadavg()[0],
            }
        )
        print(
            f"  {count:>9,} {share:>5.0%}  {_spread([r.wall for r in floors]):<22} "
            f"{_spread([r.wall for r in lapses]):<22} "
            f"{ratio:5.2f} [{min(ratios):.2f}-{max(ratios):.2f}]{'':<10} "
            f"{rss[count, share]:>13.1f}  "
            + (f"<= {RATIO_TARGET}  {verdict(ratio <= RATIO_TARGET)}" if judged else "unjudged")
            + f"  ({_cpu(floors):.2f} / {_cpu(lapses):.2f} = {_cpu(lapses) / _cpu(floors):.2f})",
            flush=True,
        )
    for share in SHARES:
        growth = rss[sizes[1], share] / rss[sizes[0], share] - 1
        ok = abs(growth) <= RSS_GROWTH
        results.append(ok)
        rows.append(
            {
                "row": (
                    f"review peak RSS, {share:.0%}: {rss[sizes[0], share]:.0f} MiB at "
                    f"{sizes[0]:,} -> {rss[sizes[1], share]:.0f} MiB at {sizes[1]:,}"
                ),
                "ratio": 1 + abs(growth),
                "limit": 1 + RSS_GROWTH,
                "load": os.getloadavg()[0],
            }
        )
        print(
            f"  peak RSS of lapse, {share:.0%} share: {rss[sizes[0], share]:.1f} MiB at "
            f"{sizes[0]:,} -> {rss[sizes[1], share]:.1f} MiB at {sizes[1]:,} ({growth:+.1%}; "
            f"target within +-{RSS_GROWTH:.0%})  {verdict(ok)}"
        )
    print(f"{sum(results)} of {len(results)} targets met; {load()}")
    if args.rows_json:
        args.rows_json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    if args.profile:
        profile(repo, exports[sizes[1], SHARES[-1]], tmp / "lapse.prof")
    return 0 if all(results) else 1


def profile(repo: Path, export: Path, out: Path) -> None:
    print(f"\ncProfile of one lapse process over {export.name} (profiled, so slower):")
    run_once(lapse_argv(repo, export, profile=out), repo, lapse=True)
    stats = pstats.Stats(str(out))
    stats.sort_stats("tottime").print_stats(25)


def _cpu(runs: list[Run]) -> float:
    return statistics.median(r.cpu for r in runs)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} [{min(values):.2f}-{max(values):.2f}]"


def _own_rss() -> float:
    import resource  # noqa: PLC0415

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    raise SystemExit(main())
