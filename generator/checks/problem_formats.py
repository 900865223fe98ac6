"""Problems -> text, JSON, GitHub annotations and a job summary: four views of one list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson

from generator.core.model import Problem

FORMATS = ("text", "json", "github")
# GitHub shows at most 10 annotations of each kind per step; the full list follows them.
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def to_text(problems: Sequence[Problem]) -> str:
    lines: list[str] = []
    for p in problems:
        lines.append(f"{p.path}:{p.line}:{p.col}: {p.level} [{p.rule}] {p.message}")
        if p.hint:
            lines.append(f"    hint: {p.hint}")
    lines.append(_tally(problems))
    return "\n".join(lines) + "\n"


def _tally(problems: Sequence[Problem]) -> str:
    counts = {
        level: sum(p.level == level for p in problems) for level in ("error", "warning", "info")
    }
    files = len({p.path for p in problems if p.level == "error"})
    if not counts["error"]:
        return f"no errors ({counts['warning']} warnings, {counts['info']} notes)"
    return (
        f"{counts['error']} errors in {files} files "
        f"({counts['warning']} warnings, {counts['info']} notes)"
    )


def to_json(problems: Sequence[Problem]) -> str:
    records = [
        {
            "path": p.path,
            "line": p.line,
            "col": p.col,
            "rule": p.rule,
            "level": p.level,
            "message": p.message,
            "hint": p.hint,
        }
        for p in problems
    ]
    return orjson.dumps({"problems": records}, option=orjson.OPT_INDENT_2).decode() + "\n"


def to_github(problems: Sequence[Problem]) -> str:
    """Workflow commands, one per problem, then the plain text report."""
    lines = [
        f"::{_GITHUB_LEVEL[p.level]} file={_property(p.path)},line={p.line},col={p.col},"
        f"title={_property(p.rule)}::{_data(_message(p))}"
        for p in problems
    ]
    return "\n".join(lines) + ("\n" if lines else "") + to_text(problems)


def _message(p: Problem) -> str:
    return f"[{p.rule}] {p.message}" + (f"\nhint: {p.hint}" if p.hint else "")


def _data(text: str) -> str:
    # The escaping GitHub's runner applies to workflow command data.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def summary_markdown(problems: Sequence[Problem]) -> str:
    """A Markdown table for $GITHUB_STEP_SUMMARY."""
    if not problems:
        return "### lapse validate\n\nNo problems.\n"
    rows = [
        "### lapse validate",
        "",
        "| file | line | rule | level | problem |",
        "|---|---|---|---|---|",
    ]
    rows += [
        f"| `{_cell(p.path)}` | {p.line}:{p.col} | {p.rule} | {p.level} | {_cell(p.message)} |"
        for p in problems
    ]
    return "\n".join(rows) + "\n\n" + _tally(problems) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").replace("`", "'").split())


def render(problems: Iterable[Problem], fmt: str) -> str:
    ordered = sorted(problems)
    if fmt == "json":
        return to_json(ordered)
    if fmt == "github":
        return to_github(ordered)
    return to_text(ordered)
