"""The pipeline fuzz target: short locally, at CI strength in .ci/run (bench/fuzz.py: longer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings

from tests.fuzzing import check_pipeline, request_texts
from tests.lanes import examples
from tests.support import make_repo


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("fuzz"))


# Failing inputs that random runs once found, kept so every run tries them.
UNCLOSED_TEMPLATES = [
    'reason: "%{ for the settlement batch"',
    'reason: "Investigate ${ batch 4411"',
    'reason: "100%{ and $${ mixed ${"',
]


def _with(line: str) -> tuple[str, str]:
    key = line.split(":", 1)[0]
    base = {
        "requester": "alice@example.com",
        "reason": '"Investigate batch 4411"',
        "ticket": "INC-4512",
        "expires": "2026-11-29T15:00:00Z",
    }
    fields = [f"{k}: {v}" if k != key else line for k, v in base.items()]
    grants = "grants:\n  - role: roles/cloudsql.client\n    project: pci-prod-payments\n"
    return "pci-prod", "\n".join(fields) + "\n" + grants


# Deterministic: the same examples on every run (2,000 in CI, a short set locally: tests/lanes.py),
# so a red build means a change broke something. bench/fuzz.py is the randomized, longer search.
@pytest.mark.slow
@settings(
    max_examples=examples(2000),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=request_texts())
@example(case=_with(UNCLOSED_TEMPLATES[0]))
@example(case=_with(UNCLOSED_TEMPLATES[1]))
@example(case=_with(UNCLOSED_TEMPLATES[2]))
def test_pipeline_never_crashes_and_every_binding_expires(
    root: Path, case: tuple[str, str]
) -> None:
    target, text = case
    rendered = check_pipeline(root, target, text)
    event("rendered" if rendered else "refused")


@pytest.mark.parametrize("line", UNCLOSED_TEMPLATES)
def test_unclosed_template_sequences_render_and_read_back(root: Path, line: str) -> None:
    assert check_pipeline(root, *_with(line)), "the request should be valid and render"
