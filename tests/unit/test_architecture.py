"""The package's layout is a rule, not a habit: who may import whom, and how large a module gets.

ARCHITECTURE.md draws the layers; this test reads every module's imports (with `ast`, so lazy
imports inside functions count too) and fails on any that points the wrong way.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "generator"

# What each part of the package may import from generator, besides itself.
ALLOWED = {
    "core": set(),
    "gcp": {"core"},
    "terraform": {"core"},
    "github": {"core"},
    "checks": {"core", "gcp", "terraform"},
    "review": {"core", "checks", "gcp", "github", "terraform"},
    "lifecycle": {"core", "checks", "gcp", "github", "review", "terraform"},
    "commands": {"core", "checks", "gcp", "github", "review", "terraform", "lifecycle"},
    "cli": {"core", "commands"},
    "__main__": {"cli"},
    "__init__": set(),
}
MAX_LINES = 400


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_parts(path: Path) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            names = [f"{base}.{a.name}" for a in node.names] if base == "generator" else [base]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "generator" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    part = _part(path)
    assert part in ALLOWED, f"{part}: a new part of the package must be placed in ALLOWED"
    wrong = [
        f"line {line}: generator.{target}"
        for target, line in sorted(_imported_parts(path))
        if target != part and target not in ALLOWED[part]
    ]
    assert not wrong, f"{path.relative_to(PACKAGE)} imports against the layers: {wrong}"


def test_nothing_but_the_entry_point_imports_commands() -> None:
    importers = [
        str(p.relative_to(PACKAGE))
        for p in MODULES
        if _part(p) not in ("commands", "cli")
        and any(target == "commands" for target, _ in _imported_parts(p))
    ]
    assert importers == []


def test_the_layer_check_sees_a_stage_importing_commands(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from generator.commands import options\n", encoding="utf-8")
    assert ("commands", 2) in _imported_parts(module)
    assert "commands" not in ALLOWED["checks"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small_or_say_why(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    if lines <= MAX_LINES:
        return
    docstring = ast.get_docstring(ast.parse(text)) or ""
    assert "Longer than" in docstring, (
        f"{path.relative_to(PACKAGE)} has {lines} lines: split it, or say in its docstring "
        f"why it is longer than {MAX_LINES} lines"
    )


def _root(stem: str) -> str:
    """`simulation` -> `simulat`, `simulate` -> `simulat`, `times` -> `tim`: the word's root."""
    while (shorter := SUFFIX.sub("", stem)) != stem and len(shorter) >= 3:
        stem = shorter
    return stem


SUFFIX = re.compile(r"(ion|ing|ed|er|s|e)$")


def test_no_two_modules_differ_only_by_a_suffix() -> None:
    stems = {p.stem for p in MODULES if not p.stem.startswith("_")}
    clashes = sorted((a, b) for a in stems for b in stems if a < b and _root(a) == _root(b))
    assert clashes == []


def test_the_suffix_check_sees_the_old_names() -> None:
    assert _root("simulate") == _root("simulation")
    assert _root("time") == _root("times")
    assert _root("cli") != _root("client")
