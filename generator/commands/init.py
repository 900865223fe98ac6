"""`lapse init`: a copy of this repository made an organization's own, from flags or prompts."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from generator.commands import options, output
from generator.commands.codeowners import codeowners
from generator.commands.render import render
from generator.core import git
from generator.core.errors import ConfigError, ProblemsShown
from generator.core.repo import Repo
from generator.core.writing import remove_file, temporary_folder, write_file, writing
from generator.lifecycle import initial_setup as setup
from generator.lifecycle.initial_setup import Answers, Plan

T = TypeVar("T")
NEXT_STEPS = """\
Next: commit this (git add -A && git commit -m "lapse init"), then follow docs/setup.md from
step 3: teams, the state bucket, Workload Identity, the identities' roles, the log sink,
the lock file, the first push, branch rules, environments, and `lapse doctor` until green."""


def _each(read: Callable[[str], T]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback: every value read by `read`, a bad one named with its option."""

    def callback(_ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            if isinstance(value, tuple):
                return tuple(read(v) for v in value)
            return read(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param=param) from None

    return callback


def _asked(text: str, read: Callable[[str], T], *, default: str | None = None) -> T:
    """A prompt that asks again, saying why, until `read` accepts the answer."""

    def checked(value: str) -> T:
        try:
            return read(value)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None

    answer: T = click.prompt(text, value_proc=checked, default=default, err=True)
    return answer


def _listed(read: Callable[[str], T]) -> Callable[[str], tuple[T, ...]]:
    def reader(value: str) -> tuple[T, ...]:
        items = tuple(read(v) for v in value.split(",") if v.strip())
        if not items:
            raise ValueError("give at least one")
        return items

    return reader


def interactive() -> bool:
    return sys.stdin.isatty()


@click.command()
@click.option(
    "--organization",
    metavar="NUMBER",
    callback=_each(setup.organization),
    help="The Google Cloud organization number (organizations/NUMBER).",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    callback=_each(setup.target),
    metavar="NAME:FOLDER:PROJECT[,PROJECT...]:@ORG/TEAM",
    help="A target: its name, folder number, projects and approver team. Repeatable.",
)
@click.option(
    "--security-owner",
    "owners",
    multiple=True,
    callback=_each(setup.owner),
    metavar="@ORG/TEAM",
    help="Who owns the policy and the tool. Repeatable.",
)
@click.option(
    "--person",
    "people",
    multiple=True,
    callback=_each(setup.person),
    metavar="LOGIN=EMAIL",
    help="A GitHub login and its Google identity. Repeatable.",
)
@click.option(
    "--emergency-team",
    callback=_each(setup.team),
    metavar="@ORG/TEAM",
    help="Approves break-glass requests on every target [default: no break-glass].",
)
@click.option(
    "--state-bucket",
    callback=_each(setup.bucket),
    metavar="NAME",
    help="The Cloud Storage bucket holding Terraform's state.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print what would be written and removed; change nothing."
)
@options.root_option
def init(
    organization: str | None,
    targets: tuple[setup.Target, ...],
    owners: tuple[str, ...],
    people: tuple[tuple[str, str], ...],
    emergency_team: str | None,
    state_bucket: str | None,
    dry_run: bool,
    root: Path,
) -> int:
    """Make this copy your organization's: write policy/policy.yaml and terraform/audit_logging.tf,
    grants.tf and backend.tf from the answers, remove the samples and lapse's own tests, then
    run `lapse codeowners` and `lapse render`. Missing answers are asked at a terminal."""
    repo = Repo.at(root)
    _refuse_dirty(repo.root)
    answers = _answers(organization, targets, owners, people, emergency_team, state_bucket)
    plan = setup.plan(repo.root, answers)
    _refuse_symlinks(repo.root, plan)
    _check_staged(repo, plan)
    if dry_run:
        click.echo(plan_text(plan, dry_run=True), nl=False)
        return options.EXIT_CLEAN
    _apply(repo.root, plan)
    click.echo(plan_text(plan, dry_run=False), nl=False)
    ctx = click.get_current_context()
    codeowners_exit = ctx.invoke(codeowners, check=False, root=repo.root)
    render_exit = ctx.invoke(render, check=False, root=repo.root)
    output.say(NEXT_STEPS)
    return options.outcome(bool(codeowners_exit or render_exit))


def _answers(
    organization: str | None,
    targets: tuple[setup.Target, ...],
    owners: tuple[str, ...],
    people: tuple[tuple[str, str], ...],
    emergency_team: str | None,
    state_bucket: str | None,
) -> Answers:
    missing = [
        flag
        for flag, value in (
            ("--organization", organization),
            ("--target", targets),
            ("--security-owner", owners),
            ("--person", people),
            ("--state-bucket", state_bucket),
        )
        if not value
    ]
    if missing and not interactive():
        raise click.UsageError(
            f"missing {', '.join(missing)} (answers are asked only at a terminal); "
            "see `lapse init --help`"
        )
    if organization is None:
        organization = _asked("Organization number", setup.organization)
    if not targets:
        targets = _asked_targets()
    if not owners:
        owners = _asked("Security owners (@org/team, comma-separated)", _listed(setup.owner))
    if not people:
        people = _asked("People (login=email, comma-separated)", _listed(setup.person))
    if state_bucket is None:
        state_bucket = _asked("Terraform state bucket", setup.bucket)
    if emergency_team is None and "--target" in missing:
        asked = _asked("Break-glass team (@org/team, empty: none)", _optional_team, default="")
        emergency_team = asked or None
    try:
        return setup.checked(
            Answers(organization, targets, owners, people, state_bucket, emergency_team)
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _optional_team(value: str) -> str:
    return setup.team(value) if value.strip() else ""


def _asked_targets() -> tuple[setup.Target, ...]:
    found: list[setup.Target] = []
    while True:
        name = _asked("Target name (the folder under requests/)", setup.target_name)
        number = _asked(f"{name}: folder number", setup.folder)
        projects = _asked(f"{name}: projects (comma-separated)", _listed(setup.project))
        approvers = _asked(f"{name}: approver team (@org/team)", setup.team)
        found.append(setup.Target(name, number, projects, approvers))
        if not click.confirm("Another target?", default=False, err=True):
            return tuple(found)


def _refuse_dirty(root: Path) -> None:
    try:
        dirty = git.dirty_paths(root)
    except ConfigError:
        raise ConfigError(
            f"{root} is not a git checkout: init removes files, so it runs only where git can "
            "bring them back; run `git init && git add -A && git commit -m copy` first"
        ) from None
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise ConfigError(
            f"the working tree has uncommitted changes: {shown}. Commit or stash them first "
            "(git stash -u): init changes only a clean checkout. Nothing was changed."
        )


def _refuse_symlinks(root: Path, plan: Plan) -> None:
    """A symlink on the way would send a write or a removal outside the checkout."""
    for path in [*plan.write, *plan.remove, ".github/CODEOWNERS"]:
        parts = Path(path).parts
        for end in range(1, len(parts) + 1):
            place = root.joinpath(*parts[:end])
            if place.is_symlink() and not (end == len(parts) and path in plan.remove):
                raise ConfigError(
                    f"{'/'.join(parts[:end])} is a symlink: init writes only real files in "
                    "the checkout. Replace it with the file or folder itself. Nothing was changed."
                )


def _check_staged(repo: Repo, plan: Plan) -> None:
    """The written files, validated before any is written, in a copy of what they need."""
    from generator.checks.validate import validate_policy  # noqa: PLC0415 - not for the help

    with temporary_folder("lapse-init-") as scratch:
        staged = Path(scratch)
        with writing(staged):  # a scratch copy: a full disk is named, not a traceback
            shutil.copytree(repo.root / "schemas", staged / "schemas")
            (staged / "policy").mkdir()
            (staged / "terraform").mkdir()
            if repo.roles_lock.is_file():
                shutil.copyfile(repo.roles_lock, staged / "policy" / "roles.lock.json")
            for tf in sorted(repo.terraform.glob("*.tf")):
                if not tf.is_symlink():
                    shutil.copyfile(tf, staged / "terraform" / tf.name)
            for path in setup.WRITTEN:
                source = plan.write.get(path)
                if source is None:
                    shutil.copyfile(repo.root / path, staged / path)
                else:
                    write_file(staged / path, source)
        _, problems = validate_policy(Repo.at(staged))
        if any(p.level == "error" for p in problems):
            options.show_problems(Repo(staged), problems, texts=plan.write)
            click.echo("nothing written: the answers make a policy lapse refuses", err=True)
            raise ProblemsShown


def _apply(root: Path, plan: Plan) -> None:
    for path, text in plan.write.items():
        write_file(root / path, text)
    for path in plan.remove:
        place = root / path
        if place.is_dir() and not place.is_symlink():
            with writing(place):
                shutil.rmtree(place)
        else:
            remove_file(place)


def plan_text(plan: Plan, *, dry_run: bool) -> str:
    wrote, removed = ("would write", "would remove") if dry_run else ("wrote", "removed")
    lines = [f"{wrote} {path}" for path in plan.write]
    lines += [f"unchanged {path}" for path in plan.unchanged]
    lines += [
        f"{removed} {path}{'/' if path in setup.DEVELOPMENT_FOLDERS else ''}"
        for path in plan.remove
    ]
    if dry_run:
        lines.append("then would run `lapse codeowners` and `lapse render`")
    return "\n".join(lines) + "\n"
