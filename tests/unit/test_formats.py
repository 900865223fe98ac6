"""The format maps: one per result type, the `--format` choices read from its keys."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from generator.commands import options
from generator.core.formats import Formats


def test_a_map_writes_by_name_and_defaults_to_its_first_entry() -> None:
    formats = Formats({"text": lambda n: f"{n}\n", "json": lambda n: f'{{"n": {n}}}\n'})
    assert list(formats) == ["text", "json"]
    assert formats.default == "text"
    assert formats.write("json", 3) == '{"n": 3}\n'
    with pytest.raises(KeyError):
        formats.write("xml", 3)


def test_a_map_without_formats_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one format"):
        Formats({})


def test_the_option_offers_exactly_the_keys() -> None:
    formats = Formats({"text": str, "markdown": lambda n: f"**{n}**"})

    @click.command()
    @options.format_option(formats)
    def show(fmt: str) -> None:
        click.echo(formats.write(fmt, 7))

    runner = CliRunner()
    assert runner.invoke(show, []).output == "7\n"
    assert runner.invoke(show, ["--format", "markdown"]).output == "**7**\n"
    refused = runner.invoke(show, ["--format", "json"])
    assert refused.exit_code == 2
    assert "'text', 'markdown'" in refused.output
    assert "[default: text]" in runner.invoke(show, ["--help"]).output
