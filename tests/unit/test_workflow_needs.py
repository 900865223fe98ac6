"""Reading what the workflows need from GitHub: check names, environments, variables, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.core.errors import ConfigError
from generator.github.workflow_needs import read_needs

PULL_REQUEST = """\
on: pull_request
jobs:
  lint:
    name: Lint and types
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ vars.LINT_LEVEL }}"
  comment:
    if: github.event.pull_request.head.repo.full_name == github.repository
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
  plan:
    needs: lint
    if: ${{ !cancelled() }}
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
"""
SCHEDULED = """\
on:
  schedule:
    - cron: "7 * * * *"
jobs:
  expire:
    environment:
      name: automation
    runs-on: ubuntu-latest
    steps:
      - uses: actions/create-github-app-token@bcd2ba49218906704ab6c1aa796996da409d3eb1 # v3.2.0
        with:
          client-id: ${{ vars.APP_CLIENT_ID }}
          private-key: ${{ secrets.APP_KEY }}
          permission-pull-requests: read
          permission-contents: write
      - uses: actions/create-github-app-token@bcd2ba49218906704ab6c1aa796996da409d3eb1 # v3.2.0
        with:
          client-id: ${{ vars.APP_CLIENT_ID }}
          private-key: ${{ secrets.APP_KEY }}
          permission-pull-requests: write
      - run: python -c "import secrets; print(secrets.token_hex())"
"""


def workflows(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / f"{name}.yml").write_text(text, encoding="utf-8")
    return folder


def test_required_checks_are_pull_request_jobs_that_always_run(tmp_path: Path) -> None:
    needs = read_needs(workflows(tmp_path, checks=PULL_REQUEST, expire=SCHEDULED))
    assert needs.required_checks == ("Lint and types", "plan")


def test_environments_variables_secrets_and_app_permissions(tmp_path: Path) -> None:
    needs = read_needs(workflows(tmp_path, checks=PULL_REQUEST, expire=SCHEDULED))
    assert needs.environments == ("automation",)
    assert needs.variables == ("APP_CLIENT_ID", "LINT_LEVEL")
    assert needs.secrets == {"automation": ("APP_KEY",)}, "a script's `secrets.` is no secret"
    assert needs.app_permissions == {"contents": "write", "pull_requests": "write"}


def test_no_workflows_or_an_unreadable_one_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no workflows"):
        read_needs(tmp_path / "absent")
    folder = workflows(tmp_path, broken="on: [push\njobs: {")
    with pytest.raises(ConfigError, match=r"broken\.yml"):
        read_needs(folder)
