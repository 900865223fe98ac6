"""`lapse status [--mine]`: a person's requests in review, pending, active and recently ended."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands import options, output
from generator.core import git
from generator.core.errors import ConfigError
from generator.core.repo import Repo
from generator.core.tables import text_table
from generator.core.times import DURATION_HELP, format_duration, format_utc
from generator.core.wording import count

if TYPE_CHECKING:
    from generator.lifecycle.standing import Standing

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help

HEADERS = ("state", "request", "requester", "grants", "starts", "expires", "")


@click.command()
@click.option("--mine", is_flag=True, help="Only yours (git config user.email).")
@click.option("--person", metavar="EMAIL", help="Only this person's requests.")
@click.option(
    "--recent",
    callback=options.duration,
    default="7d",
    show_default=True,
    metavar="D",
    help=f"Show archived requests that ended within this long: {DURATION_HELP}.",
)
@options.now_option
@options.root_option
def status(
    mine: bool, person: str | None, recent: timedelta, now: datetime | None, root: Path
) -> int:
    """List requests and where each stands: in review, pending, active, expired."""
    from generator.checks.validate import read_requests
    from generator.lifecycle.standing import standings

    repo = Repo.at(root)
    if mine and person:
        raise click.UsageError("give --mine or --person, not both")
    if mine:
        person = git.user_email(repo.root)
        if not person:
            raise ConfigError("--mine needs `git config user.email`; or pass --person EMAIL")
    moment = options.now_or_clock(now)
    found = git.changed_against_default(repo.root)
    current, unreadable = read_requests(repo, repo.request_files())
    archived, unreadable_archived = read_requests(repo, repo.archive_files())
    rows = standings(
        current,
        archived,
        changed=found[1] if found else (),
        now=moment,
        recent=recent,
        person=person,
    )
    who = person or "everyone"
    if not rows:
        output.say(f"no requests for {who} (archived ones: ended within {format_duration(recent)})")
    else:
        _table(rows, who, moment)
    _emergencies(repo, moment)
    return options.outcome(options.show_unreadable(repo, [*unreadable, *unreadable_archived]))


def _table(rows: list[Standing], who: str, moment: datetime) -> None:
    table = [
        [
            row.state,
            row.request.path,
            row.request.requester,
            str(len(row.request.grants)),
            format_utc(row.request.window.starts) if row.request.window.starts else "when applied",
            format_utc(row.request.window.expires),
            _when(row.request.window.starts, row.request.window.expires, moment),
        ]
        for row in rows
    ]
    click.echo(text_table(HEADERS, table), nl=False)
    output.say(f"{count(len(rows), 'request')} for {who} at {format_utc(moment)}")


def _emergencies(repo: Repo, moment: datetime) -> None:
    """Emergencies per target and person in the rolling window, against the policy's limits."""
    from generator.lifecycle.emergency_review import standing_counts

    for line in standing_counts(repo, moment):
        output.say(line)


def _when(starts: datetime | None, expires: datetime, now: datetime) -> str:
    if starts is not None and starts > now:
        return f"starts in {format_duration(starts - now)}"
    if expires > now:
        return f"ends in {format_duration(expires - now)}"
    return f"ended {format_duration(now - expires)} ago"
