"""The README's two quick-start commands are the real ones."""

from __future__ import annotations

import tomllib

from tests.support import REPO

README = (REPO / "README.md").read_text()


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
