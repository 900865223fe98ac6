"""Plain tables for people: aligned text for terminals, Markdown for GitHub."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return (
        "\n".join(
            "  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )
        + "\n"
    )


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(text: str) -> str:
        return " ".join(str(text).replace("|", "\\|").split())

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
