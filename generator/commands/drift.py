"""`lapse drift`: live IAM policies (version 3) compared with the grants in the repository."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from generator.checks.validate import archived_requests
from generator.commands import adapters, options
from generator.core.errors import ConfigError
from generator.core.repo import Repo
from generator.lifecycle import drift as drifting
from generator.lifecycle import drift_text
from generator.terraform.bindings import bindings_of_requests, read_bindings
from generator.terraform.hcl import HclError


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--open-issues", is_flag=True, help="Open one incident issue per CRITICAL finding, never twice."
)
@options.now_option
@options.root_option
def drift(fmt: str, open_issues: bool, now: datetime | None, root: Path) -> None:
    """Compare live IAM policies (version 3) with the grants in the repository."""
    from generator.gcp.iam_policies import IamPolicyReader  # noqa: PLC0415 - loads google-auth

    repo = Repo.at(root)
    try:
        current = read_bindings(repo.grants)
    except HclError as exc:
        raise ConfigError(str(exc)) from None
    archived = bindings_of_requests(archived_requests(repo))
    report = drifting.run_drift(
        current,
        IamPolicyReader(adapters.build_session()),
        options.now_or_clock(now),
        archived=archived,
    )
    text = drift_text.to_json(report) if fmt == "json" else drift_text.to_text(report)
    click.echo(text, nl=False)
    if open_issues:
        client = adapters.github()
        for finding in report.findings:
            if finding.severity == "CRITICAL":
                number = client.ensure_issue(
                    drift_text.incident_key(finding),
                    drift_text.incident_title(finding),
                    drift_text.incident_body(finding),
                    ["security-incident", "lapse-drift"],
                )
                click.echo(f"incident #{number}: {drift_text.incident_title(finding)}", err=True)
    sys.exit(drift_text.report_exit_code(report))
