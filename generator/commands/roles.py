"""`lapse roles sync`: refresh policy/roles.lock.json from the IAM API, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from generator.commands import adapters, options
from generator.core.repo import Repo

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.group()
def roles() -> None:
    """The role knowledge in policy/roles.lock.json."""


@roles.command("sync")
@click.option(
    "--role",
    "names",
    multiple=True,
    metavar="R",
    help="Role to read (repeatable) [default: every role the policy allows].",
)
@options.root_option
def sync(names: tuple[str, ...], root: Path) -> int:
    """Read roles from the IAM API and update the lock file; print what changed."""
    from generator.checks.rules.resources import BASIC_ROLES
    from generator.gcp.role_sync import (
        format_changes,
        persistence_warnings,
        sync_roles,
    )
    from generator.gcp.roles import RolesLock, load_lock, write_lock

    repo = Repo.at(root)
    lock = load_lock(repo.roles_lock) if repo.roles_lock.exists() else RolesLock()
    wanted = list(names) or sorted(
        {r for t in options.policy_or_exit(repo).targets.values() for r in t.roles} - BASIC_ROLES
    )
    today = datetime.now(UTC).date().isoformat()
    fresh, changes = sync_roles(lock, wanted, adapters.build_iam_client(), today)
    write_lock(repo.roles_lock, fresh)  # only reached when every role was read
    for line in format_changes(changes):
        click.echo(line)
    for line in persistence_warnings(changes):
        click.echo(line, err=True)
    return options.EXIT_CLEAN
