"""`lapse render [--check]`: validate, then write or compare terraform/grants/."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from generator.commands import options, output
from generator.core.model import Problem
from generator.core.repo import Repo, file_names
from generator.core.tables import text_table
from generator.core.wording import count

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command()
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if out of date.")
@options.root_option
def render(check: bool, root: Path) -> int:
    """Validate, then write terraform/grants/ (one file per request). Never reads the clock."""
    from generator.checks.validate import validate_repo
    from generator.terraform import grants_folder, verified
    from generator.terraform.access_views import ACCESS_HEADERS, access_rows
    from generator.terraform.render import RenderError

    repo = Repo.at(root)
    result = validate_repo(repo, now=None)
    if result.errors:
        named = {f"{request.id}.tf": "" for request in result.requests}
        options.show_problems(repo, [*result.problems, *stray_problems(repo, named)])
        click.echo("nothing written: fix the problems above first", err=True)
        return options.outcome(True)
    on_disk = grants_folder.existing(repo.grants, _read_grants(repo, result.terraform_files))
    try:
        files = verified.render_files(result.requests, on_disk)
    except RenderError as exc:
        raise RenderError(f"refusing to write terraform/grants/: {exc}") from exc
    changes = grants_folder.compare(repo.grants, files, on_disk)
    strays = stray_problems(repo, files, on_disk)
    if check:
        if not changes.clean:
            click.echo(
                grants_folder.diff(repo.grants, changes, repo.relative(repo.grants)), nl=False
            )
            click.echo("terraform/grants/ is out of date: run `lapse render`", err=True)
        _report(repo, strays)
        if not changes.clean or strays:
            return options.outcome(True)
        checked = count(len(file_names(repo.requests)), "request file")
        output.say(f"{checked} checked: terraform/grants/ is up to date")
        return options.EXIT_CLEAN
    grants_folder.apply(repo.grants, changes)
    output.say(text_table(ACCESS_HEADERS, access_rows(result.requests)).rstrip("\n"))
    checked = count(len(file_names(repo.requests)), "request file")
    output.say(
        f"{checked} checked: {len(changes.write)} written, {len(changes.remove)} removed, "
        f"{len(changes.unchanged)} unchanged"
    )
    _report(repo, strays)
    if strays:
        return options.outcome(True)
    return options.EXIT_CLEAN


def stray_problems(
    repo: Repo, files: dict[str, str], on_disk: dict[str, str] | None = None
) -> list[Problem]:
    from generator.terraform import grants_folder

    folder = repo.relative(repo.grants)
    return [
        Problem(
            f"{folder}/{name}",
            1,
            1,
            "LAPSE141",
            "error",
            f"{folder}/{name} {why}: Terraform would read it as part of the grants",
            "remove it; this folder holds only _module.tf and what `lapse render` writes",
        )
        for name, why in grants_folder.strays(repo.grants, files, on_disk)
    ]


def _read_grants(repo: Repo, terraform_files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files of terraform/grants/ that validation read, by name."""
    prefix = f"{repo.relative(repo.grants)}/"
    return {
        path[len(prefix) :]: raw
        for path, raw in terraform_files.items()
        if path.startswith(prefix) and "/" not in path[len(prefix) :]
    }


def _report(repo: Repo, problems: list[Problem]) -> None:
    if problems:
        options.show_problems(repo, problems)
