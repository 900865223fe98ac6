"""The compiled validator and jsonschema agree; patterns mean what ECMA-262 says.

Every document is accepted or refused by jsonschema-rs alone; jsonschema only explains the
refusals. If the two ever disagreed, a file could pass that the explaining side would refuse
(or be refused with nothing to say), so they are compared on every corpus file and on a
thousand generated documents.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.checks import schema
from generator.checks.loading import load
from generator.checks.patterns import ecma_regex
from generator.checks.validate import validate_repo
from generator.core.repo import Repo
from tests.lanes import examples
from tests.support import NOW, REPO, make_repo, place

CORPUS = REPO / "tests" / "corpus"
REQUEST_SCHEMA = REPO / "schemas" / "access-request.schema.json"
POLICY_SCHEMA = REPO / "schemas" / "policy.schema.json"
VALID = {
    "requester": "alice@example.com",
    "reason": "Investigate failed settlement batch for merchant 4411",
    "ticket": "INC-4512",
    "starts": "2026-11-30T09:00:00Z",
    "expires": "2026-11-30T13:00:00Z",
    "grants": [{"role": "roles/cloudsql.client", "project": "pci-prod-payments"}],
}


def _agree(data: Any, schema_path: Path) -> None:
    fast = schema.compiled(schema_path).accepts(data)
    explained = list(schema.validator(schema_path).iter_errors(data))
    assert fast == (not explained), (data, [e.message for e in explained])


def _corpus_files() -> list[Path]:
    """Every corpus file that reaches a schema: the others are refused by the loader first."""
    return sorted(
        p for p in CORPUS.rglob("*.yaml") if load(p.name, p.read_bytes()).document is not None
    )


def test_most_of_the_corpus_reaches_the_schemas() -> None:
    assert len(_corpus_files()) >= 40


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_both_validators_agree_on_every_corpus_file(path: Path) -> None:
    document = load(path.name, path.read_bytes()).document
    assert document is not None
    chosen = POLICY_SCHEMA if path.parent.name == "policy" else REQUEST_SCHEMA
    _agree(document.data, chosen)


def test_both_validators_agree_on_the_repository_files() -> None:
    for path in sorted((REPO / "requests").rglob("*.yaml")):
        _agree(yaml.safe_load(path.read_text()), REQUEST_SCHEMA)
    _agree(yaml.safe_load((REPO / "policy" / "policy.yaml").read_text()), POLICY_SCHEMA)


# Values that sit on the edges of the schema's patterns and types.
edge_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "INC-1\n",
            "INC-1\r\n",
            "2027-01-01T00:00:00Z\n",
            "pci-prod-payments\n",
            "alice@example.com\n",
            "INC-\u0661\u0662",
            "roles/cloudsql.client",
            "roles/cloudsql.client\n",
            "projects/pci-prod-payments/secrets/x",
            "folders/1234",
            "",
            "2026-11-30T09:00:00+01:00",
        ]
    ),
)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    edge_text,
    st.lists(edge_text, max_size=2),
    st.dictionaries(edge_text, edge_text, max_size=2),
)
keys = st.sampled_from([*VALID, "project", "bucket", "topic", "dataset", "role", "extra"])


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request with a few keys removed, replaced or added, at the top or in a grant."""
    data = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        inside = draw(st.booleans())
        grants = data.get("grants")
        target = grants[0] if inside and isinstance(grants, list) and grants else data
        if not isinstance(target, dict):
            continue
        key = draw(keys)
        if draw(st.booleans()) and key in target:
            del target[key]
        else:
            target[key] = draw(values)
    return data


@pytest.mark.slow
@settings(max_examples=examples(1000), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid())
def test_both_validators_agree_on_generated_documents(data: dict[str, Any]) -> None:
    _agree(data, REQUEST_SCHEMA)


@pytest.mark.parametrize(
    ("key", "text"),
    [("ticket", "INC-1\\n"), ("expires", "2027-01-01T00:00:00Z\\n"), ("requester", "a@b.co\\n")],
)
def test_a_trailing_newline_is_refused_at_its_node(tmp_path: Path, key: str, text: str) -> None:
    root = make_repo(tmp_path)
    lines = {
        "requester": "alice@example.com",
        "reason": "Investigate failed settlement batch",
        "ticket": "INC-4512",
        "expires": "2026-11-30T13:00:00Z",
    }
    body = "".join(
        f'{name}: "{text}"\n' if name == key else f"{name}: {value}\n"
        for name, value in lines.items()
    )
    body += "grants:\n  - role: roles/cloudsql.client\n    project: pci-prod-payments\n"
    place(root, "requests/pci-prod/inc-4512-batch.yaml", body)

    problems = validate_repo(Repo.at(root), now=NOW).errors

    line = list(lines).index(key) + 1
    assert [(p.path, p.line, p.col, p.rule) for p in problems] == [
        ("requests/pci-prod/inc-4512-batch.yaml", line, len(key) + 3, "LAPSE120")
    ]
    assert "is not in the expected form" in problems[0].message


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^INC-[0-9]+$", "INC-1\n", False),
        ("^INC-[0-9]+$", "INC-1", True),
        (r"^INC-\d+$", "INC-\u0661", False),  # ECMA-262 \d is ASCII
        (r"^\w+$", "caf\u00e9", False),
        (r"^a.b$", "a\rb", False),
        (r"^a\sb$", "a\u00a0b", True),  # ECMA-262 \s includes no-break space
        (r"^[\s]+$", "\u2028", True),
        (r"^[$]$", "$", True),  # `$` in a class is a literal
        (r"^a\$$", "a$", True),
    ],
)
def test_patterns_read_as_ecma_262(pattern: str, text: str, matches: bool) -> None:
    assert bool(ecma_regex(pattern).search(text)) is matches
