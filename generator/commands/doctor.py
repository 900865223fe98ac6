"""`lapse doctor`: a read-only check of the GitHub and Google Cloud setup, with every fix."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import click

from generator.commands import adapters, options
from generator.core.checklist import CheckItem, State, anything_wrong
from generator.core.errors import ConfigError, ServiceError
from generator.core.model import Policy
from generator.core.repo import Repo

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help

CREDENTIALS_HINT = (
    "lapse doctor reads the repository's settings on GitHub: set GITHUB_TOKEN to a token of an "
    "organization owner (App installations and organization rulesets need one) (for example "
    "GITHUB_TOKEN=$(gh auth token)) and GITHUB_REPOSITORY=OWNER/NAME"
)

READER_HINT = (
    "lapse doctor reads rulesets, branch protection, environments, variables, secret names and "
    "the organization's App installations: run it with an organization owner's token "
    "(GITHUB_TOKEN=$(gh auth token)); what such a token still cannot read is shown as cannot tell"
)


@click.command()
@click.option(
    "--app-slug",
    envvar="LAPSE_APP_SLUG",
    metavar="SLUG",
    help="The GitHub App the workflows use (https://github.com/apps/SLUG); env LAPSE_APP_SLUG.",
)
@options.root_option
def doctor(app_slug: str | None, root: Path) -> int:
    """Check the GitHub and Google Cloud setup; print each item, and the fix of what is not right.

    Reads only. Exit 0 when everything is right, 1 when something is missing or wrong (a
    permission the doctor's identity lacks is named as such), 2 without credentials, 3 when
    GitHub or Google Cloud fails after retries.
    """
    from generator.gcp.doctor_access import DoctorSession
    from generator.gcp.setup_check import GcpCheck, GoogleJson
    from generator.github.setup_check import check_github
    from generator.github.workflow_needs import read_needs
    from generator.lifecycle.notifications import WEBHOOKS

    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    needs = read_needs(repo.root / ".github" / "workflows")
    if policy.notifications is None:  # the notify steps tell nobody: their secret is not needed
        needs = needs.without_secret(WEBHOOKS)
    try:
        client = adapters.github()
    except ConfigError:
        raise ConfigError(CREDENTIALS_HINT) from None
    repository = os.environ["GITHUB_REPOSITORY"]
    try:
        github = check_github(client, repository, needs, owners(policy), app_slug)
    except ServiceError as exc:
        raise ServiceError(f"{exc}. {READER_HINT}") from exc
    click.echo(checklist_text(f"GitHub: {repository}", github.items), nl=False)
    items = list(github.items)
    try:
        session = adapters.admin_session()
    except ConfigError as exc:
        click.echo(f"\nGoogle Cloud: not checked: {exc}\n")
    else:
        subject = (github.subject_prefix, github.subject_note)
        cloud = GcpCheck(
            GoogleJson(DoctorSession(session)),
            policy,
            repository,
            github.variables,
            subject,
            repository_id=github.repository_id,
        ).items()
        click.echo("\n" + checklist_text("Google Cloud", cloud), nl=False)
        items += cloud
    click.echo("\n" + summary(items))
    return options.outcome(anything_wrong(items))


def owners(policy: Policy) -> list[str]:
    """Every code owner CODEOWNERS names: the security owners, each target's approvers and its
    emergency approvers."""
    handles = [*policy.security_owners]
    for target in policy.targets.values():
        handles += target.approvers
        handles += target.emergency.approvers if target.emergency else ()
    return list(dict.fromkeys(handles))


def checklist_text(title: str, items: Sequence[CheckItem]) -> str:
    lines = [title]
    for item in items:
        detail = f": {item.detail}" if item.detail else ""
        lines.append(f"  {item.state.value:<8} {item.area}: {item.subject}{detail}")
        if item.fix:
            fix = item.fix.splitlines()
            lines.append(f"           fix: {fix[0]}")
            lines += [f"                {line}" for line in fix[1:]]
    return "\n".join(lines) + "\n"


def summary(items: Sequence[CheckItem]) -> str:
    counts = {state: sum(item.state is state for item in items) for state in State}
    text = ", ".join(f"{counts[state]} {state.value}" for state in State)
    if anything_wrong(items):
        return f"{text}: fix the items above, then run lapse doctor again"
    return f"{text}: all green, the setup is done"
