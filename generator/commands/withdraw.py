"""`lapse withdraw ID --reason TEXT`: end an active or pending grant early, recording why."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from generator.commands import options, output
from generator.commands.expire import show_commit
from generator.core import git
from generator.core.errors import ConfigError
from generator.core.repo import Repo

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command()
@click.argument("request_id", metavar="ID")
@click.option("--reason", required=True, help="Why the access ends early (kept in the commit).")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@options.allow_dirty_option
@options.now_option
@options.root_option
def withdraw(
    request_id: str,
    reason: str,
    dry_run: bool,
    allow_dirty: bool,
    now: datetime | None,
    root: Path,
) -> int:
    """End a grant before it expires: archive it as expiry would, in one commit.

    On the default branch the commit goes on a new branch withdraw/ID, ready for a pull
    request; once merged and applied, the binding is gone.
    """
    from generator.lifecycle import checkout
    from generator.lifecycle import expire as expiry
    from generator.lifecycle.withdrawal import plan_withdrawal, withdrawal_message

    repo = Repo.at(root)
    moment = options.now_or_clock(now)
    plan = plan_withdrawal(repo, request_id, reason, moment)
    item = plan.items[0]
    click.echo(f"withdraw {item.path} ({item.request.requester}, until {item.expired_at})")
    for grant in item.request.grants:
        click.echo(f"  ends: {grant.role} on {grant.kind.replace('_', ' ')} {grant.resource}")
    # A dry run refuses what the real run refuses, and names the branch it would commit on.
    current = checkout.refuse_unsafe(repo.root, allow_dirty=allow_dirty, allow_other_branch=True)
    expiry.refuse_to_apply(repo.root, plan)
    branch = _branch(repo, current, plan.items[0].request.id)
    if dry_run:
        if branch != current:
            click.echo(f"would switch to a new branch {branch}")
        show_commit(plan, f"{branch} (dry run: nothing committed)")
        return options.EXIT_CLEAN
    if branch != current:
        git.git(repo.root, "switch", "-q", "-c", branch)
        click.echo(f"switched to a new branch {branch}")
    show_commit(plan, branch)
    message = withdrawal_message(plan, reason, git.user_email(repo.root), moment)
    sha = expiry.apply_local(repo, plan, message)
    click.echo(f"committed {sha}" if sha else "no commit")
    output.say("next: git push -u origin HEAD, then open a pull request (gh pr create --fill)")
    return options.EXIT_CLEAN


def _branch(repo: Repo, current: str, request_id: str) -> str:
    """The branch the commit goes on: withdraw/ID, new, when on the default branch."""
    default = git.default_branch(repo.root)
    if default is None or current != default.removeprefix("origin/"):
        return current
    branch = f"withdraw/{request_id}"
    if git.git(repo.root, "branch", "--list", branch).strip():
        raise ConfigError(
            f"branch {branch} exists already: switch to it to commit there "
            f"(git switch {branch}), or delete it (git branch -D {branch}). Nothing was archived."
        )
    return branch
