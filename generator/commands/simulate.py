"""`lapse simulate`: which rendered bindings are active at an instant, by CEL evaluation."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from generator.commands import options
from generator.core.errors import ConfigError
from generator.core.repo import Repo
from generator.terraform import access_views
from generator.terraform.bindings import read_bindings
from generator.terraform.conditions import ConditionError, judge
from generator.terraform.hcl import HclError


@click.command()
@click.option(
    "--at", "at", callback=options.instant, metavar="T", help="Instant to judge [default: now]."
)
@click.option("--principal", metavar="P", help="Only this member (user:EMAIL or EMAIL).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@options.root_option
def simulate(at: datetime | None, principal: str | None, fmt: str, root: Path) -> None:
    """Which rendered bindings are active at an instant, by evaluating their conditions."""
    repo = Repo.at(root)
    moment = options.now_or_clock(at)
    try:
        verdicts = [judge(b, moment) for b in read_bindings(repo.grants)]
    except (HclError, ConditionError) as exc:
        raise ConfigError(str(exc)) from None
    if principal:
        member = principal if ":" in principal else f"user:{principal}"
        verdicts = [v for v in verdicts if v.binding.member == member]
    click.echo(access_views.render(verdicts, moment, fmt), nl=False)
