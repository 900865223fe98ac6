"""Temporary lapse repositories full of valid requests, and the timing helpers the benchmarks share.

`make_repo` copies the policy, schemas and root Terraform module of this repository and writes
N requests that pass `lapse validate` under a scaled copy of the policy: more people, more
resources of every kind, raised limits, and Data Access audit logging for every generated
project and folder. Generated folders nest under their target's own folder, in its hierarchy;
no target grants the organization, which holds both. Every request has an explicit `starts`
in 2027, so the corpus does not depend on the clock (until 2027 is over).
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import itertools
import math
import os
import pstats
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

SOURCE = Path(__file__).resolve().parents[1]
# The benchmarks measure the checkout they live in, whichever copy of lapse is installed:
# importing this module puts it first on sys.path (the scripts import it before `generator`).
if str(SOURCE) not in sys.path:
    sys.path.insert(0, str(SOURCE))
POLICY_LIMIT_BYTES = 64 * 1024  # what `lapse validate` accepts for one YAML file
REQUESTS_PER_PERSON = 5
# The policy's `people` map is the part that grows with N; past this many people it would pass
# the 64 KiB limit, so larger corpora give each person more requests (and a higher limit).
MAX_PEOPLE = 1000
BINDINGS_PER_RESOURCE = 80  # round-robin load per resource, under Google's advised 100
UNIFORM_ACCESS = {"uniform_bucket_level_access": "required"}  # LAPSE222
LIMITS = {
    "max_active_requests_per_person": 10,
    "max_conditional_bindings_per_resource": 200,
    "max_bindings_per_role_and_principal": 20,
}
SCHEMA_COMMENT = "# yaml-language-server: $schema=../../schemas/access-request.schema.json\n"
POLICY_COMMENT = "# yaml-language-server: $schema=../schemas/policy.schema.json\n"
YEAR_START = datetime(2027, 1, 4, tzinfo=UTC)

# target -> (role, resource kind) pairs a person plausibly asks for together.
MENU: dict[str, tuple[tuple[str, str], ...]] = {
    "pci-prod": (
        ("roles/cloudsql.client", "project"),
        ("roles/cloudsql.viewer", "project"),
        ("roles/logging.viewer", "project"),
        ("roles/storage.objectViewer", "bucket"),
        ("roles/secretmanager.viewer", "secret"),
        ("roles/bigquery.dataViewer", "dataset"),
    ),
    "staging": (
        ("roles/resourcemanager.folderViewer", "folder"),
        ("roles/iam.securityReviewer", "folder"),
        ("roles/iam.securityReviewer", "project"),
        ("roles/iam.serviceAccountViewer", "service_account"),
        ("roles/cloudsql.client", "project"),
        ("roles/logging.viewer", "project"),
    ),
}
DURATIONS = {
    "pci-prod": (30, 60, 90, 120, 180, 240),
    "staging": (60, 120, 240, 480, 720, 1440),
}
OFFSETS = (UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5)))
# kind of the first grant -> (file name slug, reasons), so a request reads like one.
PURPOSES: dict[str, tuple[str, tuple[str, ...]]] = {
    "project": (
        "settlement-batch",
        (
            "Investigate failed settlement batch for merchant {n}",
            "Read Cloud SQL slow query logs behind the latency alerts of incident {n}",
        ),
    ),
    "bucket": (
        "export-check",
        ("Verify the export job wrote complete files for settlement run {n}",),
    ),
    "secret": (
        "secret-metadata",
        ("Confirm the settlement database secret rotated to a new version after change {n}",),
    ),
    "dataset": (
        "chargeback-query",
        ("Reconcile chargeback totals for merchant {n} against the card network report",),
    ),
    "folder": (
        "folder-review",
        ("Review IAM inheritance on the staging folder before recertification {n}",),
    ),
    "service_account": (
        "batch-runner",
        ("Check which keys and bindings the batch runner service account holds ({n})",),
    ),
}


class _PlainDumper(yaml.SafeDumper):
    """Never writes anchors or aliases: lapse refuses them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Planned:
    """One request before its resources are chosen."""

    index: int
    target: str
    email: str
    picks: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class Pools:
    """(target, kind) -> resource names, the projects holding buckets, and what to audit."""

    names: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    bucket_projects: dict[str, str] = field(default_factory=dict)
    projects: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)


