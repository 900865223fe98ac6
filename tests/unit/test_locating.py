"""The rules across requests hold every request at once; each keeps only its text to locate.

A document's positions take several times the room of its text, so `validate_repo` hands the
repository's rules documents that read their positions again from their bytes, when a problem
asks for one. They must answer exactly as the document loaded first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import generator.checks.validate as validating
from generator.checks.loading import load
from generator.checks.rules import RepoContext, Scope
from generator.checks.rules import checks as real_checks
from generator.core.model import Problem
from generator.core.repo import Repo
from tests.support import NOW, REPO, make_repo

TEXTS = {
    "nested": b"a: 1\nb:\n  - x: [1, 2]\n    y: {p: q}\n  - z\nc: |\n  two\n  lines\nd: 'e'\n",
    "crlf and bom": b"\xef\xbb\xbfa: 1\r\nb:\r\n  - 2\r\n  - c: d\r\n",
    "quoted keys": b'"a b": 1\n? c\n: - 2\n\'d\': {"e": [f, {g: h}]}\n',
    "comments and gaps": b"# c\na: x   # n\n\n\nb:\n\n  - 1 # m\n  -   'two'\n",
}


def _paths(raw: bytes) -> Iterator[tuple[tuple[str | int, ...], bool]]:
    document = load("x.yaml", raw).document
    assert document is not None
    yield from ((where, False) for where in document.values)
    yield from ((where, True) for where in document.keys)
    yield ("no", "such", 3), False
    yield ("b", 99), True


@pytest.mark.parametrize(
    "raw",
    [*TEXTS.values(), *(p.read_bytes() for p in sorted((REPO / "requests").rglob("*.yaml")))],
    ids=[*TEXTS, *(p.name for p in sorted((REPO / "requests").rglob("*.yaml")))],
)
def test_a_locating_document_finds_what_the_loaded_one_does(raw: bytes) -> None:
    document = load("x.yaml", raw).document
    assert document is not None
    locating = document.locating(raw)
    assert (locating.path, locating.data) == ("x.yaml", None)
    assert (locating.values, locating.keys) == ({}, {})
    for where, key in _paths(raw):
        assert locating.at(*where, key=key) == document.at(*where, key=key), (where, key)


def test_a_locating_document_of_unreadable_bytes_points_at_the_start() -> None:
    document = load("x.yaml", b"a: 1\n").document
    assert document is not None
    assert document.locating(b"a: [\n").at("a") == (1, 1)


def test_the_rules_across_requests_are_given_documents_without_positions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[RepoContext] = []

    def spying(scope: Scope) -> Iterator[object]:
        if scope == "repo":

            def spy(ctx: RepoContext) -> Iterator[Problem]:
                seen.append(ctx)
                return iter(())

            yield spy
        yield from real_checks(scope)

    monkeypatch.setattr(validating, "checks", spying)
    root = make_repo(tmp_path, with_requests=True)
    validating.validate_repo(Repo.at(root), now=NOW)
    (ctx,) = seen
    assert len(ctx.requests) >= 3
    for item in ctx.requests:
        assert (item.document.data, item.document.values, item.document.keys) == (None, {}, {})
        raw = (root / item.request.path).read_bytes()
        loaded = load(item.request.path, raw).document
        assert loaded is not None
        assert item.document.at("requester") == loaded.at("requester") != (1, 1)
