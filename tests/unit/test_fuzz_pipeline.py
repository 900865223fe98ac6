"""The pipeline fuzz target, at CI strength (bench/fuzz.py runs it longer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings

from tests.fuzzing import check_pipeline, request_texts
from tests.support import make_repo


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("fuzz"))


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=request_texts())
def test_pipeline_never_crashes_and_every_binding_expires(
    root: Path, case: tuple[str, str]
) -> None:
    target, text = case
    rendered = check_pipeline(root, target, text)
    event("rendered" if rendered else "refused")