# ---------------------------------------------------------------- the repository


def make_repo(root: Path, n: int, seed: int = 0) -> list[Path]:
    """Write a lapse repository with `n` valid requests under `root`; return the request files."""
    rng = random.Random(seed)
    policy = yaml.safe_load((SOURCE / "policy" / "policy.yaml").read_text(encoding="utf-8"))
    _copy_sources(root)
    per_person = max(REQUESTS_PER_PERSON, math.ceil(n / MAX_PEOPLE))
    people = _people(policy, math.ceil(n / per_person))
    emails = list(people.values())
    plans = [_plan(rng, i, emails) for i in range(n)]
    pools = _pools(policy, plans)
    _write_policy(root, policy, people, pools, per_person)
    _write_audit(root, pools)
    cursor: Counter[tuple[str, str]] = Counter()
    return [_write_request(root, rng, plan, pools, cursor) for plan in plans]


def _copy_sources(root: Path) -> None:
    shutil.copytree(SOURCE / "policy", root / "policy", dirs_exist_ok=True)
    shutil.copytree(SOURCE / "schemas", root / "schemas", dirs_exist_ok=True)
    (root / "terraform").mkdir(parents=True, exist_ok=True)
    for path in (SOURCE / "terraform").glob("*.tf"):
        shutil.copy2(path, root / "terraform" / path.name)


def _people(policy: dict[str, Any], wanted: int) -> dict[str, str]:
    people = dict(policy["people"])
    for i in range(1, max(0, wanted - len(people)) + 1):
        people[f"person-{i:04d}"] = f"person{i:04d}@example.com"
    return people


def _plan(rng: random.Random, index: int, emails: list[str]) -> Planned:
    target = "pci-prod" if index % 5 < 3 else "staging"
    picks = tuple(rng.sample(MENU[target], rng.randint(1, 3)))
    return Planned(index, target, emails[index % len(emails)], picks)


# ---------------------------------------------------------------- resources


def _pools(policy: dict[str, Any], plans: list[Planned]) -> Pools:
    wanted = Counter((p.target, kind) for p in plans for _, kind in p.picks)
    pools = Pools()
    for target, spec in policy["targets"].items():
        given = spec["resources"]
        for bucket, entry in given.get("bucket", {}).items():
            pools.bucket_projects[bucket] = entry if isinstance(entry, str) else entry["project"]
        for kind in {kind for _, kind in MENU.get(target, ())}:
            size = max(1, math.ceil(wanted[target, kind] / BINDINGS_PER_RESOURCE))
            pools.names[target, kind] = _names(pools, target, kind, list(given.get(kind, ())), size)
    return pools


def _names(pools: Pools, target: str, kind: str, given: list[str], size: int) -> list[str]:
    names = list(given)
    for i in range(1, size - len(names) + 1):
        names.append(_generated(pools, target, kind, i))
    return names


def _generated(pools: Pools, target: str, kind: str, i: int) -> str:
    project = f"pci-prod-gen{i:03d}" if target == "pci-prod" else f"stg-gen{i:03d}"
    if kind == "folder":
        pools.folders.add(f"folders/3045187{i:05d}")
        return f"folders/3045187{i:05d}"
    pools.projects.add(project)
    if kind == "bucket":
        pools.bucket_projects[f"settlement-exports-{i:03d}"] = project
        return f"settlement-exports-{i:03d}"
    return {
        "project": project,
        "secret": f"projects/{project}/secrets/settlement-db-readonly",
        "dataset": f"{project}.chargebacks",
        "service_account": f"batch-runner@{project}.iam.gserviceaccount.com",
    }[kind]


