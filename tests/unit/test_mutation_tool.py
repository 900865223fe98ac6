"""The mutation-testing tool: its list of hand-made mutants stays current, its report is right."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from tests.mutation.hand_mutants import MUTANTS, HandMutant
from tests.support import REPO


def _tool() -> ModuleType:
    if "bench_mutation" in sys.modules:
        return sys.modules["bench_mutation"]
    spec = importlib.util.spec_from_file_location("bench_mutation", REPO / "bench" / "mutation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_each_hand_mutant_still_applies_and_names_real_tests(mutant: HandMutant) -> None:
    source = (REPO / mutant.path).read_text(encoding="utf-8")
    assert source.count(mutant.old) == 1, "the mutated text moved: update hand_mutants.py"
    assert mutant.new != mutant.old
    for node in mutant.tests:
        file, _, name = node.partition("::")
        text = (REPO / file).read_text(encoding="utf-8")
        assert re.search(rf"^def {re.escape(name)}\(", text, re.MULTILINE), node


def test_every_module_the_tool_names_is_mutated_and_every_mutated_file_is_named() -> None:
    tool = _tool()
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mutmut"]
    files = [p for pattern in config["only_mutate"] for p in REPO.glob(pattern)]
    assert files
    for file in files:
        dotted = ".".join(file.relative_to(REPO).with_suffix("").parts)
        assert tool.module_of(f"{dotted}.x_f__mutmut_1") is not None, file
    for patterns in tool.MODULES.values():
        for pattern in patterns:
            prefix = pattern.removesuffix(".*").replace(".", "/")
            assert (REPO / f"{prefix}.py").is_file() or (REPO / prefix).is_dir(), pattern


DIFF = """--- generator/github/approvals.py
+++ generator/github/approvals.py
@@ -1,3 +1,3 @@
 def f():
