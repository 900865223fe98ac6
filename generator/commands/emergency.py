"""`lapse emergency notify|check`: the follow-up of break-glass access on GitHub."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from generator.commands import adapters, options
from generator.core.repo import Repo
from generator.core.times import format_utc

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.group()
def emergency() -> None:
    """Emergency (break-glass) access: notify the target's approvers, check their sign-off."""


@emergency.command()
@click.option("--commit", "sha", required=True, metavar="SHA", help="The merge commit applied.")
@click.option(
    "--since-commit",
    "since",
    metavar="SHA",
    help="The last commit applied before: every emergency brought in after it is notified "
    "[default: SHA's first parent].",
)
@options.root_option
def notify(sha: str, since: str | None, root: Path) -> int:
    """Open one issue per emergency request SHA brought in, for the target's approvers.

    Run after apply, from a checkout of SHA. Re-runs find the issues they opened.
    """
    from generator.lifecycle import emergency_review as review

    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    requests = review.brought_in(repo, sha, since)
    if not requests:
        click.echo(f"{sha[:12]} brought in no emergency request")
        return options.EXIT_CLEAN
    for notice in review.notify(adapters.github(), policy, requests):
        click.echo(f"issue #{notice.issue}: {notice.request.path}")
    return options.EXIT_CLEAN


@emergency.command()
@options.now_option
@options.root_option
def check(now: datetime | None, root: Path) -> int:
    """Report every expired emergency grant whose sign-off is overdue; show the counts.

    Exit 0 when every sign-off that is due was given, 1 naming each missing one.
    """
    from generator.lifecycle import emergency_review as review
    from generator.lifecycle.emergency import emergency_history

    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    moment = options.now_or_clock(now)
    requests, unreadable = emergency_history(repo)
    for line in review.counts_text(policy, requests, moment):
        click.echo(line)
    expired = [r for r in requests if r.window.expires <= moment]
    states = review.sign_offs(adapters.github(), policy, expired, moment) if expired else []
    for state in states:
        if state.signed_by:
            status = f"signed off by @{state.signed_by}"
        else:
            status = f"{'OVERDUE' if state.overdue else 'due'} {format_utc(state.due)}"
        click.echo(f"#{state.issue} {state.request.path}: {status}")
    found = review.findings(states)
    for finding in found:
        click.echo(f"{finding.severity} {finding.kind}: {finding.message}", err=True)
    skipped = options.show_unreadable(repo, unreadable)
    return options.outcome(bool(found) or skipped)
