"""`lapse verify-approvals --commit SHA`: every request a merge brought in was approved."""

from __future__ import annotations

from pathlib import Path

import click

from generator.commands import adapters, options
from generator.core.repo import Repo
from generator.lifecycle.emergency import emergency_history, repeat_paths


@click.command("verify-approvals")
@click.option("--commit", "sha", required=True, metavar="SHA", help="The merge commit on main.")
@options.root_option
def verify_approvals(sha: str, root: Path) -> None:
    """Prove every request merged by SHA had a valid approval; print the evidence as JSON."""
    from generator.github.approvals import (  # noqa: PLC0415 - loads PyGithub
        verify_approvals as verify,
    )

    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    # An emergency file that cannot be read could hide a repeat: named, and the run fails.
    history, unreadable = emergency_history(repo)
    repeats = repeat_paths(policy, history)
    skipped = options.show_unreadable(repo, unreadable)
    result = verify(adapters.github(), policy, sha, repeat_emergencies=repeats)
    click.echo(result.to_json())
    for failure in result.failures:
        click.echo(f"not approved: {failure}", err=True)
    options.finish(not result.ok or skipped)
