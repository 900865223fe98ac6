"""Documentation generated from the code, so it cannot drift: the rule table of docs/rules.md.

`python -m generator.checks.rule_table --write docs/rules.md` rewrites the table between its two
marker comments from the rule registry; tests/unit/test_docs.py fails while it is stale.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from generator.checks.rules import load_all
from generator.core.writing import write_file

BEGIN = "<!-- BEGIN rule table: generated from the rule registry; a test keeps it current -->"
END = "<!-- END rule table -->"


def rule_table() -> str:
    rows = ["| rule | level | checks |", "|---|---|---|"]
    for rule_id, rule in sorted(load_all().items()):
        summary = rule.summary.replace("|", "\\|")
        rows.append(f"| `{rule_id}` | {rule.level} | {summary} |")
    return "\n".join([BEGIN, *rows, END]) + "\n"


def refreshed(document: str) -> str:
    """`document` with the text from BEGIN to END (and its line end) replaced by the table."""
    begin = document.find(BEGIN)
    end = document.find(END, begin + 1)
    if begin < 0 or end < 0:
        raise ValueError(
            f"no rule table: the document lacks the line {BEGIN if begin < 0 else END}"
        )
    after = end + len(END)
    if document.startswith("\n", after):
        after += 1
    return document[:begin] + rule_table() + document[after:]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate the rule table between its markers.")
    parser.add_argument("--write", type=Path, required=True, metavar="FILE")
    path = parser.parse_args(argv).write
    text = path.read_text(encoding="utf-8")
    new = refreshed(text)
    if new != text:
        write_file(path, new)


if __name__ == "__main__":
    main()
