"""Making text from logs and requests inert in Markdown, GitHub tables and Mermaid.

Everything a report shows from an audit entry or a request file passes through one of these:
such text is written by whoever caused the entry, so it must not be able to add a heading, close
a table cell, inject HTML, mention a GitHub team or end a Mermaid task.
"""

from __future__ import annotations

import re

from markupsafe import Markup

# Newlines, tabs and other control characters (including the Unicode line separators) would end
# a table row or a list item, or start a new Markdown block.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Emphasis, code, links and images, strikethrough, table cells: special anywhere in a line.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# Headings, list items, setext underlines: special only where a line (or list item) begins.
_LEADING_SPECIAL = re.compile(r"^([#+=-]|\d+(?=[.)]))")
_MENTION = re.compile(r"(?<![A-Za-z0-9])@")
_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 ._@/()-]+")
_MERMAID_MAX = 80


def one_line(text: object) -> str:
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def md(text: object) -> Markup:
    """Inline Markdown text that renders as exactly `text`, safe in a table cell or list item."""
    line = one_line(text)
    line = _INLINE_SPECIAL.sub(r"\\\1", line)
    line = _LEADING_SPECIAL.sub(_escape_leading, line)
    # `&` first: the entities the other two bring are not escaped again.
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # `@name` would notify a GitHub user or team, but only where `@` does not follow a letter
    # or digit: addresses (`alice@example.com`) stay readable in the raw Markdown.
    return _escaped(_MENTION.sub("&#64;", line))


def _escape_leading(match: re.Match[str]) -> str:
    token = match.group(1)
    # "1." starts an ordered list: the escape goes before the dot, not the digits.
    return f"{token}\\" if token[0].isdigit() else f"\\{token}"


def code(text: object) -> Markup:
    """An inline code span for identifiers (methods, resources, insertIds) in a table cell.

    Text that `_code_span` would leave as it is (one line already: printable, so no control
    character and no whitespace but single inner spaces; no `|`, no backtick) is spanned
    without its regular expressions: most identifiers are such, and a report shows thousands.
    """
    if (
        type(text) is str
        and text.isprintable()
        and text[:1] != " "
        and text[-1:] != " "
        and "  " not in text
        and "`" not in text
        and "|" not in text
        and text
    ):
        return _escaped(f"`{text}`")
    return _code_span(text)


def _code_span(text: object) -> Markup:
    """`code` the long way, for any text."""
    line = one_line(text)
    if not line:
        return _escaped("")
    # GitHub splits table cells on `|` even inside code spans, unless it is escaped.
    line = line.replace("|", "\\|")
    fence = "`" * (_longest_backtick_run(line) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return _escaped(f"{fence}{pad}{line}{pad}{fence}")


def mermaid(text: object) -> Markup:
    """Text for a Mermaid gantt title or task name: `:` `#` `;` and friends become spaces."""
    line = " ".join(_MERMAID_UNSAFE.sub(" ", one_line(text)).split())
    if len(line) > _MERMAID_MAX:
        line = line[: _MERMAID_MAX - 3] + "..."
    return _escaped(line or "unnamed")


def _escaped(text: str) -> Markup:
    # Marks text these functions made inert, so the templates' HTML autoescape (the safety net
    # for a value that skipped them) does not escape it twice: inside a code span an entity
    # would show as typed.
    return Markup(text)  # noqa: S704 - built only from escaped text above


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