-    if a < b:
+    if a <= b:
         return 1"""


def test_a_survivor_is_known_by_its_function_and_change_not_its_number() -> None:
    tool = _tool()
    first = tool.Mutant("generator.github.approvals.x_f__mutmut_3", 0, tool.change_of(DIFF))
    renumbered = tool.Mutant("generator.github.approvals.x_f__mutmut_9", 0, first.change)
    assert first.change == "- if a < b:\n+ if a <= b:"
    known = {tool.fingerprint(first): "equivalent: a == b cannot happen"}
    assert tool.new_survivors([renumbered], known) == []
    other = tool.Mutant("generator.github.approvals.x_g__mutmut_3", 0, first.change)
    assert tool.new_survivors([other], known) == [other]


def test_scores_and_the_report() -> None:
    tool = _tool()
    name = "generator.github.approvals.x_f__mutmut_{}"
    mutants = [
        tool.Mutant(name.format(1), 1, ""),
        tool.Mutant(name.format(2), 1, ""),
        tool.Mutant(name.format(3), 0, "- a\n+ b"),
        tool.Mutant(name.format(4), 33, "- c\n+ d"),
        tool.Mutant(name.format(5), None, ""),  # not run: not counted
        tool.Mutant("generator.review.analysis.x_g__mutmut_1", -24, ""),  # a timeout kills
    ]
    found = {s.module: s for s in tool.scores(mutants)}
    assert (found["approvals"].killed, found["approvals"].survived) == (2, 1)
    assert found["approvals"].no_tests == 1 and found["approvals"].percent == 50.0
    assert found["analysis"].percent == 100.0
    fresh = tool.new_survivors(mutants, {})
    assert [m.name for m in fresh] == [name.format(3), name.format(4)]
    text = tool.report(list(found.values()), fresh)
    assert "| approvals | 4 | 2 | 1 | 1 | 50.0% |" in text
    assert "2 new survivor(s)" in text and "```diff\n- a\n+ b\n```" in text
    assert tool.report([], []).endswith("No new survivors.\n")


def test_every_explained_survivor_says_why() -> None:
    tool = _tool()
    known = tool.load_known()
    assert all(len(why) > 20 for why in known.values())
    assert all(function.startswith("generator.") for function, _ in known)


def test_every_explained_survivor_is_still_in_the_code() -> None:
    """An entry whose lines are gone from its module explains nothing: remove or update it."""
    for function, change in _tool().load_known():
        module = function.rsplit(".", 1)[0].replace(".", "/")
        path = REPO / f"{module}.py"
        source = (path if path.exists() else REPO / module / "__init__.py").read_text("utf-8")
        lines = {line.strip() for line in source.splitlines()}
        removed = [line[2:] for line in change.splitlines() if line.startswith("- ")]
        assert removed and all(line in lines for line in removed), (function, change)


def test_a_sample_is_spread_over_the_module_and_the_same_every_run() -> None:
    tool = _tool()
    names = [f"generator.review.analysis.x_f__mutmut_{n:03d}" for n in range(100)]
    picked = tool.sample(list(reversed(names)), 10)
    assert picked == names[::10]
    assert tool.sample(names, 500) == names


# The test files the mutation run leaves out, and why none can run in the copy under mutants/.
LEFT_OUT = {
    "tests/unit/test_fuzz_pipeline.py": "a search: minutes a mutant, and scenarios reach its code",
    "tests/unit/test_architecture.py": "reads this repository's own layout, which the copy lacks",
    "tests/unit/test_mutation_tool.py": "reads this repository's own layout, which the copy lacks",
    "tests/acceptance/test_init.py": "copies the checkout with git; the copy is no git checkout",
    "tests/acceptance/test_setup_doc.py": "copies the checkout with git; the copy is no checkout",
    "tests/acceptance/test_evidence_browser.py": "needs a browser; reaches no mutated module",
}


def test_mutmut_chooses_among_every_test_that_reaches_a_mutant() -> None:
    """mutmut runs, for each mutant, the tests of its selection that reached the function; a
    test file left out of the selection can never kill a mutant. So the selection is the whole
    suite, less only files named with a reason, and every file the tool names for a module
    (for code that runs at import) exists and is inside the selection."""
    tool = _tool()
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mutmut"]
    selection = config["pytest_add_cli_args_test_selection"]
    folders = [a for a in selection if not a.startswith("-") and (REPO / a).is_dir()]
    assert sorted(folders) == ["tests/acceptance", "tests/unit"]
    ignored = [selection[i + 1] for i, a in enumerate(selection) if a == "--ignore"]
    # Each ignored test file hides every mutant it would kill: only these, each for its reason.
    assert sorted(ignored) == sorted(LEFT_OUT)
    with_tests = {p.relative_to(REPO).as_posix() for p in (REPO / "tests").rglob("test_*.py")}
    for module, files in tool.TEST_FILES.items():
        for file in files:
            assert file in with_tests, (module, file)
            assert file not in ignored, (module, file)
            assert any(file.startswith(f"{folder}/") for folder in folders), (module, file)


def test_a_kept_survivor_is_applied_to_todays_code_by_its_lines_not_their_place() -> None:
    tool = _tool()
    text = "def f(a, b):\n    if a < b:\n        return (\n            1,\n        )\n"
    one = tool.applied(text, "- if a < b:\n+ if a <= b:")
    assert one == text.replace("a < b", "a <= b")
    two = tool.applied(text, "- return (\n- 1,\n+ return (2,")
    assert two == "def f(a, b):\n    if a < b:\n        return (2,\n        )\n"
    assert tool.applied(text, "- if a > b:\n+ if a >= b:") is None  # gone
    assert tool.applied(text + text, "- if a < b:\n+ if a <= b:") is None  # not once


def test_a_mutant_name_points_at_its_file() -> None:
    tool = _tool()
    assert tool.source_of("generator.github.approvals.x_f__mutmut_2") == (
        "generator/github/approvals.py"
    )
    assert tool.source_of("generator.checks.rules.x_describe__mutmut_5") == (
        "generator/checks/rules/__init__.py"
    )
    assert tool.source_of("generator.checks.rules.xǁPolicyContextǁproblem__mutmut_1") == (
        "generator/checks/rules/__init__.py"
    )


@pytest.mark.parametrize(
    ("returncode", "verdict"), [(0, 0), (5, 0), (1, 1), (2, 1), (3, 1), (4, 1)]
)
def test_a_judged_mutant_survives_only_when_its_tests_passed(returncode: int, verdict: int) -> None:
    assert _tool().judged(returncode) == verdict


def test_a_copy_to_judge_in_is_a_repository_of_the_copied_files(tmp_path: Path) -> None:
    """A test asks git which files are committed (every committed path has its CODEOWNERS
    owner); in a copy that is no repository it fails, and every mutant of its module would count
    as killed."""
    copy = _tool()._copy_of_checkout(tmp_path / "repo")
    listed = subprocess.run(
        ["git", "ls-files"], cwd=copy, check=True, capture_output=True, text=True
    ).stdout.split()
    assert {"generator/github/codeowners.py", ".github/CODEOWNERS"} <= set(listed)
    assert not [path for path in listed if "__pycache__" in path]
