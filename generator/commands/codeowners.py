"""`lapse codeowners [--check]`: the policy-driven section of .github/CODEOWNERS."""

from __future__ import annotations

from pathlib import Path

import click

from generator.commands import options, output
from generator.core.repo import Repo
from generator.core.writing import write_file

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command()
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if stale or overridden.")
@options.root_option
def codeowners(check: bool, root: Path) -> int:
    """Write the policy-driven section of .github/CODEOWNERS."""
    from generator.github import codeowners as owners

    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    path = repo.root / ".github" / "CODEOWNERS"
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    wanted = owners.updated(current, policy)
    if check:
        stale = current != wanted
        if stale:
            click.echo(owners.diff(current, wanted), nl=False)
        taken = owners.shadowed(current, policy)
        for message in taken:
            click.echo(f".github/CODEOWNERS: {message}", err=True)
        if stale or taken:
            click.echo(
                "run `lapse codeowners`, and remove every line after the generated section",
                err=True,
            )
            return options.outcome(True)
        output.say("2 files checked: .github/CODEOWNERS is current with policy/policy.yaml")
        return options.EXIT_CLEAN
    if current != wanted:
        write_file(path, wanted)
    for message in owners.shadowed(wanted, policy):
        click.echo(f"warning: .github/CODEOWNERS: {message}", err=True)
    click.echo(f"{'unchanged' if current == wanted else 'wrote'} .github/CODEOWNERS")
    return options.EXIT_CLEAN
