"""Options and helpers every command shares: instants, durations, the repository, the format."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import click

from generator.checks import problem_formats
from generator.checks.validate import validate_repo
from generator.core.model import Policy
from generator.core.repo import Repo
from generator.core.times import parse_duration, parse_instant

EXIT_CLEAN, EXIT_FINDINGS = 0, 1


def instant(_ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; e.g. 2026-11-30T13:00:00Z", param=param) from None


def duration(_ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def now_or_clock(value: datetime | None) -> datetime:
    """The instant given on the command line, else the clock: the one place that reads it."""
    return value if value is not None else datetime.now(UTC)


def output_format(value: str | None) -> str:
    if value is not None:
        return value
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The lapse repository to work on.",
)
now_option = click.option(
    "--now", callback=instant, metavar="T", help="Fix the clock (RFC 3339), for reproducible runs."
)


def append_summary(markdown: str) -> None:
    """Add to the GitHub Actions job summary, when there is one."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(markdown)


def policy_or_exit(repo: Repo) -> Policy:
    """The policy, or the problems that make it unusable (exit 1)."""
    result = validate_repo(repo, now=None, only=())
    if result.policy is None or result.errors:
        click.echo(problem_formats.render(result.problems, "text"), nl=False, err=True)
        sys.exit(EXIT_FINDINGS)
    return result.policy


def finish(failed: bool) -> NoReturn:
    sys.exit(EXIT_FINDINGS if failed else EXIT_CLEAN)
