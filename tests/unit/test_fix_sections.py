"""Every README section a `lapse doctor` fix names exists, under that number and title."""

from __future__ import annotations

import re

from generator.gcp import workload_trust
from generator.github import setup_reading
from tests.support import REPO

README = (REPO / "README.md").read_text()
HEADINGS = {line.lstrip("#").strip() for line in README.splitlines() if line.startswith("#")}
SOURCES = sorted((REPO / "generator").rglob("*.py"))


def named_sections() -> set[str]:
    found = set(setup_reading.SECTIONS.values())
    found |= {workload_trust.WIF_SECTION, workload_trust.IDENTITY_SECTION}
    for source in SOURCES:
        found |= set(re.findall(r"README, Setting up a repository, [^)\"'{]+", source.read_text()))
    return found


def test_every_section_a_fix_names_is_a_heading_of_the_readme() -> None:
    sections = named_sections()
    assert len(sections) >= 8
    for section in sections:
        *_, title = section.split(", ", 2)
        assert "Setting up a repository" in HEADINGS
        assert any(heading.startswith(title.strip()) for heading in HEADINGS), section


def test_no_fix_names_a_bare_step_number() -> None:
    for source in SOURCES:
        text = source.read_text()
        assert not re.search(r"README, (setup )?step \d", text), source
