"""Building the clients that talk to GitHub and Google Cloud, from the environment.

Each is imported when a command runs, so that validate, render and the pre-commit hooks start
without loading PyGithub and Google's clients; tests replace these functions.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TypeVar

from generator.core.errors import ConfigError

if TYPE_CHECKING:
    import requests

    from generator.gcp.role_sync import RoleReader
    from generator.github.client import GitHubClient
    from generator.github.control_issues import ControlIssues

C = TypeVar("C", bound="GitHubClient")

# ruff: noqa: PLC0415


def build_session() -> requests.Session:
    """An authorized session for Google's REST APIs (Application Default Credentials)."""
    from generator.gcp.iam_policies import build_session as authorized

    return authorized()


def admin_session() -> requests.Session:
    """`build_session`, also allowed to read users (Directory API) and Login Audit (Reports API)."""
    from generator.gcp.iam_policies import build_session as authorized
    from generator.gcp.two_step import DIRECTORY_SCOPE, REPORTS_SCOPE

    return authorized(DIRECTORY_SCOPE, REPORTS_SCOPE)


def build_iam_client() -> RoleReader:
    from generator.gcp.role_sync import build_iam_client as iam_client

    return iam_client()


def logging_client(project: str) -> Any:
    from generator.review.logging_source import logging_client as client

    return client(project)


def bigquery_client(project: str) -> Any:
    from google.cloud import bigquery

    return bigquery.Client(project=project)


def github_repository() -> str:
    """OWNER/NAME of this repository, as Actions sets it."""
    repository = os.environ.get("GITHUB_REPOSITORY")
    if not repository:
        raise ConfigError("set GITHUB_REPOSITORY (owner/name)")
    return repository


def github(repository: str | None = None) -> GitHubClient:
    """The GitHub adapter for `repository` (default: GITHUB_REPOSITORY), from the variables
    Actions sets."""
    from generator.github.client import GitHubClient

    return _github(GitHubClient, repository)


def control_issues() -> ControlIssues:
    """`github()` with the incident-issue writes of `lapse watch`."""
    from generator.github.control_issues import ControlIssues

    return _github(ControlIssues)


def _github(kind: type[C], repository: str | None = None) -> C:
    token = os.environ.get("GITHUB_TOKEN")
    repository = repository or os.environ.get("GITHUB_REPOSITORY")
    if not token or not repository:
        raise ConfigError("set GITHUB_TOKEN and GITHUB_REPOSITORY (owner/name)")
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    # Whose issues count as lapse's own: the Actions token cannot read GET /user, and opens
    # issues as github-actions[bot]; any other identity is named or read from GET /user.
    login = os.environ.get("LAPSE_GITHUB_LOGIN") or (
        "github-actions[bot]" if os.environ.get("GITHUB_ACTIONS") == "true" else None
    )
    return kind(repository, token, base_url=api, login=login)
