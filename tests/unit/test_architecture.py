"""The package's layout is a rule, not a habit: who may import whom, and how large a module gets.

ARCHITECTURE.md draws the layers; this test reads every module's imports (with `ast`, so lazy
imports inside functions count too) and fails on any that points the wrong way.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
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


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports run when the module loads: anywhere but inside a function (type-only ones
    under `if TYPE_CHECKING:` count too; they tie the modules together all the same)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _top_level_imports(node)


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the package it imports when it loads."""
    files = {_module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    root = package.name
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif node.module and node.level == 0:
                targets = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in files else node.module
                    for a in node.names
                ]
            else:
                continue
            graph[name] |= {t for t in targets if t.split(".")[0] == root and t in files} - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules, as a path back to its start."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_path_round(graph, group) for group in groups]


def _path_round(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """The shortest way from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle in {sorted(group)}")  # pragma: no cover


def test_no_module_imports_itself_round_a_circle() -> None:
    graph = import_graph(PACKAGE)
    assert "generator.core.errors" in graph["generator.cli"]  # the walk sees the real imports
    found = [" -> ".join(cycle) for cycle in cycles(graph)]
    assert found == [], "circular imports (at module level): " + "; ".join(found)


def test_the_cycle_check_names_a_circle_and_its_modules(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "stage").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "stage" / "__init__.py").write_text("", encoding="utf-8")
    (package / "stage" / "plan.py").write_text(
        "from pkg.stage.text import describe\n", encoding="utf-8"
    )
    (package / "stage" / "text.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.stage import plan\n",
        encoding="utf-8",
    )
    (package / "stage" / "lazy.py").write_text(
        "def f():\n    from pkg.stage import plan\n", encoding="utf-8"
    )
    (package / "stage" / "other.py").write_text("import pkg.stage.lazy\n", encoding="utf-8")
    assert cycles(import_graph(package)) == [["pkg.stage.plan", "pkg.stage.text", "pkg.stage.plan"]]
