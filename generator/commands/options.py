"""Options and helpers every command shares: instants, durations, the repository, the format."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from generator.commands import output
from generator.core.errors import ConfigError, ProblemsShown
from generator.core.formats import Formats
from generator.core.repo import Repo, find_root
from generator.core.times import (
    INSTANT_HELP,
    read_duration,
    read_instant,
    read_instant_or_duration,
)
from generator.core.writing import append_file

if TYPE_CHECKING:
    from generator.checks.problem_formats import Problems
    from generator.core.model import Policy

# ruff: noqa: PLC0415 - a command's help loads only this layer and core (test_help_imports)

EXIT_CLEAN, EXIT_FINDINGS = 0, 1
_CLOCK = "lapse.clock"  # ctx.meta key: the instant `--at` fixed, for relative times elsewhere


def _reference(ctx: click.Context) -> datetime:
    fixed = ctx.meta.get(_CLOCK)
    return fixed if isinstance(fixed, datetime) else datetime.now(UTC)


def instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An instant as typed; relative ones (`+2h`) count from `--at` when given, else the clock."""
    if value is None:
        return None
    try:
        return read_instant(value, _reference(ctx))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def duration(_ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return read_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """`--since`: an instant, or a duration back from `--at` (or the clock)."""
    if value is None:
        return None
    try:
        return read_instant_or_duration(value, _reference(ctx))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def _fix_clock(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    # Parsed first (eager), against the real clock, so other options can count from it.
    moment = instant(ctx, param, value)
    if moment is not None:
        ctx.meta[_CLOCK] = moment
    return moment


def now_or_clock(value: datetime | None) -> datetime:
    """The instant given on the command line, else the clock: the one place that reads it."""
    return value if value is not None else datetime.now(UTC).replace(microsecond=0)


def output_format(value: str | None) -> str:
    if value is not None:
        return value
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


class FormatOption(click.Option):
    """`--format`; `formats_at` names the map it offers ("module:ATTRIBUTE"), when given so."""

    def __init__(self, *args: Any, formats_at: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.formats_at = formats_at


def format_option(
    formats: Formats[Any] | tuple[str, tuple[str, ...]], *, unset: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--format`, offering the keys of `formats` and defaulting to the first; with `unset`
    (its help), no default: the command chooses, as that help says.

    `formats` may be where a map lives and its keys, `("module:ATTRIBUTE", ("text", ...))`, so
    that a command's help loads nothing of the stage that writes it; a test holds every
    command's keys to its map's."""
    where, names = (None, tuple(formats)) if isinstance(formats, Formats) else formats
    return click.option(
        "--format",
        "fmt",
        cls=FormatOption,
        formats_at=where,
        type=click.Choice(list(names)),
        default=None if unset else names[0],
        show_default=not unset,
        help=unset,
    )


def _root(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path:
    """--root as given, else the nearest folder upwards holding policy/policy.yaml (like git)."""
    if value is not None:
        return value
    found = find_root(Path.cwd())
    if found is None:
        raise ConfigError(
            f"{Path.cwd()} is not inside a lapse repository (no policy/policy.yaml here or in "
            "any parent folder); run lapse from the repository, or pass -C PATH"
        )
    return found


root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    callback=_root,
    help="The lapse repository [default: the nearest folder upwards with policy/policy.yaml].",
)


def at_option(*old_names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--at T`, the instant a command judges, under one name everywhere (old names kept)."""
    return click.option(
        "--at",
        *old_names,
        "now",
        callback=_fix_clock,
        is_eager=True,
        metavar="T",
        help=f"The instant to judge, instead of the clock: {INSTANT_HELP}.",
    )


now_option = at_option("--now")
allow_dirty_option = click.option(
    "--allow-dirty",
    is_flag=True,
    help="Commit although files outside requests/, archive/ and terraform/ are uncommitted.",
)


def _verbosity(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    # ctx.meta is shared by the group and its commands: -q before and -v after contradict too.
    if not value:
        return
    asked = ctx.meta.setdefault(_ASKED, set())
    asked.add(param.name)
    if len(asked) > 1:
        raise click.UsageError("-q and -v contradict each other; give one")
    output.set_verbosity(ctx, output.QUIET if param.name == "quiet" else output.VERBOSE)


_ASKED = "lapse.verbosity.asked"
_C = TypeVar("_C", bound=click.Command)
VERBOSITY = (
    click.Option(
        ["-q", "--quiet"],
        is_flag=True,
        expose_value=False,
        callback=_verbosity,
        help="Print only problems and errors.",
    ),
    click.Option(
        ["-v", "--verbose"],
        is_flag=True,
        expose_value=False,
        callback=_verbosity,
        help="Also print what was checked, file by file.",
    ),
)


def with_verbosity(command: _C) -> _C:
    """`command`, and each command under it, taking -q and -v (before or after its name)."""
    if not any(param.name == "quiet" for param in command.params):
        command.params += VERBOSITY
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_verbosity(sub)
    return command


def append_summary(markdown: str) -> None:
    """Add to the GitHub Actions job summary, when there is one."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        append_file(Path(target), markdown)


def show_problems(
    repo: Repo,
    problems: Problems,
    *,
    err: bool = True,
    texts: Mapping[str, str] | None = None,
) -> None:
    """Problems as text, with the source line and a caret, coloured in a terminal.

    `texts` gives the content of files not (or no longer) on disk, such as a refused draft.
    """
    from generator.checks import problem_formats

    text = problem_formats.to_text(
        sorted(problems),
        source=output.source_lines(repo, texts or {}),
        paint=output.painter(err=err),
    )
    click.echo(text, nl=False, err=err)


def show_unreadable(repo: Repo, problems: Problems) -> bool:
    """Files the command read past, each shown where it goes wrong; whether there were any."""
    if problems:
        show_problems(repo, problems)
    return bool(problems)


def policy_or_exit(repo: Repo) -> Policy:
    """The policy, or the problems that make it unusable shown, and the command ends (exit 1)."""
    from generator.checks.validate import validate_policy

    policy, problems = validate_policy(repo)
    if policy is None or any(p.level == "error" for p in problems):
        show_problems(repo, problems)
        raise ProblemsShown
    return policy


def outcome(failed: bool) -> int:
    """A command's exit code: 1 when it found something to fix, else 0."""
    return EXIT_FINDINGS if failed else EXIT_CLEAN
