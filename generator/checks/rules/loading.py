"""LAPSE1xx: reading the file. Raised by generator.checks.loading and generator.checks.schema
(LAPSE115: generator.review.report_on_disk)."""

from __future__ import annotations

from generator.checks.rules import describe

describe("LAPSE101", "The file is valid YAML.")
describe("LAPSE102", "The file is UTF-8 text without NUL or other control characters.")
describe("LAPSE103", "The file is at most 64 KiB.")
describe("LAPSE104", "No tab characters (YAML indentation is spaces).")
describe("LAPSE105", "No key appears twice in a mapping.")
describe("LAPSE106", "Every mapping key is a plain string (quote `on`, `no`, numbers).")
describe("LAPSE107", "No anchors, aliases or merge keys: every value is written where it applies.")
describe("LAPSE108", "No explicit tags (`!!python/...`, `!!str`, `!custom`).")
describe("LAPSE109", "Exactly one YAML document per file.")
describe("LAPSE110", "The top level is a mapping.")
describe("LAPSE111", "Nesting stays shallow (16 levels).")
describe(
    "LAPSE112",
    "A request reads as it loads: keys written plainly, each top-level key at the start of its "
    "line, and no line inside a value that starts like a key.",
)
describe("LAPSE115", "A JSON report under reports/ reads as `lapse review` wrote it.")
describe("LAPSE120", "The file matches its JSON Schema (schemas/).")
