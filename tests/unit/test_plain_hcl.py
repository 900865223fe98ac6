"""Plain Terraform is read without python-hcl2 only where both read it alike.

`plain_hcl.read` answers for a narrow shape of text and says None for anything else. Wherever
it answers, the blocks `configuration.parse_text` builds from it must be python-hcl2's, to the
line, column and expression text, and `plain_hcl.tree` must be the dict `hcl2.loads` returns
(comment entries aside): the properties below hold it to python-hcl2 over generated text made
of plain pieces and of near misses (every construct it must leave alone: templates, escapes,
keywords, tabs, carriage returns, block comments, operators, one-line blocks), and over every
`.tf` file of the repository, which must all be read the fast way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from generator.terraform import audit_coverage, plain_hcl
from generator.terraform.configuration import parse_text, parse_with_hcl2
from tests.lanes import examples

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY_FILES = sorted(
    path
    for folder in ("terraform", "tests/golden", "tests/data")
    for path in (ROOT / folder).rglob("*.tf")
)


def _without_comments(value: Any) -> Any:
    """python-hcl2's dict without the entries it adds for comments."""
    if isinstance(value, dict):
        return {
            key: _without_comments(item)
            for key, item in value.items()
            if key not in ("__comments__", "__inline_comments__")
        }
    if isinstance(value, list):
        return [_without_comments(item) for item in value]
    return value


def _agrees(text: str) -> bool:
    """Whether `text` is read the fast way; fails when that reading is not python-hcl2's."""
    plain = plain_hcl.read(text)
    if plain is None:
        return False
    assert parse_text("t.tf", text) == parse_with_hcl2("t.tf", text)
    assert plain_hcl.tree(plain) == _without_comments(hcl2.loads(text))
    return True


# Pieces of text: what the fast way reads, and (in `Pieces(odd=True)`) now and then what it
# must leave to python-hcl2.
class Pieces:
    def __init__(self, *, odd: bool) -> None:
        self.odd = odd
        self.names = self._mostly(
            ["a", "b_c", "x-y", "A1", "_", "resource", "module", "depends_on", "source", "a-"],
            ["in", "for", "for_each", "if", "else", "true", "null", "__c", "1a", "a.b", "é"],
        )
        parts = self._mostly(
            [
                *("a", " ", "pci-prod", "$", "%", "$$", "%%", "}", "{", '\\"', "\\\\", "\\n"),
                *("\\t", "\\r", "#", "//", "é", "'", "=", "a$", "%a", "/"),
            ],
            [
                *("${", "$${a}", "%{", "%%{", "\\q", "\\u0041", "\\", "/*", "\t", "\r", "\n"),
                *("\u2028", "\x85", "\ufeff", '"'),
            ],
        )
        self.strings = st.lists(parts, max_size=5).map(_quoted)
        label_parts = self._mostly(
            ["a", " ", "pci-prod", "}", "{", "#", "//", "é", "/", "."], ["\\\\", "$", "%"]
        )
        self.labels = st.lists(label_parts, max_size=4).map(_quoted)
        terms = self._mostly(
            ["1", "007", "0", "true", "false", "null", "a", "a.b", "a.b.c", "a-b", "a.b-c"],
            [
                *("-1", "1.5", "1e5", "a.0", "a[0]", "a.*", "a.true", "f()", "a . b", "in"),
                *('"x" + "y"', "1 == 2", "a ? b : c", "!a", "<<EOF\nx\nEOF", "(a)", "'x'"),
                *("__x", "a.__b"),
            ],
        )
        self.spaces = self._mostly(["", " ", "  "], ["\t", " \t", "\r"])
        self.line_ends = self._mostly(
            ["\n", " # c\n", "// c\n", "  #\n", " //\n"], ["\r\n", " /* c */\n", ""]
        )
        gaps = self._mostly(["", " ", "\n", "\n  ", " # c\n", "// c\n", "\n\n"], ["\t", "/**/"])
        self.values = st.recursive(
            self.strings | terms,
            lambda inner: (
                st.builds(
                    _list,
                    st.lists(inner, max_size=3),
                    st.lists(gaps, min_size=1, max_size=4),
                    st.booleans(),
                )
                | st.builds(
                    _object,
                    st.lists(
                        st.tuples(self.names, self._mostly(["="], [":", "==", "=>"]), inner),
                        max_size=3,
                    ),
                    self._mostly(["\n", " # c\n", " //\n"], ["", " ", " a = 1", ","]),
                    self._mostly(["", " ", "\n", " # c\n", "\n\n  "], ["# c", "\t"]),
                )
            ),
            max_leaves=6,
        )

    def _mostly(self, plain: list[str], odd: list[str]) -> st.SearchStrategy[str]:
        """One of `plain`; with `odd`, about once in ten draws one of `odd` instead."""
        if not self.odd:
            return st.sampled_from(plain)
        return st.sampled_from([*[False] * 9, True]).flatmap(
            lambda chosen: st.sampled_from(odd if chosen else plain)
        )


def _quoted(parts: list[str]) -> str:
    return '"' + "".join(parts) + '"'


def _list(items: list[str], gaps: list[str], trailing: bool) -> str:
    body = "".join(f"{gap}{item}," for gap, item in zip(gaps, items, strict=False))
    return f"[{body if trailing else body.removesuffix(',')}{gaps[-1] if gaps else ''}]"


