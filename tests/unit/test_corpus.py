"""Every file of the invalid corpus is refused with exactly the expected located rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.checks.validate import validate_repo
from generator.core.repo import Repo
from tests.support import NOW, make_repo, place

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
CASES = sorted(
    p
    for kind in ("requests", "policy")
    for p in (CORPUS / kind).glob("*.yaml")
    if not p.name.startswith("_")
)


def _expected(case: Path) -> set[tuple[int, int, str]]:
    found = set()
    for line in case.with_suffix(".expect").read_text().splitlines():
        position, rule = line.split()
        row, col = position.split(":")
        found.add((int(row), int(col), rule))
    return found


def _target_path(case: Path) -> str:
    if case.parent.name == "policy":
        return "policy/policy.yaml"
    named = case.with_suffix(".path")
    return named.read_text().strip() if named.exists() else f"requests/pci-prod/{case.stem}.yaml"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert all(_expected(case) for case in CASES), "every case expects at least one error"


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_refused_at_the_expected_places(case: Path, tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    relative = _target_path(case)
    place(root, relative, case.read_bytes())

    result = validate_repo(Repo.at(root), now=NOW, time_checked={relative})

    errors = {(p.line, p.col, p.rule) for p in result.errors if p.path == relative}
    assert errors == _expected(case)
    assert all(p.path == relative for p in result.errors), "no problem leaks onto other files"
    assert not result.requests, "a refused request never reaches render"


def test_python_tag_executes_nothing(tmp_path: Path) -> None:
    marker = Path("/tmp/lapse-pwned")
    marker.unlink(missing_ok=True)
    root = make_repo(tmp_path)
    place(
        root,
        "requests/pci-prod/python-tag.yaml",
        (CORPUS / "requests/python-tag.yaml").read_bytes(),
    )

    validate_repo(Repo.at(root), now=NOW)

    assert not marker.exists()
