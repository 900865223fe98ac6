"""`lapse new`: write a valid request file from flags, or refuse and leave nothing behind."""

from __future__ import annotations

import dataclasses
import shlex
import shutil
import sys
import textwrap
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from generator.commands import options, output
from generator.core import git
from generator.core.errors import ConfigError
from generator.core.model import RESOURCE_KINDS, Problem
from generator.core.repo import Repo
from generator.core.times import DURATION_HELP, INSTANT_HELP, format_duration, format_local
from generator.core.times import format_utc as utc
from generator.core.wording import count, did_you_mean
from generator.core.writing import remove_file
from generator.lifecycle.new_request import GRANT_FORM

if TYPE_CHECKING:
    from generator.lifecycle.new_request import Draft, NewGrant

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


def _resource_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for kind in reversed(RESOURCE_KINDS):
        flag = "--" + kind.replace("_", "-")
        func = click.option(flag, kind, metavar="NAME", help=f"With --role: the {kind}.")(func)
    return func


def _grants(_ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[NewGrant]:
    from generator.lifecycle.new_request import parse_grant

    try:
        return [parse_grant(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


@click.command()
@click.option("--target", required=True, help="Policy target, e.g. pci-prod.")
@click.option(
    "--grant",
    "grants",
    multiple=True,
    callback=_grants,
    metavar="ROLE=KIND:NAME",
    help=f"One role on one resource (repeatable): {GRANT_FORM}. Without any, a terminal asks.",
)
@click.option("--role", "roles", multiple=True, help="One grant's role, with one resource flag.")
@_resource_options
@click.option(
    "--duration", callback=options.duration, metavar="D", help=f"Window length: {DURATION_HELP}."
)
@click.option("--expires", callback=options.instant, metavar="T", help=f"End: {INSTANT_HELP}.")
@click.option("--starts", callback=options.instant, metavar="T", help=f"Start: {INSTANT_HELP}.")
@click.option("--reason", required=True, help="Why the access is needed.")
@click.option("--ticket", required=True, help="Incident or change ticket, e.g. INC-4512.")
@click.option("--requester", help="Your email [default: git config user.email].")
@click.option("--dry-run", is_flag=True, help="Print the file and its problems; write nothing.")
@click.option(
    "--emergency",
    is_flag=True,
    help="Break-glass: write it under requests/<target>/emergency/, for the emergency approvers.",
)
@options.now_option
@options.root_option
def new(
    target: str,
    grants: list[NewGrant],
    roles: tuple[str, ...],
    duration: timedelta | None,
    expires: datetime | None,
    starts: datetime | None,
    reason: str,
    ticket: str,
    requester: str | None,
    dry_run: bool,
    emergency: bool,
    now: datetime | None,
    root: Path,
    **resources: str | None,
) -> int:
    """Write a new request file under requests/<target>/, checked by every rule of validate."""
    from generator.lifecycle.new_request import Draft, fresh_id, request_text, window

    repo = Repo.at(root)
    chosen = [*grants, *_flag_grant(roles, resources)] or _asked_grants()
    if (duration is None) == (expires is None):
        raise click.UsageError("give exactly one of --duration and --expires")
    email = requester or git.user_email(repo.root)
    if not email:
        raise click.UsageError("no --requester and no `git config user.email`")
    moment = options.now_or_clock(now).replace(microsecond=0)
    begin, end = window(moment, starts=starts, expires=expires, duration=duration)
    draft = Draft(target, email, reason, ticket, tuple(chosen), begin, end)
    folder = repo.requests / target / ("emergency" if emergency else "")
    path = folder / f"{fresh_id(repo, draft)}.yaml"
    relative = repo.relative(path)
    text = request_text(draft)
    if emergency:  # one folder deeper: the editor's schema hint must still resolve
        text = text.replace("=../../schemas/", "=../../../schemas/", 1)
    problems = _check(repo, path, text, moment, keep=not dry_run)
    problems = _requester_hints(repo, problems, email, given=requester is not None)
    if dry_run:
        click.echo(f"would write {relative}:\n")
        click.echo(text)
    if problems:
        options.show_problems(repo, problems, texts={relative: text})
        click.echo(f"refused: {relative} not written", err=True)
        return options.outcome(True)
    if not dry_run:
        click.echo(f"wrote {relative}")
    _describe(draft, moment)
    if dry_run:
        click.echo("nothing written (--dry-run)")
        return options.EXIT_CLEAN
    _next_steps(repo, relative, draft)
    return options.EXIT_CLEAN


def _flag_grant(roles: tuple[str, ...], resources: dict[str, str | None]) -> list[NewGrant]:
    from generator.lifecycle.new_request import NewGrant

    named = [(kind, name) for kind, name in resources.items() if name is not None]
    if not roles and not named:
        return []
    if len(roles) != 1 or len(named) != 1:
        flags = ", ".join("--" + k.replace("_", "-") for k in RESOURCE_KINDS)
        raise click.UsageError(
            f"name exactly one resource for --role ({flags}); "
            f"for several grants give --grant {GRANT_FORM.split(',')[0]} once per grant"
        )
    return [NewGrant(roles[0], named[0][0], named[0][1])]


def _asked_grants() -> list[NewGrant]:
    """Ask for grants one by one, when a person is at the terminal; else say what to pass."""
    from generator.lifecycle.new_request import parse_grant

    if not sys.stdin.isatty():
        raise click.UsageError(
            f"name at least one grant: --grant {GRANT_FORM} (repeatable), "
            "or --role with one resource flag such as --project"
        )
    asked: list[NewGrant] = []
    while True:
        answer = click.prompt(
            f"grant {len(asked) + 1} as ROLE=KIND:NAME (empty to finish)",
            default="",
            show_default=False,
        ).strip()
        if not answer:
            if asked:
                return asked
            continue
        try:
            asked.append(parse_grant(answer))
        except ValueError as exc:
            click.echo(f"  {exc}", err=True)


def _check(repo: Repo, path: Path, text: str, moment: datetime, *, keep: bool) -> list[Problem]:
    """Every problem validate would report for the new file, judged as a changed file.

    The file is written (exclusively, never over another) so the repository-wide rules see it
    beside the others; it is removed again when refused or when only trying.
    """
    from generator.checks.validate import validate_repo
    from generator.lifecycle.new_request import write_new

    relative = repo.relative(path)
    try:
        write_new(path, text)
    except FileExistsError:
        raise ConfigError(f"{relative} already exists; nothing written") from None
    refused = True
    try:
        result = validate_repo(repo, now=moment, time_checked={relative}, only={relative})
        refused = bool(result.errors) or not keep
        return list(result.problems) if result.errors else []
    finally:
        if refused:
            remove_file(path)  # ours, created above


def _requester_hints(
    repo: Repo, problems: list[Problem], email: str, *, given: bool
) -> list[Problem]:
    """LAPSE201 told as `lapse new` can fix it: another --requester, not an edited policy."""
    if not any(p.rule == "LAPSE201" for p in problems):
        return problems
    from generator.checks.validate import validate_policy

    policy, _ = validate_policy(repo)
    if policy is None:
        return problems
    emails = list(policy.people.values())
    shown = did_you_mean(email, emails, cutoff=0.85) or (
        "the people listed there: " + ", ".join(emails[:3]) + (", ..." if len(emails) > 3 else "")
        if emails
        else "the policy lists nobody yet"
    )
    source = "--requester" if given else "your `git config user.email`"
    owners = ", ".join(policy.security_owners)
    hint = (
        f"{email} ({source}) is not one of the policy's people: pass --requester with your "
        f"email as policy/policy.yaml lists it ({shown.rstrip('; ')}); to be added, ask the "
        f"security owners ({owners})"
    )
    return [dataclasses.replace(p, hint=hint) if p.rule == "LAPSE201" else p for p in problems]


def _describe(draft: Draft, moment: datetime) -> None:
    click.echo(f"  {draft.requester}, {count(len(draft.grants), 'grant')} on {draft.target}:")
    for grant in draft.grants:
        click.echo(f"    {grant.role} on {grant.kind.replace('_', ' ')} {grant.resource}")
    if draft.starts is None:
        start = f"from when it is applied (at the earliest {_both(moment)})"
        length = f"at most {format_duration(draft.expires - moment)}"
    else:
        start = f"from {_both(draft.starts)}"
        length = format_duration(draft.expires - draft.starts)
    click.echo(f"  window: {start}\n          until {_both(draft.expires)}, {length}")


def _both(moment: datetime) -> str:
    return f"{utc(moment)} ({format_local(moment)})"


def _next_steps(repo: Repo, relative: str, draft: Draft) -> None:
    emergency = Path(relative).parent.name == "emergency"
    middle = "emergency." if emergency else ""
    grants_file = f"terraform/grants/{draft.target}.{middle}{Path(relative).stem}.tf"
    message = textwrap.shorten(f"Request {draft.ticket}: {draft.reason}", 72, placeholder="...")
    steps = []
    branch, default = git.current_branch(repo.root), git.default_branch(repo.root)
    if branch is not None and default is not None and branch == default.removeprefix("origin/"):
        steps.append(f"git switch -c access/{Path(relative).stem}")
    steps += [
        "lapse render",
        f"git add {relative} {grants_file}",
        f"git commit -m {shlex.quote(message)}",
        "git push -u origin HEAD",
    ]
    if shutil.which("gh"):
        steps.append("gh pr create --fill")
    else:
        steps.append("open a pull request on GitHub")
    who = "emergency approvers" if emergency else "approvers"
    output.say(f"next steps (the target's {who} review the pull request):")
    for number, step in enumerate(steps, 1):
        output.say(f"  {number}. {step}")
