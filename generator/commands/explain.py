"""`lapse explain RULE`: what a rule checks, why, and how to satisfy it, from the registry."""

from __future__ import annotations

import inspect
import sys
import textwrap
from typing import TYPE_CHECKING

import click

from generator.commands import options
from generator.core.errors import ConfigError
from generator.core.wording import did_you_mean

if TYPE_CHECKING:
    from generator.checks.rules import Rule

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help

_SCOPES = {
    "load": "each file, as it is read",
    "request": "each request against its target",
    "repo": "all requests together",
    "policy": "the policy",
    "tree": "the files of the repository",
    "history": "what a pull request or a commit on main changes",
}


@click.command()
@click.argument("rule_id", metavar="RULE")
def explain(rule_id: str) -> int:
    """Print a rule's meaning and its fix, e.g. `lapse explain LAPSE302`."""
    from generator.checks.rules import load_all

    rules = load_all()
    wanted = rule_id.strip().upper()
    if wanted.isdigit():
        wanted = f"LAPSE{wanted}"
    if wanted not in rules:
        raise ConfigError(
            f"no rule {rule_id!r}; " + did_you_mean(wanted, rules) + "`lapse validate` prints "
            "rule ids in brackets, and docs/rules.md lists them all"
        )
    entry = rules[wanted]
    click.echo(f"{entry.id} ({entry.level}; checks {_SCOPES.get(entry.scope, entry.scope)})")
    click.echo(f"\n{entry.summary}")
    family = _family(entry)
    if family:
        click.echo(f"\n{family}")
    click.echo("\n" + textwrap.fill(f"Fix: {entry.fix}", width=96))
    return options.EXIT_CLEAN


def _family(entry: Rule) -> str:
    """The docstring of the module that holds the rule's family (its why)."""
    from generator.checks.rules import REGISTRY

    holders = [r for r in REGISTRY.values() if r.check is not None and r.id[:7] == entry.id[:7]]
    holder = entry if entry.check is not None else (holders[0] if holders else None)
    if holder is None or holder.check is None:
        return ""
    module = sys.modules.get(holder.check.__module__)
    return inspect.cleandoc(module.__doc__ or "") if module else ""
