"""Problems -> text, JSON, GitHub annotations and a job summary: four views of one list."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import orjson

from generator.core.formats import Formats
from generator.core.model import Problem
from generator.core.wording import count

Problems = Iterable[Problem]
SourceLine = Callable[[str, int], str | None]  # (path, line) -> the text of that line
Paint = Callable[[str, str], str]  # (style, text) -> text, coloured for a terminal

# GitHub shows at most 10 annotations of each kind per step; the full list follows them.
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}
_QUOTED = 160  # characters of a source line shown under a problem


def to_text(
    problems: Sequence[Problem],
    *,
    checked: int | None = None,
    source: SourceLine | None = None,
    paint: Paint | None = None,
) -> str:
    """One line per problem; with `source`, the line it concerns and a caret under the column."""
    colour = paint or (lambda _style, text: text)
    lines: list[str] = []
    for p in problems:
        lines.append(
            f"{p.path}:{p.line}:{p.col}: {colour(p.level, p.level)} [{p.rule}] {p.message}"
        )
        quoted = source(p.path, p.line) if source else None
        if quoted is not None:
            lines.extend(_caret(quoted, p.line, p.col, colour))
        if p.hint:
            lines.append(f"    hint: {p.hint}")
    lines.append(_tally(problems, checked))
    return "\n".join(lines) + "\n"


def _caret(text: str, line: int, col: int, colour: Paint) -> list[str]:
    number = str(line)
    # Tabs would move the caret: show them as one space each, as the column counts them.
    shown = text.replace("\t", " ").rstrip()
    start = max(col - 1 - _QUOTED // 2, 0) if len(shown) > _QUOTED else 0
    shown = shown[start : start + _QUOTED]  # a long line is quoted around its column
    return [
        f"  {number} | {shown}",
        f"  {' ' * len(number)} | {' ' * max(col - 1 - start, 0)}{colour('error', '^')}",
    ]


def _tally(problems: Sequence[Problem], checked: int | None = None) -> str:
    counts = {
        level: sum(p.level == level for p in problems) for level in ("error", "warning", "info")
    }
    files = len({p.path for p in problems if p.level == "error"})
    rest = f"({count(counts['warning'], 'warning')}, {count(counts['info'], 'note')})"
    head = "" if checked is None else f"{count(checked, 'file')} checked: "
    if not counts["error"]:
        return f"{head}no errors {rest}"
    return f"{head}{count(counts['error'], 'error')} in {count(files, 'file')} {rest}"


def to_json(problems: Sequence[Problem], checked: int | None = None) -> str:
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
    document: dict[str, object] = {"problems": records}
    if checked is not None:
        document["checked_files"] = checked
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"


def to_github(problems: Sequence[Problem], checked: int | None = None) -> str:
    """Workflow commands, one per problem, then the plain text report."""
    lines = [
        f"::{_GITHUB_LEVEL[p.level]} file={_property(p.path)},line={p.line},col={p.col},"
        f"title={_property(p.rule)}::{_data(_message(p))}"
        for p in problems
    ]
    return "\n".join(lines) + ("\n" if lines else "") + to_text(problems, checked=checked)


def _message(p: Problem) -> str:
    return f"[{p.rule}] {p.message}" + (f"\nhint: {p.hint}" if p.hint else "")


def _data(text: str) -> str:
    # The escaping GitHub's runner applies to workflow command data.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def summary_markdown(problems: Sequence[Problem], checked: int | None = None) -> str:
    """A Markdown table for $GITHUB_STEP_SUMMARY."""
    if not problems:
        return "### lapse validate\n\n" + _tally(problems, checked).capitalize() + "\n"
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
    return "\n".join(rows) + "\n\n" + _tally(problems, checked) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").replace("`", "'").split())


@dataclass(frozen=True)
class Listing:
    """Problems as shown: sorted, with the files checked; text also quotes and paints."""

    problems: Sequence[Problem]
    checked: int | None = None
    source: SourceLine | None = None
    paint: Paint | None = None
    quiet: bool = False  # text: errors and warnings only, without the tally


def _quiet_text(listing: Listing) -> str:
    if not listing.quiet:
        return to_text(
            listing.problems, checked=listing.checked, source=listing.source, paint=listing.paint
        )
    shown = [p for p in listing.problems if p.level != "info"]
    text = to_text(shown, checked=listing.checked, source=listing.source, paint=listing.paint)
    return "".join(text.splitlines(keepends=True)[:-1])


FORMATS: Formats[Listing] = Formats(
    {
        "text": _quiet_text,
        "json": lambda x: to_json(x.problems, x.checked),
        "github": lambda x: to_github(x.problems, x.checked),
    }
)


def render(
    problems: Iterable[Problem],
    fmt: str,
    *,
    checked: int | None = None,
    source: SourceLine | None = None,
    paint: Paint | None = None,
    quiet: bool = False,
) -> str:
    return FORMATS.write(fmt, Listing(sorted(problems), checked, source, paint, quiet))


# The formats whose run also appends a summary to the job's page ($GITHUB_STEP_SUMMARY).
WITH_SUMMARY = frozenset({"github"})
