"""`lapse new`: write a valid request file from flags, or refuse and leave nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from generator.checks import problem_formats
from generator.checks.validate import validate_repo
from generator.commands import options
from generator.core import git
from generator.core.errors import ConfigError
from generator.core.model import RESOURCE_KINDS
from generator.core.repo import Repo
from generator.lifecycle.new_request import Draft, fresh_id, request_text, window, write_new


def _resource_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for kind in reversed(RESOURCE_KINDS):
        flag = "--" + kind.replace("_", "-")
        func = click.option(flag, kind, metavar="NAME", help=f"Grant on this {kind}.")(func)
    return func


@click.command()
@click.option("--target", required=True, help="Policy target, e.g. pci-prod.")
@click.option("--role", required=True, help="Role to grant, e.g. roles/cloudsql.client.")
@_resource_options
@click.option(
    "--duration", callback=options.duration, metavar="D", help="Window length: 30m, 4h, 1d."
)
@click.option(
    "--expires", callback=options.instant, metavar="T", help="End of the window (RFC 3339)."
)
@click.option(
    "--starts", callback=options.instant, metavar="T", help="Start of the window (RFC 3339)."
)
@click.option("--reason", required=True, help="Why the access is needed.")
@click.option("--ticket", required=True, help="Incident or change ticket, e.g. INC-4512.")
@click.option("--requester", help="Your email [default: git config user.email].")
@options.now_option
@options.root_option
def new(
    target: str,
    role: str,
    duration: timedelta | None,
    expires: datetime | None,
    starts: datetime | None,
    reason: str,
    ticket: str,
    requester: str | None,
    now: datetime | None,
    root: Path,
    **resources: str | None,
) -> None:
    """Write a new, valid request file under requests/<target>/."""
    repo = Repo.at(root)
    chosen = [(kind, name) for kind, name in resources.items() if name is not None]
    if len(chosen) != 1:
        flags = ", ".join("--" + k.replace("_", "-") for k in RESOURCE_KINDS)
        raise click.UsageError(f"name exactly one resource: {flags}")
    if (duration is None) == (expires is None):
        raise click.UsageError("give exactly one of --duration and --expires")
    email = requester or git.user_email(repo.root)
    if not email:
        raise click.UsageError("no --requester and no `git config user.email`")
    moment = options.now_or_clock(now)
    begin, end = window(moment, starts=starts, expires=expires, duration=duration)
    draft = Draft(target, email, reason, ticket, role, chosen[0][0], chosen[0][1], begin, end)
    path = repo.requests / target / f"{fresh_id(repo, draft)}.yaml"
    try:
        write_new(path, request_text(draft))
    except FileExistsError:
        raise ConfigError(f"{repo.relative(path)} already exists; nothing written") from None
    relative = repo.relative(path)
    result = validate_repo(repo, now=moment, time_checked={relative}, only={relative})
    if result.errors:
        path.unlink()  # ours, created above: refuse without leaving a half-valid file behind
        click.echo(problem_formats.render(result.problems, "text"), nl=False, err=True)
        click.echo(f"refused: {relative} not written", err=True)
        options.finish(failed=True)
    click.echo(f"wrote {relative}")
    click.echo(
        "next: git add it, commit, and open a pull request; the target's approvers review it"
    )
