"""What reading each request file found, kept in the local cache: a warm run gives the same
verdicts as a cold one, and a file is read again when its bytes, its path, the request schema or
the code change."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.checks import readings
from generator.checks import validate as validating
from generator.checks.validate import Validation, validate_repo
from generator.core import cache
from generator.core.repo import Repo
from tests.support import NOW, make_repo, place

TESTS = Path(__file__).resolve().parent.parent
CORPUS = TESTS / "corpus" / "requests"
BENCH_CORPUS = TESTS.parent / "bench" / "_corpus.py"
SAMPLE = "requests/pci-prod/inc-4512-settlement-batch.yaml"
# Reads otherwise line by line than it loads (LAPSE112): a decoy `expires` inside `reason`.
TWO_READINGS = (
    "requester: alice@example.com\n"
    'reason: "Investigate the settlement batch\n'
    "expires: 2026-12-01T00:00:00Z\n"
    ' for merchant 4411"\n'
    "ticket: INC-5000\n"
    '"\\x65xpires": 2026-12-15T13:00:00Z\n'
    "grants:\n  - role: roles/cloudsql.client\n    project: pci-prod-payments\n"
)


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store of this test's own: the session's is shared with every other test."""
    place = tmp_path / "cache"
    monkeypatch.setenv("LAPSE_CACHE_DIR", str(place))
    return place


def _verdict(result: Validation) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Every problem whole, and every request as its repr: every field, the positions its
    grants carry (which equality ignores) and each instant's zone (what the verified-render
    cache keys on)."""
    problems = [dataclasses.astuple(problem) for problem in result.problems]
    return problems, [repr(request) for request in result.requests]


def _validate(root: Path, *, every_file_timed: bool = True) -> Validation:
    repo = Repo.at(root)
    timed = {repo.relative(path) for path in repo.request_files()} if every_file_timed else ()
    return validate_repo(repo, now=NOW, time_checked=timed)


def _count_readings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files read the long way (not found in the cache) from now on."""
    read: list[str] = []
    real = validating._reading

    def counting(relative: str, raw: bytes, schema_path: Path) -> Any:
        read.append(relative)
        return real(relative, raw, schema_path)

    monkeypatch.setattr(validating, "_reading", counting)
    return read


def _corpus_repo(root: Path) -> Path:
    """Every broken request of tests/corpus in one repository, each at its own path."""
    make_repo(root, with_requests=True)
    for case in sorted(CORPUS.glob("*.yaml")):
        named = case.with_suffix(".path")
        where = (
            named.read_text().strip() if named.exists() else f"requests/pci-prod/{case.stem}.yaml"
        )
        place(root, where, case.read_bytes())
    place(root, "requests/pci-prod/too-large.yaml", b"reason: " + b"x" * (70 * 1024) + b"\n")
    place(root, "requests/pci-prod/inc-5001-two-readings.yaml", TWO_READINGS)
    return root


def _bench_repo(root: Path) -> Path:
    spec = importlib.util.spec_from_file_location("bench_corpus", BENCH_CORPUS)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get("bench_corpus") or importlib.util.module_from_spec(spec)
    if "bench_corpus" not in sys.modules:
        sys.modules["bench_corpus"] = module
        spec.loader.exec_module(module)
    module.make_repo(root, 60)
    return root


# The repositories a warm run is held to a cold one over: the samples, the bench corpus and every
# broken request of tests/corpus.
REPOSITORIES = [
    pytest.param(lambda root: make_repo(root, with_requests=True), id="samples"),
    pytest.param(_bench_repo, id="bench-corpus"),
    pytest.param(_corpus_repo, id="broken-requests"),
]


