"""The benchmark corpus is valid, so the benchmarks time the path real requests take."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from generator.checks.validate import validate_repo
from generator.core.model import RESOURCE_KINDS
from generator.core.repo import Repo
from generator.terraform.render import render_all

CORPUS = Path(__file__).resolve().parents[2] / "bench" / "_corpus.py"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _corpus() -> ModuleType:
    if "bench_corpus" in sys.modules:
        return sys.modules["bench_corpus"]
    spec = importlib.util.spec_from_file_location("bench_corpus", CORPUS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_corpus_is_valid_and_renders_one_file_per_request(tmp_path: Path) -> None:
    files = _corpus().make_repo(tmp_path, 60)

    result = validate_repo(Repo.at(tmp_path), now=NOW)

    assert len(files) == 60
    assert result.errors == ()
    assert len(result.requests) == 60
    assert len(render_all(result.requests)) == 60


def test_corpus_covers_both_targets_and_every_grant_kind(tmp_path: Path) -> None:
    _corpus().make_repo(tmp_path, 60)

    requests = validate_repo(Repo.at(tmp_path), now=None).requests

    assert {r.target for r in requests} == {"pci-prod", "staging"}
    # Both targets live in one organization, so neither may grant it (LAPSE276).
    assert {g.kind for r in requests for g in r.grants} == set(RESOURCE_KINDS) - {"organization"}
    assert all(1 <= len(r.grants) <= 3 and r.window.starts is not None for r in requests)
    assert len({r.id for r in requests}) == 60


def test_corpus_is_the_same_for_the_same_seed(tmp_path: Path) -> None:
    corpus = _corpus()
    first = corpus.make_repo(tmp_path / "a", 20, seed=7)
    second = corpus.make_repo(tmp_path / "b", 20, seed=7)

    assert [p.read_text() for p in first] == [p.read_text() for p in second]


def test_large_corpus_stays_within_every_budget(tmp_path: Path) -> None:
    _corpus().make_repo(tmp_path, 1500)

    result = validate_repo(Repo.at(tmp_path), now=NOW)
    per_resource = Counter((g.kind, g.canonical) for r in result.requests for g in r.grants)

    assert result.errors == ()
    assert max(per_resource.values()) <= 100
