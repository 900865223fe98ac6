"""`lapse drift`: live IAM policies (version 3) compared with the grants in the repository."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands import adapters, options
from generator.core.errors import ConfigError
from generator.core.model import Policy
from generator.core.repo import Repo

if TYPE_CHECKING:
    from generator.lifecycle import drift as drifting

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command()
@options.format_option(("generator.lifecycle.drift_text:FORMATS", ("text", "json")))
@click.option(
    "--open-issues",
    is_flag=True,
    help="Open one incident issue per CRITICAL or HIGH finding, never twice.",
)
@options.now_option
@options.root_option
def drift(fmt: str, open_issues: bool, now: datetime | None, root: Path) -> int:
    """Compare live IAM policies (version 3) with the grants in the repository."""
    from generator.checks.validate import read_requests, validate_repo
    from generator.gcp.iam_policies import IamPolicyReader
    from generator.lifecycle import drift as drifting
    from generator.lifecycle import drift_text
    from generator.lifecycle.grant_trust import untrusted_grant_files
    from generator.terraform.bindings import bindings_of_requests
    from generator.terraform.render import render_all

    repo = Repo.at(root)
    policy = validate_repo(repo, now=None).policy
    if policy is None:
        raise ConfigError("policy/policy.yaml is not valid: run `lapse validate`")
    current, unreadable = read_requests(repo, repo.request_files())
    rendered = render_all(current)
    # A broken file is reported where it is; the others are still compared.
    archived, unreadable_archived = read_requests(repo, repo.archive_files())
    problems = [*unreadable, *unreadable_archived]
    for problem in problems:
        click.echo(
            f"{problem.path}:{problem.line}:{problem.col}: {problem.rule} {problem.message}",
            err=True,
        )
    report = drifting.run_drift(
        bindings_of_requests(current),
        IamPolicyReader(adapters.build_session()),
        options.now_or_clock(now),
        archived=bindings_of_requests(archived),
        also_check=allowed_resources(policy),
        people=[f"user:{email}" for email in policy.people.values()],
    )
    distrusted = untrusted_grant_files(repo.grants, rendered, label=repo.relative(repo.grants))
    report = drifting.DriftReport(
        drifting.in_order((*report.findings, *distrusted)), report.resources_checked
    )
    click.echo(drift_text.FORMATS.write(fmt, report), nl=False)
    if open_issues:
        _open_incidents(report)
    code = drift_text.report_exit_code(report)
    return 1 if problems and code == 0 else code


def allowed_resources(policy: Policy) -> list[tuple[str, str]]:
    """Every resource some target allows: their policies are swept for orphans and people."""
    return [
        (kind, name)
        for target in policy.targets.values()
        for kind, names in target.resources.items()
        for name in names
    ]


def _open_incidents(report: drifting.DriftReport) -> None:
    # Issues come from the same reading as the report printed above: never a second one.
    from generator.lifecycle import drift_text

    client = adapters.github()
    for finding in drift_text.incidents(report):
        number = client.ensure_issue(
            drift_text.incident_key(finding),
            drift_text.incident_title(finding),
            drift_text.incident_body(finding),
            ["security-incident", "lapse-drift"],
        )
        click.echo(f"incident #{number}: {drift_text.incident_title(finding)}", err=True)
