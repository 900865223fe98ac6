"""`plain_blocks` reads a file without python-hcl2 only where it reads what python-hcl2 reads.

It answers for every file lapse renders from a plain request, and its blocks are python-hcl2's
(`configuration.parse_with_hcl2`), line, column and text alike. Every edit of such a file,
a character or a few inserted, replaced or removed anywhere (quotes, escapes, templates,
braces, comments, line ends, indents, names), is either read the same or left to python-hcl2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.core.model import Request
from generator.terraform import configuration, plain_blocks
from generator.terraform.render import render_request
from tests.lanes import examples
from tests.unit.test_render_skip import _request, plain_requests

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*(ROOT / "tests" / "golden").glob("*.tf"), *(ROOT / "terraform").rglob("*.tf")])
# What could change how HCL reads a line, and a little of what cannot.
TRICKY = '"\\$%{}#/*=\n\r\t ~-_.:a0'


def _hcl2(text: str) -> configuration.TerraformFile:
    return configuration.parse_with_hcl2("x.tf", text)


def _same_or_none(text: str) -> None:
    found = plain_blocks.read(text)
    if found is not None:
        parsed = _hcl2(text)
        assert parsed.error is None, parsed.error
        assert found == parsed.blocks


@pytest.mark.slow
@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_requests())
def test_a_plain_request_renders_to_a_file_read_as_python_hcl2_reads_it(request: Request) -> None:
    text = render_request(request)
    found = plain_blocks.read(text)
    assert found is not None
    assert found == _hcl2(text).blocks


@st.composite
def edited(draw: st.DrawFn) -> str:
    text = render_request(draw(plain_requests()))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        removed = draw(st.integers(0, 3))
        added = draw(st.text(alphabet=TRICKY, max_size=3))
        text = text[:at] + added + text[at + removed :]
    return text


@pytest.mark.slow
@settings(max_examples=examples(600), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited())
def test_an_edited_file_is_read_as_python_hcl2_reads_it_or_left_to_it(text: str) -> None:
    _same_or_none(text)


def test_every_one_character_edit_of_a_rendered_file() -> None:
    text = render_request(_request(reason="Investigate batch 4411 # /* not a comment"))
    assert plain_blocks.read(text) == _hcl2(text).blocks
    for at in range(len(text)):
        _same_or_none(text[:at] + text[at + 1 :])
        for char in '"\\${}#\n ':
            _same_or_none(text[:at] + char + text[at + 1 :])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_repository_files_read_alike(path: Path) -> None:
    _same_or_none(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "text",
    [
        "\n",
        "# only a comment\n",
        'a "b" {\n  c = "d"\n}\n',
        "a {\n  b {\n    c {\n    }\n  }\n}\n",
        'resource "t" "n" {\n  x = "a \\"b\\" c"\n\n  condition {\n  }\n}\n',
    ],
)
def test_small_plain_files(text: str) -> None:
    assert plain_blocks.read(text) == _hcl2(text).blocks


@pytest.mark.parametrize(
    "text",
    [
        "",
        'a {\n  b = "c"\n}',  # no last line end
        'a {\r\n  b = "c"\r\n}\r\n',
        'a {\n\tb = "c"\n}\n',
        'a {\n  b = "c"\n',
        'a {\n  b = "c"\n}\n}\n',
        'a {\n  # inside\n  b = "c"\n}\n',
        'b = "c"\n',
        'a {\n  b = "${c}"\n}\n',
        'a {\n  b = "%{ if c }"\n}\n',
        'a {\n  b = "c\\nd"\n}\n',
        'a {\n  b = "caf\u00e9"\n}\n',
        "a {\n  b = c\n}\n",
        'a {\n   b = "c"\n}\n',
        'a "b\\"c" {\n}\n',
        "for_each {\n}\n",
        'a {\n  null = "c"\n}\n',
        "a {\n  b {\n    c {\n      d {\n      }\n    }\n  }\n}\n",
    ],
)
def test_what_it_leaves_to_python_hcl2(text: str) -> None:
    assert plain_blocks.read(text) is None


def test_a_plain_file_is_not_parsed_with_python_hcl2(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(relative: str, text: str) -> configuration.TerraformFile:
        raise AssertionError(f"{relative} parsed with python-hcl2")

    text = render_request(_request())
    expected = configuration.parse_text("grants/a.tf", text)
    monkeypatch.setattr(configuration, "parse_with_hcl2", refuse)
    assert configuration.parse_text("grants/a.tf", text) == expected
