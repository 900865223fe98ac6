"""What the repository's workflows need from GitHub, read from the workflow files themselves.

`lapse doctor` checks the settings against these, so a renamed job, a new variable or a wider
GitHub App permission is checked the day it is written, not when someone updates a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from generator.core.errors import ConfigError

APP_TOKEN_ACTION = "actions/create-github-app-token@"  # noqa: S105 - an action, not a secret
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_VARIABLE = re.compile(r"\bvars\.([A-Za-z_][A-Za-z0-9_]*)")
_SECRET = re.compile(r"\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)")
_LEVELS = {"read": 1, "write": 2}


@dataclass(frozen=True, slots=True)
class WorkflowNeeds:
    """Check names, environments, variables, secrets and App permissions the workflows use."""

    required_checks: tuple[str, ...]
    environments: tuple[str, ...]
    variables: tuple[str, ...]
    secrets: dict[str, tuple[str, ...]]  # environment ("" = none) -> secret names
    app_permissions: dict[str, str]  # GitHub App permission -> read | write

    def without_secret(self, name: str) -> WorkflowNeeds:
        """These needs less one secret, for a feature the policy leaves off (a workflow step
        that reads it then does nothing without it)."""
        kept = {env: tuple(n for n in names if n != name) for env, names in self.secrets.items()}
        return replace(self, secrets={env: names for env, names in kept.items() if names})


def read_needs(workflows: Path) -> WorkflowNeeds:
    """The needs of every `*.yml` / `*.yaml` workflow under `workflows`."""
    files = _files(workflows)
    if not files:
        raise ConfigError(f"no workflows in {workflows}: lapse doctor checks what they need")
    loaded = [(path, _load(path)) for path in files]
    checks: set[str] = set()
    environments: set[str] = set()
    variables: set[str] = set()
    secrets: dict[str, set[str]] = {}
    permissions: dict[str, str] = {}
    for path, workflow in loaded:
        variables.update(_named(_VARIABLE, path.read_text(encoding="utf-8")))
        for name, job in _jobs(workflow):
            environment = _environment(job)
            if environment:
                environments.add(environment)
            job_text = yaml.safe_dump(job, width=10**6)
            secrets.setdefault(environment, set()).update(_named(_SECRET, job_text))
            if _is_pull_request_check(workflow, job):
                checks.add(str(job.get("name", name)))
            _merge_app_permissions(permissions, job)
    return WorkflowNeeds(
        required_checks=tuple(sorted(checks)),
        environments=tuple(sorted(environments)),
        variables=tuple(sorted(variables)),
        secrets={env: tuple(sorted(names)) for env, names in sorted(secrets.items()) if names},
        app_permissions=dict(sorted(permissions.items())),
    )


def _named(pattern: re.Pattern[str], text: str) -> set[str]:
    """Names `pattern` finds inside `${{ }}` expressions (a script may say `secrets.x` too)."""
    expressions = _EXPRESSION.findall(text)
    return {name for expression in expressions for name in pattern.findall(expression)}


def _files(workflows: Path) -> list[Path]:
    return sorted([*workflows.glob("*.yml"), *workflows.glob("*.yaml")])


def _load(path: Path) -> dict[Any, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the workflow: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a workflow must be a mapping")
    return data


def _jobs(workflow: dict[Any, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    jobs = workflow.get("jobs")
    if isinstance(jobs, dict):
        for name, job in jobs.items():
            if isinstance(job, dict):
                yield str(name), job


def _triggers(workflow: dict[Any, Any]) -> set[str]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    raw = workflow.get("on", workflow.get(True))
    if isinstance(raw, str):
        return {raw}
    if isinstance(raw, list | dict):
        return {str(item) for item in raw}
    return set()


def _is_pull_request_check(workflow: dict[Any, Any], job: dict[str, Any]) -> bool:
    """A job that reports a check on every pull request: triggered by it and never skipped.

    A job with an `if:` (the plan comment: same-repository pull requests only) may be skipped,
    and a skipped required check blocks merging, so it is not one to require.
    """
    if "pull_request" not in _triggers(workflow):
        return False
    condition = str(job.get("if", "")).replace(" ", "")
    return condition in ("", "${{!cancelled()}}", "!cancelled()")


def _environment(job: dict[str, Any]) -> str:
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    return str(environment) if environment else ""


def _merge_app_permissions(permissions: dict[str, str], job: dict[str, Any]) -> None:
    for step in job.get("steps") or []:
        if not isinstance(step, dict) or not str(step.get("uses", "")).startswith(APP_TOKEN_ACTION):
            continue
        for key, level in (step.get("with") or {}).items():
            if not str(key).startswith("permission-") or str(level) not in _LEVELS:
                continue
            scope = str(key).removeprefix("permission-").replace("-", "_")
            if _LEVELS[str(level)] > _LEVELS.get(permissions.get(scope, ""), 0):
                permissions[scope] = str(level)
