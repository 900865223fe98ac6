"""The format maps: one per result type, the `--format` choices read from its keys."""

from __future__ import annotations

import ast
import importlib

import click
import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.commands import options
from generator.core.formats import Formats
from tests.support import REPO


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


def test_every_format_option_of_every_command_is_read_from_a_map() -> None:
    """One way to dispatch a format: a command that spelled its own `--format` choices (or
    branched on a format's name) would drift from the writers it has. A command names the map
    its option offers (its help loads no stage): the choices are exactly that map's keys."""
    seen = 0
    context = click.Context(cli)
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        assert command is not None
        subcommands = getattr(command, "commands", {}).values() or [command]
        for param in [p for c in subcommands for p in c.params]:
            if "--format" not in getattr(param, "opts", ()):
                continue
            seen += 1
            assert isinstance(param.type, click.Choice), name
            assert isinstance(param, options.FormatOption), name
            assert param.formats_at is not None, f"lapse {name} --format names no map"
            choices = list(param.type.choices)
            module, _, attribute = param.formats_at.partition(":")
            formats = getattr(importlib.import_module(module), attribute)
            assert isinstance(formats, Formats), param.formats_at
            assert choices == list(formats), (
                f"lapse {name} --format offers {choices}; {param.formats_at} has {list(formats)}"
            )
            assert formats in _maps()
    assert seen >= 4


def test_a_command_offering_other_keys_than_its_map_is_caught() -> None:
    @click.command()
    @options.format_option(("generator.review.run_text:FORMATS", ("text", "xml")))
    def show(fmt: str) -> None:
        click.echo(fmt)

    option = next(p for p in show.params if isinstance(p, options.FormatOption))
    assert option.formats_at == "generator.review.run_text:FORMATS"
    assert isinstance(option.type, click.Choice)
    offered = importlib.import_module("generator.review.run_text").FORMATS
    assert list(option.type.choices) != list(offered)
    assert CliRunner().invoke(show, []).output == "text\n"


def _maps() -> list[Formats[object]]:
    modules = (
        "generator.checks.problem_formats",
        "generator.lifecycle.drift_text",
        "generator.terraform.access_views",
        "generator.review.run_text",
        "generator.lifecycle.request_changes_text",
        "generator.lifecycle.watch_text",
    )
    return [importlib.import_module(m).FORMATS for m in modules]


def test_no_command_branches_on_a_format_name() -> None:
    """`--format` is spelled once, in `options.format_option`, and no command compares names."""
    for path in sorted((REPO / "generator" / "commands").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value == "--format":
                assert path.name == "options.py", f"{path.name}:{node.lineno} spells --format"
            if isinstance(node, ast.Compare) and any(
                isinstance(c, ast.Constant) and c.value in ("json", "text", "markdown", "github")
                for c in node.comparators
            ):
                raise AssertionError(f"{path.name}:{node.lineno} compares a format's name")
