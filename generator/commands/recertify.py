"""`lapse recertify`: open (or update) the half-year's access recertification pull request."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from generator.commands import adapters, options
from generator.core import git
from generator.core.repo import Repo

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command()
@click.option(
    "--dry-run", is_flag=True, help="Print the file; read no team and open nothing on GitHub."
)
@options.now_option
@options.root_option
def recertify(dry_run: bool, now: datetime | None, root: Path) -> int:
    """Open one pull request with reports/recertification/<YYYY>-H<1|2>.md, or update it.

    It lists each target's approvers (teams resolved to their members), who may request, its
    roles, resources and persistence exceptions, the service accounts a grant reaches, and
    every grant of the last six months with its review and sign-off. The security owners
    merging it is the six-monthly access review (PCI DSS 7.2.4, 7.2.5.1); a run after it is
    merged starts the next half-year.
    """
    from generator.lifecycle import recertification

    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    moment = options.now_or_clock(now)
    client = None if dry_run else adapters.github()
    found = recertification.recertify(
        repo, policy, moment, client.team_members if client is not None else None
    )
    unreadable = options.show_unreadable(repo, list(found.problems))
    if client is None:
        click.echo(f"{found.path} (not written: --dry-run)")
        click.echo(found.text, nl=False)
        return options.outcome(unreadable)
    default = git.default_branch(repo.root)
    base = default.removeprefix("origin/") if default else "main"
    message = f"{found.title}: reviewed access as of {found.at:%Y-%m-%d}"
    client.commit_changes(found.branch, base, {found.path: found.text.encode()}, message)
    body = (
        f"The access recertification for {found.half}. Review `{found.path}` and merge it: "
        "the security owners' merge is the six-monthly review of user and system accounts "
        "(PCI DSS v4.0.1 7.2.4, 7.2.5.1)."
    )
    pull = client.ensure_pull_request(
        found.branch, base, found.title, body, [recertification.LABEL]
    )
    click.echo(f"pull request: {pull.html_url}")
    return options.outcome(unreadable)
