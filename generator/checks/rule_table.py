"""Documentation generated from the code, so it cannot drift: the README's rule table."""

from __future__ import annotations

from generator.checks.rules import load_all

BEGIN = "<!-- BEGIN rule table: generated from the rule registry; a test keeps it current -->"
END = "<!-- END rule table -->"


def rule_table() -> str:
    rows = ["| rule | level | checks |", "|---|---|---|"]
    for rule_id, rule in sorted(load_all().items()):
        summary = rule.summary.replace("|", "\\|")
        rows.append(f"| `{rule_id}` | {rule.level} | {summary} |")
    return "\n".join([BEGIN, *rows, END]) + "\n"
