"""Every section of docs/setup.md a `lapse doctor` fix names exists, under that number and title."""

from __future__ import annotations

import re

from generator.gcp import workload_trust
from generator.github import setup_reading
from tests.support import REPO

SETUP = (REPO / "docs" / "setup.md").read_text()
HEADINGS = {line.lstrip("#").strip() for line in SETUP.splitlines() if line.startswith("## ")}
SOURCES = sorted((REPO / "generator").rglob("*.py"))


def named_sections() -> set[str]:
    found = set(setup_reading.SECTIONS.values())
    found |= {workload_trust.WIF_SECTION, workload_trust.IDENTITY_SECTION}
    for source in SOURCES:
        found |= set(re.findall(r"docs/setup\.md, [^)\"'{]+", source.read_text()))
    return found


def test_every_section_a_fix_names_is_a_heading_of_the_setup_checklist() -> None:
    sections = named_sections()
    assert len(sections) >= 8
    for section in sections:
        document, title = section.split(", ", 1)
        assert document == "docs/setup.md", section
        assert any(heading.startswith(title.strip()) for heading in HEADINGS), section


def test_no_fix_names_a_bare_step_number() -> None:
    for source in SOURCES:
        text = source.read_text()
        assert not re.search(r"(README|setup\.md), (setup )?step \d", text), source
        assert "README, Setting up" not in text, source  # the checklist is docs/setup.md
