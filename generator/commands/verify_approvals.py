"""`lapse verify-approvals --commit SHA`: every request a merge brought in was approved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands import adapters, options
from generator.core.model import Problem
from generator.core.repo import Repo

if TYPE_CHECKING:
    from generator.lifecycle.record_approvals import RecordVerdict

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command("verify-approvals")
@click.option("--commit", "sha", required=True, metavar="SHA", help="The merge commit on main.")
@options.root_option
def verify_approvals(sha: str, root: Path) -> int:
    """Prove every request merged by SHA had a valid approval, and that SHA changed archive/
    and reports/ only as lapse does (or the security owners approved); print the evidence."""
    from generator.checks.record_history import merge_problems
    from generator.github.approvals import (
        verify_approvals as verify,
    )
    from generator.lifecycle.emergency import emergency_history, repeat_paths
    from generator.lifecycle.record_approvals import judge_records

    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    # An emergency file that cannot be read could hide a repeat: named, and the run fails.
    history, unreadable = emergency_history(repo)
    repeats = repeat_paths(policy, history)
    skipped = options.show_unreadable(repo, unreadable)
    client = adapters.github()
    result = verify(client, policy, sha, repeat_emergencies=repeats)
    found = merge_problems(repo.root, sha)
    records = judge_records({sha: found} if found else {}, policy, lambda: client)
    evidence = {**result.evidence, "records": _records(found, records)}
    click.echo(json.dumps(evidence, indent=2, sort_keys=True, ensure_ascii=False))
    for failure in result.failures:
        click.echo(f"not approved: {failure}", err=True)
    for line in (line for record in records if not record.ok for line in record.lines()):
        click.echo(f"not approved: {line.removeprefix('refused: ')}", err=True)
    return options.outcome(not result.ok or skipped or not all(record.ok for record in records))


def _records(found: list[Problem] | None, records: tuple[RecordVerdict, ...]) -> object:
    if found is None:
        return "not checked: the root is no git checkout to read the commit's changes from"
    return [record.evidence for record in records]
