"""`lapse doctor`: a read-only check of the GitHub and Google Cloud setup, with every fix."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands import adapters, options
from generator.core import git
from generator.core.checklist import CheckItem, State, anything_wrong, cannot_tell
from generator.core.errors import ConfigError, ServiceError
from generator.core.model import Policy
from generator.core.repo import Repo

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help

if TYPE_CHECKING:
    import requests

    from generator.github.setup_check import GitHubCheck

CREDENTIALS_HINT = (
    "lapse doctor reads the repository's settings on GitHub: set GITHUB_TOKEN to a token of an "
    "organization owner (App installations and organization rulesets need one) (for example "
    "GITHUB_TOKEN=$(gh auth token)), and GITHUB_REPOSITORY=OWNER/NAME unless the git remote "
    "origin names it"
)
UNREAD_SUBJECT = "GitHub was not read (no GITHUB_TOKEN)"

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

    Reads only. The repository is GITHUB_REPOSITORY, else the one the git remote origin names.
    Without GITHUB_TOKEN only Google Cloud is checked, its names (WIF_PROVIDER and the
    *_SERVICE_ACCOUNT variables) taken from the environment. Exit 0 when everything is right,
    1 when something is missing or wrong, or was not checked (a permission the doctor's
    identity lacks is named as such), 2 without any credentials, 3 when GitHub or Google
    Cloud fails after retries.
    """
    from generator.github.setup_check import check_github
    from generator.github.watch_workflow import watch_workflow_items
    from generator.github.workflow_needs import read_needs
    from generator.lifecycle.notifications import WEBHOOKS

    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    needs = read_needs(repo.root / ".github" / "workflows")
    if policy.notifications is None:  # the notify steps tell nobody: their secret is not needed
        needs = needs.without_secret(WEBHOOKS)
    repository, source = _repository(repo)
    token = bool(os.environ.get("GITHUB_TOKEN"))
    if token and not repository:
        raise ConfigError(f"{CREDENTIALS_HINT}: no GITHUB_REPOSITORY and no git remote origin")
    github = None
    if token and repository:
        try:
            github = check_github(
                adapters.github(repository), repository, needs, owners(policy), app_slug
            )
        except ServiceError as exc:
            raise ServiceError(f"{exc}. {READER_HINT}") from exc
        items = list(github.items)
        session, unchecked = _google_session()
    else:
        session, unchecked = _google_session()
        if session is None:
            raise ConfigError(f"nothing checked: {CREDENTIALS_HINT}; and {unchecked}")
        items = [_unchecked_github(repository)]
    click.echo(checklist_text(f"GitHub: {repository or '?'}{source}", items), nl=False)
    watching = watch_workflow_items(repo.root)
    click.echo("\n" + checklist_text("Watching the controls", watching), nl=False)
    items += watching
    if session is None:
        click.echo(f"\nGoogle Cloud: not checked: {unchecked}\n")
    else:
        items += _cloud(session, policy, repository or "", github)
    click.echo("\n" + summary(items))
    return options.outcome(anything_wrong(items))


def _cloud(
    session: requests.Session, policy: Policy, repository: str, github: GitHubCheck | None
) -> list[CheckItem]:
    """The Google Cloud items, printed; without GitHub, its names come from the environment."""
    from generator.gcp.doctor_access import DoctorSession
    from generator.gcp.setup_check import (
        VARIABLES,
        GcpCheck,
        GoogleJson,
    )

    names = ("WIF_PROVIDER", *VARIABLES.values())
    cloud = GcpCheck(
        GoogleJson(DoctorSession(session)),
        policy,
        repository,
        github.variables if github else _from_environment(names),
        (github.subject_prefix, github.subject_note) if github else (None, UNREAD_SUBJECT),
        repository_id=github.repository_id if github else None,
    ).items()
    where = "" if github else f" (names from the environment: {', '.join(names)})"
    click.echo("\n" + checklist_text(f"Google Cloud{where}", cloud), nl=False)
    return cloud


def _google_session() -> tuple[requests.Session | None, str]:
    """The session the Google Cloud checks read with, or None and why there is none."""
    try:
        return adapters.admin_session(), ""
    except ConfigError as exc:
        return None, str(exc)


def _repository(repo: Repo) -> tuple[str | None, str]:
    """OWNER/NAME from GITHUB_REPOSITORY, else from the remote origin; and where it came from."""
    named = os.environ.get("GITHUB_REPOSITORY")
    if named:
        return named, ""
    found = git.origin_repository(repo.root)
    return found, " (from git remote origin)" if found else ""


def _unchecked_github(repository: str | None) -> CheckItem:
    return cannot_tell(
        "GitHub",
        "repository settings",
        "not checked: GITHUB_TOKEN is not set",
        CREDENTIALS_HINT
        if repository
        else f"{CREDENTIALS_HINT} (no GITHUB_REPOSITORY and no git remote origin here)",
    )


def _from_environment(names: Sequence[str]) -> dict[str, str]:
    """Without GitHub, the repository variables the Google Cloud check names, as set here."""
    return {name: os.environ[name] for name in names if os.environ.get(name)}


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
