"""LAPSE1xx: reading the file. Raised by generator.checks.loading and generator.checks.schema
(LAPSE115: generator.review.report_on_disk)."""

from __future__ import annotations

from generator.checks.rules import describe

describe(
    "LAPSE101",
    "The file is valid YAML.",
    fix="Fix the YAML syntax at the line shown (an unclosed quote, a stray colon, "
    "bad indentation); `lapse new` writes a well-formed file to start from.",
)
describe(
    "LAPSE102",
    "The file is UTF-8 text without NUL or other control characters.",
    fix="Save the file as UTF-8 and remove control characters (often pasted from a "
    "terminal or a word processor).",
)
describe(
    "LAPSE103",
    "The file is at most 64 KiB.",
    fix="A request is a few lines: remove what does not belong in it.",
)
describe(
    "LAPSE104",
    "No tab characters (YAML indentation is spaces).",
    fix="Indent with spaces; configure the editor to insert spaces for YAML files.",
)
describe(
    "LAPSE105",
    "No key appears twice in a mapping.",
    fix="Keep one of the two keys: YAML would silently keep the last one.",
)
describe(
    "LAPSE106",
    "Every mapping key is a plain string (quote `on`, `no`, numbers).",
    fix='Quote the key (`"on": ...`) or rename it; keys are plain strings.',
)
describe(
    "LAPSE107",
    "No anchors, aliases or merge keys: every value is written where it applies.",
    fix="Write each value out where it applies instead of `&anchor` / `*alias` / `<<`.",
)
describe(
    "LAPSE108",
    "No explicit tags (`!!python/...`, `!!str`, `!custom`).",
    fix="Remove the `!tag`; write the value as plain YAML.",
)
describe(
    "LAPSE109",
    "Exactly one YAML document per file.",
    fix="Keep one document per file: remove the extra `---` and split the requests.",
)
describe(
    "LAPSE110",
    "The top level is a mapping.",
    fix="Write the request as keys at the top level (requester, reason, ...), not a list.",
)
describe(
    "LAPSE111",
    "Nesting stays shallow (16 levels).",
    fix="Flatten the structure; requests and policies are shallow by design.",
)
describe(
    "LAPSE112",
    "A request reads as it loads: keys written plainly, each top-level key at the start of its "
    "line, and no line inside a value that starts like a key.",
    fix="Write the file as `lapse new` does: each key unquoted, each top-level key at the "
    "first column of its own line, and a long value on one line (or indented under its key), "
    "so that what reviewers read in the diff is what lapse reads.",
)
describe(
    "LAPSE115",
    "A JSON report under reports/ reads as `lapse review` wrote it.",
    fix="Restore the report from git, or delete it: the next `lapse review` reviews "
    "the grant again and writes its report anew.",
)
describe(
    "LAPSE120",
    "The file matches its JSON Schema (schemas/).",
    fix="Follow the schema under schemas/: the message names the key and what it "
    "expects; the `# yaml-language-server` line gives editors completion.",
)
