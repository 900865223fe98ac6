"""`lapse validate`: every problem in the policy and the requests, then the exit code."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from generator.checks import problem_formats
from generator.checks.validate import validate_repo
from generator.commands import options
from generator.core import git
from generator.core.errors import ConfigError
from generator.core.repo import Repo


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--changed-since",
    metavar="REF",
    help="Hold files changed since REF (and new files) to the time rules.",
)
@options.now_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(problem_formats.FORMATS),
    help="Output format [default: github inside GitHub Actions, else text].",
)
@options.root_option
def validate(
    paths: tuple[Path, ...],
    changed_since: str | None,
    now: datetime | None,
    fmt: str | None,
    root: Path,
) -> None:
    """Check the policy and every request; print all problems, then exit."""
    repo = Repo.at(root)
    named = [repo.relative(Path.cwd() / p) for p in paths]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise ConfigError(f"no such file: {missing[0]}")
    checked = set(named)
    if changed_since:
        checked |= set(git.changed_since(repo.root, changed_since))
    result = validate_repo(
        repo, now=options.now_or_clock(now), time_checked=checked, only=named or None
    )
    chosen = options.output_format(fmt)
    click.echo(problem_formats.render(result.problems, chosen), nl=False)
    if chosen == "github":
        options.append_summary(problem_formats.summary_markdown(result.problems))
    options.finish(bool(result.errors))
