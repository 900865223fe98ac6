"""The loader keeps every node's position and refuses what requests never need."""

from __future__ import annotations

import yaml

from generator.checks import loading
from generator.checks.loading import load


def test_values_and_keys_keep_their_positions() -> None:
    text = b"a: 1\nb:\n  - c: x\n    d: [2, 3]\n"
    document = load("f.yaml", text).document
    assert document is not None
    assert document.at("a") == (1, 4)
    assert document.at("b", key=True) == (2, 1)
    assert document.at("b", 0) == (3, 5)
    assert document.at("b", 0, "d", 1) == (4, 12)
    assert document.at("b", 0, "d", key=True) == (4, 5)
    assert document.at("nowhere", 7) == (1, 1)  # nearest located ancestor: the root


def test_timestamps_and_dates_stay_text_and_booleans_stay_booleans() -> None:
    text = b"t: 2026-11-30T13:00:00Z\nd: 2026-11-30\nn: no\nq: 'no'\ni: 7\nz: ~\n"
    document = load("f.yaml", text).document
    assert document is not None
    assert document.data == {
        "t": "2026-11-30T13:00:00Z",
        "d": "2026-11-30",
        "n": False,
        "q": "no",
        "i": 7,
        "z": None,
    }


def test_byte_order_mark_and_crlf_are_fine() -> None:
    document = load("f.yaml", b"\xef\xbb\xbfa: 1\r\nb: 2\r\n").document
    assert document is not None
    assert document.data == {"a": 1, "b": 2}
    assert document.at("b") == (2, 4)


def test_lone_carriage_returns_count_as_line_breaks_everywhere() -> None:
    result = load("f.yaml", b"a: 1\rb: \x01\r")
    assert [(p.line, p.col, p.rule) for p in result.problems] == [(2, 4, "LAPSE102")]


def test_libyaml_is_used_when_present() -> None:
    assert loading._LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert hasattr(yaml, "CSafeLoader"), "PyYAML here is built with libyaml"


def test_size_limit_is_exact() -> None:
    fits = b"a: '" + b"x" * (loading.MAX_BYTES - 6) + b"'\n"
    assert len(fits) == loading.MAX_BYTES
    assert load("f.yaml", fits).document is not None
    assert load("f.yaml", fits + b" ").problems[0].rule == "LAPSE103"


def test_c1_control_characters_are_located() -> None:
    result = load("f.yaml", "a: 1\nb: x\u0096y\n".encode())
    assert [(p.line, p.col, p.rule) for p in result.problems] == [(2, 5, "LAPSE102")]
    # NEL is a YAML line break, not a control character: positions count it as one.
    assert [(p.line, p.rule) for p in load("f.yaml", "a: x\u0085\tb\n".encode()).problems] == [
        (2, "LAPSE104")
    ]
