"""Text tables within a width: folded the widest column first, losing nothing."""

from __future__ import annotations

import io
import re

import pytest

from generator.core.tables import fit_lines, fold, terminal_width, text_table


def widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def cells(table: str) -> list[list[str]]:
    """A text table read back: each row's cells, a folded cell's pieces joined (spaces dropped);
    a line whose first column is blank continues the row above."""
    lines = table.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[rule])]
    spans[-1] = (spans[-1][0], None)  # type: ignore[assignment]
    rows: list[list[str]] = []
    for line in lines[rule + 1 :]:
        parts = [line[a:b].strip() if b else line[a:].strip() for a, b in spans]
        if parts[0]:
            rows.append(parts)
        else:
            rows[-1] = [old + new for old, new in zip(rows[-1], parts, strict=True)]
    return [[cell.replace(" ", "") for cell in row] for row in rows]


def test_piped_without_columns_a_table_keeps_every_row_on_one_line() -> None:
    rows = [["alice@example.com", "requests/pci-prod/" + "x" * 100 + ".yaml"]]
    assert text_table(("who", "request"), rows).count("\n") == 3


@pytest.mark.parametrize("width", [20, 40, 60, 80])
def test_a_folded_table_holds_its_width_and_every_character(width: int) -> None:
    rows = [
        ["yes", "user:alice@example.com", "roles/cloudsql.client", "2026-12-01T13:00:00Z"],
        ["no", "user:bob@example.com", "secret projects/p/secrets/settlement-db", "-"],
    ]
    text = text_table(("active", "member", "role", "expires"), rows, width=width)
    assert widest(text) <= max(width, 4 * 8 + 3 * 2)
    assert cells(text) == [[cell.replace(" ", "") for cell in row] for row in rows]


def test_fold_breaks_after_a_separator_and_between_date_and_time() -> None:
    assert fold("2026-12-01T13:00:00Z", 12) == ["2026-12-01", "T13:00:00Z"]
    assert fold("requests/pci-prod/a.yaml", 12) == ["requests/", "pci-prod/a.", "yaml"]
    assert fold("abcdefghij", 4) == ["abcd", "efgh", "ij"]


def test_long_lines_continue_indented() -> None:
    text = "  CRITICAL used-after-expiry: " + "word " * 30 + "\n"
    folded = fit_lines(text, width=40)
    assert widest(folded) <= 40
    assert all(line.startswith("    ") for line in folded.splitlines()[1:])
    assert folded.split() == text.split()


@pytest.mark.parametrize(
    ("columns", "width"), [("80", 80), ("1", 40), ("0", None), ("abc", None), ("٣٣", None)]
)
def test_columns_is_read_as_a_number_of_at_least_forty_or_not_at_all(
    monkeypatch: pytest.MonkeyPatch, columns: str, width: int | None
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setattr("sys.stdout", io.StringIO())  # piped: no terminal to ask
    assert terminal_width() == width
