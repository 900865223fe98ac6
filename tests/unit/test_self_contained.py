"""The tests need nothing outside the checkout: no path leaves it, no skip waits for a file
elsewhere, and the real audit entries they read are here with their sources and licences."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.support import REPO

TESTS = REPO / "tests"
HERE = Path(__file__).resolve()  # its strings are the probes of the scan
SOURCES = sorted(
    p for p in TESTS.rglob("*.py") if "mutation" not in p.relative_to(TESTS).parts and p != HERE
)
# Places a path leaving the checkout would name: the machine's other folders, a sibling checkout.
OUTSIDE = re.compile(r"\.\./shared|/work/|^/(home|Users|root|mnt|srv|opt)/")
# Every reason a test may skip for, and why it is no file outside the checkout.
SKIPS = {
    "'terraform binary not on PATH'": "a tool, named with its reason",
    "why": "a system browser (Debian's chromium), named in the reason; under CI its absence fails",
}
REAL = TESTS / "data" / "audit_real"


def strings(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def leaving_paths(path: Path) -> list[str]:
    """String constants that name a place outside the checkout, and `Path(__file__)` climbs
    above the repository's root."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        f"{path.name}:{line}: {text!r}" for line, text in strings(tree) if OUTSIDE.search(text)
    ]
    depth = len(path.relative_to(REPO).parts)  # parents[depth - 1] is the root
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith(".parents"):
            index = node.slice
            climbs = isinstance(index, ast.Constant) and isinstance(index.value, int)
            if climbs and "__file__" in ast.unparse(node) and index.value >= depth:
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            step = node.right
            anchored = re.search(r"__file__|\b(REPO|ROOT|HERE)\b", ast.unparse(node.left))
            if anchored and isinstance(step, ast.Constant) and str(step.value).startswith(".."):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            text = ast.unparse(node)
            if "__file__" in text and text.count(".parent") > depth:
                found.append(f"{path.name}:{node.lineno}: {text}")
    return found


def skip_reasons(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reasons = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        if name in ("pytest.skip", "pytest.importorskip", "pytest.xfail") and node.args:
            reasons.append(ast.unparse(node.args[0]))
        elif name in ("pytest.mark.skipif", "pytest.mark.skip", "pytest.mark.xfail"):
            given = [k.value for k in node.keywords if k.arg == "reason"]
            reasons.append(ast.unparse(given[0]) if given else "(no reason)")
    return reasons


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(TESTS).as_posix())
def test_no_test_reads_a_path_outside_the_checkout(path: Path) -> None:
    assert leaving_paths(path) == []


def test_the_scan_finds_the_ways_out(tmp_path: Path) -> None:
    probe = TESTS / "unit" / "probe.py"  # as if it were there: only its depth is used
    text = (
        "from pathlib import Path\n"
        "A = Path(__file__).resolve().parents[3] / 'shared'\n"
        "B = Path(__file__).parent.parent.parent.parent / 'x'\n"
        "C = '../shared/audit-real'\n"
        "D = '/work/shared/FACTS.md'\n"
        "E = '/home/me/corpus'\n"
        "F = Path(__file__).resolve().parents[2] / 'tests'  # the root: fine\n"
        "H = Path(__file__).parent.parent.parent / 'docs'  # the root too\n"
        "I = HERE.parents[3] / '..' / 'shared' / 'audit-real'\n"
        "G = '/etc/passwd'  # data a hostile test feeds, never read\n"
    )
    copy = tmp_path / "probe.py"
    copy.write_text(text)
    found = leaving_paths_at(copy, probe)
    assert sorted(int(line.split(":")[1]) for line in found) == [2, 3, 4, 5, 6, 9]


def leaving_paths_at(copy: Path, where: Path) -> list[str]:
    import unittest.mock

    original = Path.read_text
    with unittest.mock.patch.object(
        Path, "read_text", lambda self, **k: original(copy if self == where else self, **k)
    ):
        return leaving_paths(where)


def test_every_skip_is_for_a_reason_inside_the_checkout() -> None:
    reasons = {reason for path in SOURCES for reason in skip_reasons(path)}
    assert reasons <= set(SKIPS), (
        f"a new reason to skip: say why it is no file elsewhere: {reasons}"
    )


def test_the_real_audit_entries_have_their_sources_and_licences() -> None:
    sources = (REAL / "SOURCES.md").read_text(encoding="utf-8")
    licences = (REAL / "LICENSES.md").read_text(encoding="utf-8")
    data = sorted(p.name for p in REAL.iterdir() if p.suffix in (".json", ".jsonl"))
    assert len(data) >= 13
    for name in data:
        assert f"`{name}`" in sources, f"{name}: not in SOURCES.md"
        assert f"`{name}`" in licences, f"{name}: not in LICENSES.md"
    repositories = set(re.findall(r"^\| `[^`]+` \| \d+ \| ([\w.-]+/[\w.-]+)", sources, re.M))
    assert len(repositories) >= 10
    for repository in repositories:
        assert f"| {repository} " in licences, f"{repository}: no licence row"


def test_a_skip_for_a_file_elsewhere_is_not_among_the_allowed(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import pytest\n"
        "pytest.skip(f'{REAL} is absent: the real audit entries are kept beside the repository')\n"
        "mark = pytest.mark.skipif(True, reason='terraform binary not on PATH')\n"
    )
    reasons = skip_reasons(probe)
    assert reasons[1] in SKIPS and reasons[0] not in SKIPS
