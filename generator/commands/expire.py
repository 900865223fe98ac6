"""`lapse expire`: archive expired requests (moved unchanged), which removes their grants."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands import adapters, options
from generator.core.errors import ConfigError
from generator.core.repo import Repo
from generator.core.wording import count

if TYPE_CHECKING:
    from generator.github import request_pulls
    from generator.github.client import GitHubClient
    from generator.lifecycle.expiry_plan import ExpiryPlan

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command()
@click.option(
    "--grace",
    callback=options.duration,
    metavar="D",
    help="Archive only requests expired at least this long ago [default: 0].",
)
@click.option(
    "--mode",
    type=click.Choice(["pr", "local"]),
    default="local",
    show_default=True,
    help="pr: one commit on branch lapse/expire and one pull request (GitHub); "
    "local: one commit in this checkout.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be archived; change nothing.")
@click.option(
    "--warn-within",
    callback=options.duration,
    metavar="D",
    help="Instead of archiving, comment once on the pull request of each grant expiring within D.",
)
@click.option(
    "--allow-dirty",
    is_flag=True,
    help="local: commit although files outside requests/, archive/ and terraform/ are "
    "uncommitted (they stay out of the commit).",
)
@click.option(
    "--allow-other-branch",
    is_flag=True,
    help="local: commit on the current branch although it is not the default branch.",
)
@options.now_option
@options.root_option
def expire(
    grace: timedelta | None,
    mode: str,
    dry_run: bool,
    warn_within: timedelta | None,
    allow_dirty: bool,
    allow_other_branch: bool,
    now: datetime | None,
    root: Path,
) -> int:
    """Archive expired requests (moved unchanged to archive/), removing their grants."""
    from generator.github import request_pulls
    from generator.lifecycle import checkout, expiry_text
    from generator.lifecycle import expire as expiry

    repo = Repo.at(root)
    moment = options.now_or_clock(now)
    if warn_within is not None:
        github = adapters.github()
        source_pr = request_pulls.source_pr_from_history(repo.root, github)
        numbers = expiry.remind(github, repo, moment, warn_within, source_pr)
        click.echo(
            f"reminded on {count(len(numbers), 'pull request')}"
            + (": " + ", ".join(f"#{n}" for n in numbers) if numbers else "")
        )
        return options.EXIT_CLEAN
    client = adapters.github() if mode == "pr" and not dry_run else None
    lookup = _source_prs(repo, client)
    plan = expiry.plan_expiry(repo, moment, grace or timedelta(0), lookup)
    click.echo(expiry_text.describe(plan), nl=False)
    if dry_run or plan.empty:
        return options.EXIT_CLEAN
    if client is not None:
        pull = expiry.apply_pr(client, plan)
        click.echo(f"pull request: {pull.html_url}" if pull else "nothing to do")
        return options.EXIT_CLEAN
    branch = checkout.refuse_unsafe(
        repo.root, allow_dirty=allow_dirty, allow_other_branch=allow_other_branch
    )
    show_commit(plan, branch)
    sha = expiry.apply_local(repo, plan, expiry_text.commit_message(plan))
    click.echo(f"committed {sha}" if sha else "no commit")
    return options.EXIT_CLEAN


def show_commit(plan: ExpiryPlan, branch: str) -> None:
    """Exactly the paths the local commit will hold, before it is made."""
    click.echo(f"committing {count(len(plan.changes), 'path')} on {branch}, nothing else:")
    for path, content in plan.changes.items():
        click.echo(f"  {'delete' if content is None else 'write '} {path}")


def _source_prs(repo: Repo, client: GitHubClient | None) -> request_pulls.SourcePR | None:
    """Where each request came from, for the archive PR; unknown in a shallow clone."""
    from generator.github import request_pulls

    if client is None:
        return None
    try:
        return request_pulls.source_pr_from_history(repo.root, client)
    except ConfigError:
        return None
