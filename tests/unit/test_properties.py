"""Whatever arrives, the loader and validator answer with located problems, never a crash."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.checks.loading import load
from generator.checks.validate import validate_repo
from generator.core.repo import Repo
from tests.lanes import examples
from tests.support import NOW, make_repo

KEYS = [
    "requester",
    "reason",
    "ticket",
    "starts",
    "expires",
    "grants",
    "role",
    "project",
    "bucket",
    "secret",
    "dataset",
    "folder",
    "organization",
    "service_account",
    "approved",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "alice@example.com",
            "roles/cloudsql.client",
            "pci-prod-payments",
            "2026-11-30T09:00:00Z",
            "2026-02-31T09:00:00Z",
            "INC-4512",
            "on",
            "no",
            '${file("/etc/passwd")}',
            "%{ if x }",
            '") || true || ("',
        ]
    ),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=7),
    ),
    max_leaves=25,
)
requestish = st.fixed_dictionaries({}, optional={key: documents for key in KEYS[:6]})


@settings(max_examples=examples(500), deadline=None)
@given(st.text(max_size=400))
def test_loader_never_raises_on_text(text: str) -> None:
    result = load("requests/pci-prod/x-1.yaml", text.encode("utf-8", "surrogatepass"))
    assert (result.document is None) == bool(result.problems)
    assert all(p.line >= 1 and p.col >= 1 and p.rule.startswith("LAPSE1") for p in result.problems)


@settings(max_examples=examples(500), deadline=None)
@given(st.binary(max_size=400))
def test_loader_never_raises_on_bytes(raw: bytes) -> None:
    result = load("requests/pci-prod/x-1.yaml", raw)
    assert all(p.line >= 1 and p.col >= 1 for p in result.problems)


@settings(max_examples=examples(300), deadline=None)
@given(st.text(alphabet=string.printable, max_size=300).map(lambda t: "a:\n" + t))
def test_loader_positions_are_inside_the_text(text: str) -> None:
    result = load("f.yaml", text.encode())
    lines = re.split(r"\r\n|\r|\n", text)  # YAML's line breaks
    for p in result.problems:
        assert p.line <= len(lines) + 1


@pytest.fixture(scope="module")
def repo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("repo"))


@pytest.mark.slow
@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.one_of(requestish, documents))
def test_validator_never_raises_on_yaml_shaped_data(repo_root: Path, data: object) -> None:
    path = repo_root / "requests" / "pci-prod" / "fuzzed-1.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    result = validate_repo(
        Repo.at(repo_root), now=NOW, time_checked={"requests/pci-prod/fuzzed-1.yaml"}
    )

    for problem in result.problems:
        assert problem.line >= 1 and problem.col >= 1 and problem.rule.startswith("LAPSE")
    if result.requests:  # whatever passed is a request the policy allows
        assert not result.errors