def _write_policy(
    root: Path, policy: dict[str, Any], people: dict[str, str], pools: Pools, per_person: int
) -> None:
    active = max(LIMITS["max_active_requests_per_person"], 2 * per_person)
    policy["limits"] = {
        **policy.get("limits", {}),
        **LIMITS,
        "max_active_requests_per_person": active,
    }
    policy["people"] = people
    for (target, kind), names in pools.names.items():
        resources = policy["targets"][target]["resources"]
        if kind == "bucket":
            resources[kind] = {
                name: {"project": pools.bucket_projects[name], **UNIFORM_ACCESS} for name in names
            }
        else:
            resources[kind] = names
        if kind == "folder":  # nested below the target's folder: on its hierarchy only
            hierarchy = policy["targets"][target]["hierarchy"]
            hierarchy += [name for name in names if name not in hierarchy]
    text = POLICY_COMMENT + yaml.dump(
        policy, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False, width=200
    )
    if len(text.encode()) > POLICY_LIMIT_BYTES:
        raise ValueError(f"policy for {len(people)} people exceeds 64 KiB; use a smaller n")
    (root / "policy" / "policy.yaml").write_text(text, encoding="utf-8")


def _write_audit(root: Path, pools: Pools) -> None:
    blocks = [_audit_block("project", "project", p) for p in sorted(pools.projects)]
    blocks += [_audit_block("folder", "folder", f) for f in sorted(pools.folders)]
    path = root / "terraform" / "audit_logging.tf"
    text = path.read_text(encoding="utf-8") + "".join(blocks)
    path.write_text(text, encoding="utf-8")
    # The grants wait for every audit config (LAPSE264).
    configs = re.findall(r'^resource "(google_\w+_iam_audit_config)" "(\w+)"', text, re.M)
    listed = "".join(f"    {kind}.{name},\n" for kind, name in configs)
    (root / "terraform" / "grants.tf").write_text(
        f'module "grants" {{\n  source = "./grants"\n\n  depends_on = [\n{listed}  ]\n}}\n',
        encoding="utf-8",
    )


def _audit_block(kind: str, argument: str, scope: str) -> str:
    name = "gen_" + scope.replace("-", "_").replace("/", "_")
    pad = " " * (len("service") - len(argument))
    return (
        f'\nresource "google_{kind}_iam_audit_config" "{name}" {{\n'
        f'  {argument}{pad} = "{scope}"\n'
        '  service = "allServices"\n\n'
        '  audit_log_config {\n    log_type = "ADMIN_READ"\n  }\n'
        '  audit_log_config {\n    log_type = "DATA_READ"\n  }\n'
        '  audit_log_config {\n    log_type = "DATA_WRITE"\n  }\n}\n'
    )


# ---------------------------------------------------------------- requests


def _write_request(
    root: Path,
    rng: random.Random,
    plan: Planned,
    pools: Pools,
    cursor: Counter[tuple[str, str]],
) -> Path:
    prefix = "INC" if plan.target == "pci-prod" or plan.index % 2 else "CHG"
    ticket = f"{prefix}-{10000 + plan.index}"
    slug = PURPOSES[plan.picks[0][1]][0]
    path = root / "requests" / plan.target / f"{ticket.lower()}-{slug}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_request_text(rng, plan, ticket, _grants(plan, pools, cursor)))
    return path


