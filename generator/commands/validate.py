"""`lapse validate`: every problem in the policy and the requests, then the exit code."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import click

from generator.commands import options, output
from generator.core import git
from generator.core.errors import ConfigError
from generator.core.model import Problem
from generator.core.repo import Repo, file_names
from generator.core.wording import count

if TYPE_CHECKING:
    from generator.checks.validate import Validation

# ruff: noqa: PLC0415 - the checks load when the command runs, not for its help

WHAT_LAPSE_CHECKS = (
    "lapse validate checks request files (requests/<target>/<id>.yaml), the policy "
    "(policy/policy.yaml, policy/roles.lock.json), the Terraform configuration "
    "(terraform/**/*.tf) and rendered grants (terraform/grants/*.tf)"
)
POLICY_FILES = ("policy/policy.yaml", "policy/roles.lock.json")
STALE_GRANTS_RULE = "LAPSE142"


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--changed-since",
    metavar="REF",
    help="Hold files changed since REF (and new files) to the time rules "
    "[default: the merge base with the default branch, as a pull request sees it].",
)
@options.now_option
@options.format_option(
    ("generator.checks.problem_formats:FORMATS", ("text", "json", "github")),
    unset="Output format [default: github inside GitHub Actions, else text].",
)
@options.root_option
def validate(
    paths: tuple[Path, ...],
    changed_since: str | None,
    now: datetime | None,
    fmt: str | None,
    root: Path,
) -> int:
    """Check the policy and every request; print all problems, then exit.

    Time rules (expiry in the future, lead time, duration from now) apply to the files named
    and to those changed on this branch, exactly as in the pull request's check; naming a
    folder narrows the report without holding its files to them.
    """
    from generator.checks.record_history import pull_request_problems
    from generator.checks.validate import validate_repo

    repo = Repo.at(root)
    named = [path for raw in paths for path in checkable(repo, raw)]
    # A file named is one being changed; a folder only narrows the report.
    files = {repo.relative(Path(os.path.abspath(raw))) for raw in paths if not raw.is_dir()}
    base, changed = _changed(repo, changed_since)
    time_checked = (set(named) & files) | set(changed)
    result = validate_repo(
        repo, now=options.now_or_clock(now), time_checked=time_checked, only=named or None
    )
    problems = [*result.problems, *_stale_grants(repo, result, named)]
    if base is not None:  # archive/ and reports/ change only as lapse changes them
        problems += pull_request_problems(repo.root, base)
    checked = _checked(repo, named)
    for path in checked:
        output.detail(f"checked {path}" + (" (time rules)" if path in time_checked else ""))
    chosen = options.output_format(fmt)
    _report(repo, problems, chosen, len(checked))
    return options.outcome(any(p.level == "error" for p in problems))


def _report(repo: Repo, problems: list[Problem], chosen: str, checked: int) -> None:
    from generator.checks import problem_formats

    click.echo(
        problem_formats.render(
            problems,
            chosen,
            checked=checked,
            source=output.source_lines(repo),
            paint=output.painter(err=False),
            quiet=output.verbosity() == output.QUIET,
        ),
        nl=False,
    )
    if chosen in problem_formats.WITH_SUMMARY:
        options.append_summary(problem_formats.summary_markdown(sorted(problems), checked))


def _changed(repo: Repo, changed_since: str | None) -> tuple[str | None, list[str]]:
    """(the commit changes are judged against, the files changed since), as a pull request's
    check sees them; (None, []) outside git or without a default branch."""
    if changed_since:
        return changed_since, git.changed_since(repo.root, changed_since)
    found = git.against_default(repo.root)
    if found is None:
        output.detail("time rules: only files named (no git, or no default branch)")
        return None, []
    branch, base = found
    changed = git.changed_since(repo.root, base)
    output.detail(f"time rules: {count(len(changed), 'file')} changed against {branch}")
    return base, changed


def _checked(repo: Repo, named: list[str]) -> list[str]:
    if named:
        return sorted(set(named))
    present = [p for p in POLICY_FILES if (repo.root / p).is_file()]
    return present + [repo.relative_name(name) for name in file_names(repo.requests)]


def checkable(repo: Repo, raw: Path) -> list[str]:
    """The repository paths lapse checks that `raw` names (a folder names its files).

    Anything else is a usage error: passing a file that is never checked must not look like
    a file that passed.
    """
    absolute = Path(os.path.abspath(raw))
    relative = _inside(repo, absolute)
    if relative is None:
        raise ConfigError(f"{raw} is outside the repository at {repo.root}; {WHAT_LAPSE_CHECKS}")
    if not absolute.exists() and not absolute.is_symlink():
        raise ConfigError(f"no such file: {raw}")
    if absolute.is_dir():
        found = _folder_files(repo, relative)
        if not found:
            raise ConfigError(f"{raw} holds nothing lapse checks; {WHAT_LAPSE_CHECKS}")
        return found
    if _kind(relative) is None:
        raise ConfigError(
            f"{raw} is not something lapse checks{_why(relative)}; {WHAT_LAPSE_CHECKS}"
        )
    return [relative]


def _inside(repo: Repo, absolute: Path) -> str | None:
    for candidate in (absolute, absolute.resolve()):
        try:
            return candidate.relative_to(repo.root).as_posix()
        except ValueError:
            continue
    return None


def _folder_files(repo: Repo, folder: str) -> list[str]:
    """What lapse checks under `folder`, without walking anything else (.venv, .git)."""
    grants = sorted(repo.grants.glob("*.tf")) if repo.grants.is_dir() else []
    configuration = sorted(repo.terraform.rglob("*.tf")) if repo.terraform.is_dir() else []
    candidates = [
        *(repo.relative(p) for p in repo.request_files()),
        *(p for p in POLICY_FILES if (repo.root / p).is_file()),
        *(repo.relative(p) for p in (*configuration, *grants)),
    ]
    candidates = sorted({p for p in candidates if _kind(p) is not None})
    prefix = "" if folder in ("", ".") else folder.rstrip("/") + "/"
    return sorted(p for p in candidates if p.startswith(prefix))


def _kind(relative: str) -> str | None:
    parts = PurePosixPath(relative).parts
    if parts and parts[0] == "requests" and len(parts) > 1:
        return "request"  # misplaced files under requests/ are problems (LAPSE130), so checked
    if relative in POLICY_FILES:
        return "policy"
    if len(parts) == 3 and parts[:2] == ("terraform", "grants") and relative.endswith(".tf"):
        return "grants"
    if parts[0:1] == ("terraform",) and ".terraform" not in parts and relative.endswith(".tf"):
        return "configuration"  # the Terraform configuration and audit configs the rules read
    return None


def _why(relative: str) -> str:
    top = PurePosixPath(relative).parts[0] if relative not in ("", ".") else ""
    if top == "archive":
        return " (archived requests are kept as merged and never checked again)"
    if relative.endswith((".yaml", ".yml")) and top != "requests":
        return " (a request must be at requests/<target>/<id>.yaml to be checked)"
    return ""


def _stale_grants(repo: Repo, result: Validation, named: list[str]) -> list[Problem]:
    """Named terraform/grants/ files that differ from what `lapse render` writes."""
    grants = [p for p in named if _kind(p) == "grants"]
    if not grants:
        return []
    from generator.terraform import grants_folder
    from generator.terraform.render import RenderError, render_all

    try:
        changes = grants_folder.compare(repo.grants, render_all(result.requests))
    except RenderError as exc:
        raise RenderError(f"cannot render the requests to compare: {exc}") from exc
    stale = {f"terraform/grants/{name}" for name in (*changes.write, *changes.remove)}
    return [
        Problem(
            path,
            1,
            1,
            STALE_GRANTS_RULE,
            "error",
            "differs from what `lapse render` writes for the requests",
            "run `lapse render` and commit terraform/grants/",
        )
        for path in grants
        if path in stale
    ]
