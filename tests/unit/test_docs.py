"""The documentation holds together: a short README, links that resolve, a current rule table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.checks.rule_table import END, main, refreshed, rule_table
from tests.support import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
RULES = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")


def prose(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces to
    hyphens, a repeated one numbered."""
    seen: dict[str, int] = {}
    for line in prose(path.read_text(encoding="utf-8")):
        found = re.match(r"^#{1,6} (.*)$", line)
        if found:
            slug = re.sub(r"[^\w\- ]", "", found.group(1).strip().lower()).replace(" ", "-")
            seen[slug] = seen.get(slug, -1) + 1
            if seen[slug]:
                seen[f"{slug}-{seen[slug]}"] = 0
    return set(seen)


def broken_links(path: Path, root: Path = REPO) -> list[str]:
    broken = []
    for line in prose(path.read_text(encoding="utf-8")):
        for target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target):
                continue  # a web address: not checked offline
            file, _, anchor = target.partition("#")
            goal = (path.parent / file).resolve() if file else path
            if not goal.exists() or root not in (goal, *goal.parents):
                broken.append(f"{path.name}: {target}: no such file in the repository")
            elif anchor and (goal.suffix != ".md" or anchor not in anchors(goal)):
                broken.append(f"{path.name}: {target}: no heading #{anchor}")
    return broken


def test_the_readme_is_under_1500_words() -> None:
    assert len(README.split()) < 1500


def test_the_readme_links_every_readers_document() -> None:
    for name in ("requesting", "approving", "auditing", "setup", "design", "rules"):
        assert f"](docs/{name}.md)" in README, name


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves_to_a_file_and_heading(path: Path) -> None:
    assert broken_links(path) == []


def test_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Some Title: here\n## Some Title: here\n")
    (tmp_path / "doc.md").write_text(
        "[a](other.md#some-title-here) [b](other.md#some-title-here-1) [c](http://x/y)\n"
        "[d](missing.md) [e](other.md#nowhere) [f](#local) [h](../outside.md)\n"
        "```\n[g](not-a-link.md)\n```\n"
    )
    found = broken_links(tmp_path / "doc.md", tmp_path)
    assert [line.split(": ")[1] for line in found] == [
        "missing.md",
        "other.md#nowhere",
        "#local",
        "../outside.md",
    ]


def test_rule_table_is_current() -> None:
    assert rule_table() in RULES


def test_regenerating_the_rule_table_leaves_it_as_it_is() -> None:
    # Stale: run `python -m generator.checks.rule_table --write docs/rules.md`.
    assert refreshed(RULES) == RULES


def test_a_stale_rule_table_is_written_anew(tmp_path: Path) -> None:
    row = "| `LAPSE302` | error | The window is no longer than the target's max_duration. |\n"
    assert row in RULES
    stale = RULES.replace(row, "| `LAPSE302` | warning | An old summary. |\n")
    rules = tmp_path / "rules.md"
    rules.write_text(stale)
    main(["--write", str(rules)])
    assert rules.read_text() == RULES


def test_a_document_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="no rule table"):
        refreshed(RULES.replace(END, ""))