def _object(pairs: list[tuple[str, str, str]], opening: str, empty: str) -> str:
    if not pairs:
        return "{" + empty + "}"
    lines = "".join(f"  {key} {sign} {value}\n" for key, sign, value in pairs)
    return "{" + opening + lines + "}"


@st.composite
def bodies(draw: st.DrawFn, pieces: Pieces, depth: int = 0) -> str:
    items = []
    for _ in range(draw(st.integers(0, 4))):
        indent = "  " * depth
        name = draw(pieces.names)
        if depth < 3 and draw(st.booleans()):
            labels = "".join(
                draw(pieces._mostly([" "], ["", "  "])) + draw(pieces.labels)
                for _ in range(draw(st.integers(0, 2)))
            )
            opening = draw(pieces._mostly([" {", "{", "  {"], ["\n{", " \t{"]))
            if draw(st.integers(0, 4)) == 0:
                inner = draw(pieces._mostly(["}", " }"], ["a = 1 }", "\n}", "b {}}"]))
            else:
                inner = draw(pieces.line_ends) + draw(bodies(pieces, depth + 1)) + indent + "}"
            items.append(f"{indent}{name}{labels}{opening}{inner}{draw(pieces.line_ends)}")
        else:
            sign = draw(pieces._mostly(["="], ["==", ":", "=>"]))
            value = draw(pieces.values)
            spaces = draw(pieces.spaces), draw(pieces.spaces)
            items.append(
                f"{indent}{name}{spaces[0]}{sign}{spaces[1]}{value}{draw(pieces.line_ends)}"
            )
        items.append(
            draw(pieces._mostly(["", "", "\n", "# note\n", f"{indent}// x\n"], ["/* */\n"]))
        )
    return "".join(items)


TEXTS = st.sampled_from([Pieces(odd=False), Pieces(odd=True)]).flatmap(bodies)


# Each example is parsed by python-hcl2 too (about 15 ms): 600 keep the ci lane's two searches
# near 20 s together, where 2,000 took over a minute of a run that must end within ten.
SEARCH = settings(
    max_examples=examples(600),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow
@SEARCH
@given(TEXTS)
def test_plain_text_reads_as_python_hcl2_reads_it(text: str) -> None:
    event("read without python-hcl2" if _agrees(text) else "left to python-hcl2")


@pytest.mark.slow
@SEARCH
@given(TEXTS, st.data())
def test_near_misses_read_as_python_hcl2_reads_them(text: str, data: st.DataObject) -> None:
    """One character changed anywhere: the fast way answers alike or leaves it."""
    at = data.draw(st.integers(0, len(text)))
    char = data.draw(st.sampled_from(list(' \n"{}[]=,.#/\\$%-a1\t\r*')))
    cut = data.draw(st.integers(0, 1))
    changed = text[:at] + char + text[at + cut :]
    event("read without python-hcl2" if _agrees(changed) else "left to python-hcl2")


@pytest.mark.parametrize("path", REPOSITORY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_terraform_file_of_the_repository_is_read_without_python_hcl2(path: Path) -> None:
    assert _agrees(path.read_text(encoding="utf-8"))


READ = [
    'resource "a" "b" {\n  x = "y" # c\n\n  inner {\n    l = [a.b, "c",]\n  }\n}\n',
    'provider "google" {}\nterraform {\n  o = {\n    k = "v"\n  }\n}',
    'x = "a$b%c$$d"\ny = "\\"q\\""\nz = [\n  # c\n  1,\n  true,\n]\n',
    "a = {}\nb = []\nc = null\nd = a-b\n",
]
LEFT = [
    'x = "${var.a}"',  # a template
    'x = "$${a}"',  # an escaped one
    'x = "\\u0041"',  # an escape the fast way leaves
    "x = 1.5",
    "x = -1",
    "x = a[0]",
    "x = f(1)",
    "for_each = a",
    "__is_block__ = 1",
    "x = 1\nx = 2",  # an attribute twice
    "x = 1\nx {}",  # an attribute and a block of one name
    "a { b = 1 }",  # a one-line block
    "a\n{\n}",
    "a {\n}\tb = 1",
    "x = 1 /* c */",
    "x = 1\r\n",
    'a "b""c" {}',
    "a {\n" * 20 + "}\n" * 20,  # nested deeper than the fast way reads
    "x = " + "[" * 20 + "]" * 20,
]


@pytest.mark.parametrize("text", READ)
def test_plain_examples_are_read_without_python_hcl2(text: str) -> None:
    assert _agrees(text)


@pytest.mark.parametrize("text", LEFT)
def test_other_examples_are_left_to_python_hcl2(text: str) -> None:
    assert plain_hcl.read(text) is None


def test_audit_coverage_is_python_hcl2s(monkeypatch: pytest.MonkeyPatch) -> None:
    """The coverage of the repository's terraform/, read both ways, is the same."""
    named = tuple(
        (path.name, path.read_bytes()) for path in sorted((ROOT / "terraform").glob("*.tf"))
    )
    fast = audit_coverage._coverage.__wrapped__(named)
    monkeypatch.setattr(plain_hcl, "read", lambda _: None)
    assert fast == audit_coverage._coverage.__wrapped__(named)
    assert fast.configs  # the repository's audit configs were read
