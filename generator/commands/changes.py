"""`lapse changes`: what this branch adds, changes and removes under requests/, for approvers."""

from __future__ import annotations

from pathlib import Path

import click

from generator.commands import options
from generator.core import git
from generator.core.errors import ConfigError
from generator.core.repo import Repo

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command()
@click.option(
    "--base",
    metavar="REF",
    help="The commit to compare with [default: the merge base with the default branch].",
)
@options.format_option(
    ("generator.lifecycle.request_changes_text:FORMATS", ("text", "markdown", "json"))
)
@options.root_option
def changes(base: str | None, fmt: str, root: Path) -> int:
    """The requests this branch adds, changes and removes: ticket, reason and window of each.

    Exit 1 when a changed file does not read as a request (validate says why).
    """
    from generator.lifecycle.request_changes import request_changes
    from generator.lifecycle.request_changes_text import FORMATS

    repo = Repo.at(root)
    base = base or git.merge_base_with_default(repo.root)
    if base is None:
        raise ConfigError("no default branch to compare with: pass --base REF")
    result = request_changes(repo, _commit(repo, base))
    click.echo(FORMATS.write(fmt, result), nl=False)
    return options.outcome(options.show_unreadable(repo, result.unreadable))


def _commit(repo: Repo, ref: str) -> str:
    try:
        return git.git(
            repo.root, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}"
        ).strip()
    except ConfigError:
        raise ConfigError(f"--base {ref!r} is not a commit of this repository") from None