def _grants(
    plan: Planned, pools: Pools, cursor: Counter[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    chosen: list[tuple[str, str, str]] = []
    for role, kind in plan.picks:
        names = pools.names[plan.target, kind]
        name = names[cursor[plan.target, kind] % len(names)]
        cursor[plan.target, kind] += 1
        chosen.append((role, kind, name))
    return chosen


def _request_text(
    rng: random.Random, plan: Planned, ticket: str, grants: list[tuple[str, str, str]]
) -> str:
    starts = YEAR_START + timedelta(minutes=15 * rng.randrange(350 * 24 * 4))
    expires = starts + timedelta(minutes=rng.choice(DURATIONS[plan.target]))
    zone = rng.choice(OFFSETS)
    lines = [
        SCHEMA_COMMENT.rstrip("\n"),
        f"requester: {plan.email}",
        f"reason: {_reason(rng, plan)}",
        f"ticket: {ticket}",
        f"starts: {_instant(starts, zone)}",
        f"expires: {_instant(expires, zone)}",
        "grants:",
    ]
    for role, kind, name in grants:
        lines += [f"  - role: {role}", f"    {kind}: {_resource(rng, kind, name)}"]
    return "\n".join(lines) + "\n"


def _reason(rng: random.Random, plan: Planned) -> str:
    reasons = PURPOSES[plan.picks[0][1]][1]
    return rng.choice(reasons).format(n=4000 + plan.index)


def _instant(moment: datetime, zone: timezone) -> str:
    return moment.astimezone(zone).isoformat().replace("+00:00", "Z")


def _resource(rng: random.Random, kind: str, name: str) -> str:
    if kind == "dataset" and rng.random() < 0.25:  # the other spelling lapse accepts
        project, dataset = name.split(".", 1)
        return f"projects/{project}/datasets/{dataset}"
    return name


# ---------------------------------------------------------------- timing


_ASIDE: list[Path] = []  # one folder per process, holding what set_aside moved there
_SET_ASIDE = itertools.count()


def set_aside(path: Path) -> None:
    """Moves `path` out of the way now; it is deleted when the benchmark's process ends.

    On a filesystem without a journal (this machine's ext4 has none), the kernel avoids handing
    out an inode freed in the last 5 seconds, or 5 minutes while its inode table block is still
    unwritten, and each new file scans past every such inode from the start of its group
    (`find_inode_bit`, `recently_deleted`). Deleting thousands of files before a timed run made
    each file that run created cost 0.3-0.7 ms instead of 0.03 ms. A user's `lapse render` or
    `lapse review` does not follow a mass deletion, so no timed run here follows one either.
    """
    if not path.exists():
        return
    if not _ASIDE:
        _ASIDE.append(Path(tempfile.mkdtemp(prefix="lapse-bench-aside-")))
        atexit.register(shutil.rmtree, _ASIDE[0], ignore_errors=True)
    # A new name in the folder each time: the same path may be set aside once per round.
    shutil.move(path, _ASIDE[0] / f"{next(_SET_ASIDE)}-{path.name}")


def source_env() -> dict[str, str]:
    """The environment for a `lapse` subprocess that runs this checkout's code."""
    paths = [str(SOURCE), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def yaml_floor(files: list[Path]) -> None:
    """The least any validator must do: read every file and parse it with libyaml."""
    for path in files:
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def best_of(
    repeat: int, run: Callable[[], object], before: Callable[[], object] | None = None
) -> float:
    """The fastest of `repeat` runs, in seconds; `before` runs untimed ahead of each."""
    times: list[float] = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def profile_top(run: Callable[[], object], count: int = 8) -> Iterator[str]:
    """The `count` functions with the most cumulative time in one run of `run`."""
    profiler = cProfile.Profile()
    profiler.runcall(run)
    functions = pstats.Stats(profiler).get_stats_profile().func_profiles
    rows = sorted(functions.items(), key=lambda item: item[1].cumtime, reverse=True)
    shown = [(name, row) for name, row in rows if not _is_bench(name, row.file_name)][:count]
    yield f"  {'cumtime':>8} {'tottime':>8} {'calls':>11}  function"
    for name, row in shown:
        where = f"{_short(row.file_name)}:{row.line_number}"
        yield f"  {row.cumtime:8.3f} {row.tottime:8.3f} {row.ncalls:>11}  {where}({name})"


def _is_bench(name: str, filename: str) -> bool:
    return filename.startswith(str(SOURCE / "bench")) or "disable" in name


def _short(filename: str) -> str:
    for marker in ("/site-packages/", f"{SOURCE}/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def table(rows: list[tuple[str, float]]) -> Iterator[str]:
    width = max(len(label) for label, _ in rows)
    for label, seconds in rows:
        yield f"  {label:<{width}}  {seconds:8.3f} s"


def verdict(label: str, ratio: float, target: float, *, strict: bool = False) -> str:
    met = ratio < target if strict else ratio <= target
    sign = "<" if strict else "<="
    return f"  {label:<34} {ratio:6.2f}  (target {sign} {target:.1f})  {'PASS' if met else 'MISS'}"


def group_sizes(files: list[Path]) -> dict[str, int]:
    return dict(sorted(Counter(path.parent.name for path in files).items()))


def options(doc: str) -> argparse.Namespace:
    """The flags both corpus benchmarks take."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("-n", type=int, default=5000, help="requests in the corpus")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best)")
    return parser.parse_args()
