"""`lapse extend ID --by D --reason TEXT`: an active grant's window moved later, reviewed as
one small diff on a branch of its own."""

from __future__ import annotations

import difflib
import shlex
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands import adapters, options, output
from generator.core import git
from generator.core.repo import Repo
from generator.core.times import DURATION_HELP, format_duration, format_utc
from generator.core.writing import write_file

if TYPE_CHECKING:
    from generator.lifecycle.window_extension import ExtensionPlan

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


def _by(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    from generator.lifecycle.window_extension import written_duration

    by = options.duration(ctx, param, value)
    assert by is not None
    try:
        written_duration(by)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None
    return by


@click.command()
@click.argument("request_id", metavar="ID")
@click.option(
    "--by", required=True, callback=_by, metavar="D", help=f"How much longer: {DURATION_HELP}."
)
@click.option("--reason", required=True, help="Why the work needs longer (kept in the file).")
@click.option("--dry-run", is_flag=True, help="Print the change and its problems; change nothing.")
@click.option(
    "--open-pr",
    is_flag=True,
    help="Commit on GitHub to branch extend/ID-N and open its pull request; the checkout is "
    "left as it is.",
)
@options.allow_dirty_option
@options.now_option
@options.root_option
def extend(
    request_id: str,
    by: timedelta,
    reason: str,
    dry_run: bool,
    open_pr: bool,
    allow_dirty: bool,
    now: datetime | None,
    root: Path,
) -> int:
    """Extend an active grant within its target's limits, as one change for approval.

    Moves `expires` and records the extension (when, by how much, why) in the request file,
    renders its grant file, and commits both on a new branch: the extension applies once an
    approver of the target approves its pull request and it is merged.
    """
    from generator.lifecycle.window_extension import commit_message, plan_extension

    repo = Repo.at(root)
    plan = plan_extension(repo, request_id, by, reason, options.now_or_clock(now))
    request = plan.request
    click.echo(
        f"extend {request.path} ({request.requester}) by {format_duration(by)}: until "
        f"{format_utc(plan.expires)} instead of {format_utc(request.window.expires)}"
    )
    if dry_run or plan.refused:
        _show_diff(plan)
    if plan.refused:
        options.show_problems(repo, plan.problems, texts={request.path: plan.after})
        click.echo(f"refused: {request.path} not changed", err=True)
        return options.outcome(True)
    if dry_run:
        click.echo("nothing changed (--dry-run)")
        return options.EXIT_CLEAN
    message = commit_message(plan, git.user_email(repo.root))
    if open_pr:
        return _open_pr(repo, plan, message)
    return _commit_here(repo, plan, message, allow_dirty=allow_dirty)


def _show_diff(plan: ExtensionPlan) -> None:
    path = plan.request.path
    lines = difflib.unified_diff(
        plan.before.splitlines(keepends=True),
        plan.after.splitlines(keepends=True),
        f"a/{path}",
        f"b/{path}",
    )
    click.echo("".join(lines), nl=False)


def _base(repo: Repo) -> str:
    default = git.default_branch(repo.root)
    return default.removeprefix("origin/") if default else "main"


def _open_pr(repo: Repo, plan: ExtensionPlan, message: str) -> int:
    from generator.lifecycle.window_extension import LABEL, pr_body, pr_title

    client = adapters.github()
    base = _base(repo)
    client.commit_changes(plan.branch, base, plan.changes, message)
    pull = client.ensure_pull_request(plan.branch, base, pr_title(plan), pr_body(plan), [LABEL])
    click.echo(f"pull request: {pull.html_url}")
    return options.EXIT_CLEAN


def _commit_here(repo: Repo, plan: ExtensionPlan, message: str, *, allow_dirty: bool) -> int:
    from generator.lifecycle import checkout
    from generator.lifecycle.window_extension import pr_body, pr_title

    branch = checkout.refuse_unsafe(repo.root, allow_dirty=allow_dirty, allow_other_branch=True)
    base = _base(repo)
    if branch == base:
        branch = plan.branch
        git.git(repo.root, "switch", "-q", "-c", branch)
        click.echo(f"switched to a new branch {branch}")
    for path, content in plan.changes.items():
        write_file(repo.root / path, content)
    git.git(repo.root, "add", "--", *plan.changes)
    git.git(repo.root, "commit", "-q", "-m", message, "--", *plan.changes)
    click.echo(f"committed {git.git(repo.root, 'rev-parse', 'HEAD').strip()} on {branch}")
    output.say("next: push it, and open its pull request for the target's approvers:")
    output.say("  git push -u origin HEAD")
    output.say(
        "  gh pr create "
        + " ".join(
            f"{flag} {shlex.quote(value)}"
            for flag, value in (
                ("--base", base),
                ("--title", pr_title(plan)),
                ("--body", pr_body(plan)),
            )
        )
    )
    return options.EXIT_CLEAN
