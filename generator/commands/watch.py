"""`lapse watch`: lapse's own controls checked; one incident issue per failing control."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands import adapters, options
from generator.core.controls import REGISTRY
from generator.core.errors import ConfigError
from generator.core.repo import Repo

if TYPE_CHECKING:
    from generator.lifecycle.watch_checks import Google

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command()
@options.format_option(("generator.lifecycle.watch_text:FORMATS", ("text", "json")))
@click.option(
    "--open-issues",
    is_flag=True,
    help="Open one incident issue per failing control, update it, close it on recovery.",
)
@click.option(
    "--memory",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File that keeps, between runs, since when each control has failed or been unreadable.",
)
@click.option(
    "--control",
    "only",
    multiple=True,
    type=click.Choice(sorted(REGISTRY)),
    help="Check only this control (repeatable).",
)
@options.now_option
@options.root_option
def watch(
    fmt: str,
    open_issues: bool,
    memory: Path | None,
    only: tuple[str, ...],
    now: datetime | None,
    root: Path,
) -> int:
    """Check lapse's own controls (PCI DSS 10.7.2): scheduled runs, apply, pull requests,
    audit logs and their sink, incidents, drift and recertification.

    Each is ok, failing (since when, why), cannot tell (never ok) or silenced by a dated
    maintenance window of the policy. Exit 0 when every control is ok or silenced, 1 otherwise.
    """
    from generator.lifecycle import watch as watching
    from generator.lifecycle import watch_text
    from generator.lifecycle.watch_checks import Watching, WatchReport

    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    github = adapters.control_issues()
    at = options.now_or_clock(now)
    google: Google | None = None
    missing = ""
    try:
        from generator.gcp.audit_sink import GoogleWatch

        google = GoogleWatch(adapters.build_session())
    except ConfigError as exc:
        missing = str(exc)
    context = Watching(
        github,
        adapters.github_repository(),
        policy,
        repo.root,
        at,
        google,
        missing,
    )
    remembered = watching.read_memory(memory)
    checked = watching.check_controls(context, remembered, only)
    if open_issues:
        checked = watching.reconcile(checked, github, at, policy.watch.cannot_tell_limit)
    if memory is not None:
        watching.write_memory(memory, checked, remembered)
    report = WatchReport(at, tuple(checked))
    click.echo(watch_text.FORMATS.write(fmt, report), nl=False)
    return options.outcome(report.failed)
