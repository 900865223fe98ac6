"""The README's generated parts are current, and its two quick-start commands are the real ones."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from generator.checks.rule_table import END, main, refreshed, rule_table
from tests.support import REPO

README = (REPO / "README.md").read_text()


def test_rule_table_is_current() -> None:
    assert rule_table() in README


def test_quick_start_commands() -> None:
    assert "python3 -m pip install . && lapse render\n" in README
    assert 'python3 -m pip install -e ".[dev]" && python3 -m pytest -n auto\n' in README
    ci = (REPO / ".ci" / "run").read_text()
    assert 'pip install --quiet -e ".[dev]"' in ci
    assert "\nLAPSE_TEST_PROFILE=ci python -m pytest -q -n auto\n" in ci  # in parallel, full length
    dev = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("pytest-xdist") for d in dev["dev"])  # what -n needs


def test_quick_start_makes_a_virtualenv_first() -> None:
    venv = README.index("python3 -m venv .venv && . .venv/bin/activate\n")
    assert venv < README.index("python3 -m pip install . && lapse render\n")


def test_regenerating_the_rule_table_leaves_the_readme_as_it_is() -> None:
    # Fails while the table is stale: run `python -m generator.checks.rule_table --write README.md`.
    assert refreshed(README) == README


def test_a_stale_rule_table_is_written_anew(tmp_path: Path) -> None:
    row = "| `LAPSE302` | error | The window is no longer than the target's max_duration. |\n"
    assert row in README
    stale = README.replace(row, "| `LAPSE302` | warning | An old summary. |\n")
    readme = tmp_path / "README.md"
    readme.write_text(stale)
    main(["--write", str(readme)])
    assert readme.read_text() == README


def test_a_document_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="no rule table"):
        refreshed(README.replace(END, ""))