@pytest.mark.parametrize("build", REPOSITORIES)
def test_a_warm_run_gives_the_verdicts_of_a_cold_one(
    build: Callable[[Path], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build(tmp_path / "repo")
    cold = _validate(root)
    cold_untimed = _validate(root, every_file_timed=False)
    read = _count_readings(monkeypatch)

    warm = _validate(root)
    warm_untimed = _validate(root, every_file_timed=False)

    assert read == [], "every file was found in the cache"
    assert _verdict(warm) == _verdict(cold)
    assert _verdict(warm_untimed) == _verdict(cold_untimed)
    assert cold.problems or cold.requests


def test_the_broken_requests_raise_every_kind_of_problem(tmp_path: Path) -> None:
    """What the test above compares: problems of the text, the plain reading, the schema, the
    values and the rules alike, of every level, many located away from the top of the file."""
    root = _corpus_repo(tmp_path / "repo")
    timed = _validate(root).problems
    untimed = _validate(root, every_file_timed=False).problems

    rules = {problem.rule for problem in timed}
    assert {f"LAPSE1{n:02d}" for n in range(1, 13)} <= rules, "every problem of the text"
    assert {"LAPSE120", "LAPSE201", "LAPSE240", "LAPSE301", "LAPSE303"} <= rules
    assert {problem.level for problem in (*timed, *untimed)} == {"error", "info"}
    assert any(problem.line > 5 for problem in timed)


def test_a_rule_locates_its_problem_in_a_file_found_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grant's own position comes from the kept request; a value's is read again from the
    file's bytes."""
    root = make_repo(tmp_path / "repo", with_requests=True)
    text = (root / SAMPLE).read_text().replace("roles/cloudsql.client", "roles/owner")
    place(root, SAMPLE, text.replace("project: pci-prod-payments", "project: pci-prod-other"))
    cold = [p for p in _validate(root).problems if p.path == SAMPLE]
    read = _count_readings(monkeypatch)

    warm = [p for p in _validate(root).problems if p.path == SAMPLE]

    assert read == []
    assert warm == cold
    assert {(p.rule, p.line, p.col) for p in warm} >= {("LAPSE210", 8, 5), ("LAPSE220", 9, 14)}


def test_a_changed_file_is_read_again_and_only_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    _validate(root)
    text = (root / SAMPLE).read_text()
    place(root, SAMPLE, text.replace("ticket: INC-4512", "ticket: INC-4599"))
    read = _count_readings(monkeypatch)

    result = _validate(root)

    assert read == [SAMPLE]
    assert [r.ticket for r in result.requests if r.path == SAMPLE] == ["INC-4599"]


def test_a_moved_file_is_read_again_at_its_new_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    _validate(root)
    moved = "requests/staging/inc-4512-settlement-batch.yaml"
    (root / SAMPLE).rename(root / moved)
    read = _count_readings(monkeypatch)

    result = _validate(root)

    assert read == [moved]
    assert ("LAPSE220", 9, 14) in {
        (p.rule, p.line, p.col) for p in result.errors if p.path == moved
    }
    assert not [p for p in result.problems if p.path == SAMPLE]


def test_a_changed_schema_reads_every_file_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    assert not [p for p in _validate(root).problems if p.rule == "LAPSE120"]
    schema_file = root / "schemas" / "access-request.schema.json"
    schema = json.loads(schema_file.read_text())
    schema["properties"]["ticket"]["maxLength"] = 3
    schema_file.write_text(json.dumps(schema))
    validating.schema.compiled.cache_clear()  # a process reads its schema once
    validating.schema.validator.cache_clear()
    read = _count_readings(monkeypatch)

    result = _validate(root)

    assert sorted(read) == sorted(Repo.at(root).relative(p) for p in Repo.at(root).request_files())
    assert [p for p in result.problems if p.rule == "LAPSE120"]


@pytest.mark.parametrize("changed", ["generator", "yaml", "jsonschema_rs", "jsonschema"])
def test_other_code_reads_every_file_again(
    changed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    _validate(root)
    real = cache.code_digest

    def other_code(*packages: str) -> str:
        return real(*packages) + ("-next" if changed in packages else "")

    monkeypatch.setattr(cache, "code_digest", other_code)
    read = _count_readings(monkeypatch)

    _validate(root)

    assert len(read) == len(Repo.at(root).request_files()) > 0


def test_a_broken_or_foreign_table_is_an_empty_one(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    cold = _validate(root)
    (table,) = (own_cache / readings.KIND).iterdir()
    keys = [line.split(b" ")[0] for line in table.read_bytes().splitlines()]
    foreign = [b'{"problems": []}', b"[[[1]], null]", b"[[], [1, 2]]", b"[[], null, 3]", b"{"]
    table.write_bytes(b"".join(k + b" " + foreign[i % 5] + b"\n" for i, k in enumerate(keys)))
    read = _count_readings(monkeypatch)

    assert _verdict(_validate(root)) == _verdict(cold)
    assert len(read) == len(keys) >= len(foreign)
    table.write_bytes(b"\x00not json")
    assert _verdict(_validate(root)) == _verdict(cold)


def test_nothing_is_kept_when_the_cache_is_off(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAPSE_CACHE_DIR", cache.OFF)
    root = make_repo(tmp_path / "repo", with_requests=True)
    _validate(root)
    read = _count_readings(monkeypatch)

    _validate(root)

    assert len(read) == len(Repo.at(root).request_files())
    assert not own_cache.exists()


def test_the_apply_job_checks_with_the_cache_off() -> None:
    """The readings a pull request's job could have kept are never what apply trusts."""
    workflow = yaml.safe_load((TESTS.parent / ".github/workflows/apply.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps", [])]
    checking = [
        step for step in steps if re.search(r"\bgenerator (validate|render)\b", step.get("run", ""))
    ]

    assert len(checking) >= 2
    assert all(step.get("env", {}).get("LAPSE_CACHE_DIR") == cache.OFF for step in checking)


def test_the_table_keeps_the_entries_of_the_files_now_there(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    _validate(root)
    text = (root / SAMPLE).read_text()
    place(root, "requests/pci-prod/inc-4599-settlement-batch.yaml", text.replace("4512", "4599"))
    (root / "requests/staging/chg-1207-folder-review.yaml").unlink()
    _validate(root)  # one file new, one gone: the table is written again
    repo = Repo.at(root)
    current = {
        cache.digest(repo.relative(p), p.read_bytes()).encode() for p in repo.request_files()
    }
    (table,) = (own_cache / readings.KIND).iterdir()
    lines = table.read_bytes().splitlines()
    read = _count_readings(monkeypatch)

    warm = _validate(root)

    assert sorted(line.split(b" ")[0] for line in lines) == sorted(current)
    assert read == []
    monkeypatch.setenv("LAPSE_CACHE_DIR", cache.OFF)
    assert _verdict(warm) == _verdict(_validate(root))
