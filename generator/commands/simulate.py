"""`lapse simulate`: which rendered bindings are active at an instant, by CEL evaluation.

The archive counts too: a request archived since was rendered the same way while it lived,
so `--at` a past instant shows who had what then. A window without `starts` is dated as the
review dates it: from the commit on main that brought the request in; a request main does not
hold yet starts no earlier than now. A request in requests/ with no grant file is named.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands import options, output
from generator.core.errors import ConfigError
from generator.core.git import Addition, mainline_additions
from generator.core.model import Binding, Problem, Request
from generator.core.repo import Repo
from generator.core.wording import count, did_you_mean

if TYPE_CHECKING:
    from generator.terraform.conditions import Judgement

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command()
@options.now_option
@click.option(
    "--principal",
    metavar="P",
    help="Only this person: a login from the policy's people, an email, or user:EMAIL.",
)
@options.format_option(("generator.terraform.access_views:FORMATS", ("text", "json", "markdown")))
@options.root_option
def simulate(now: datetime | None, principal: str | None, fmt: str, root: Path) -> int:
    """Which bindings are active at an instant (rendered, and archived ones active then)."""
    from generator.checks.validate import read_requests
    from generator.terraform import access_views
    from generator.terraform.bindings import read_bindings
    from generator.terraform.render import grant_file_name

    repo = Repo.at(root)
    moment = options.now_or_clock(now)
    member = _member(repo, principal) if principal else None
    bindings = read_bindings(repo.grants)
    requests, unreadable = read_requests(repo, repo.request_files())
    rendered = {b.source for b in bindings}
    for request in requests:
        if grant_file_name(request) not in rendered:
            click.echo(
                f"warning: {request.path}: no grant file in terraform/grants/, so not "
                "simulated: run `lapse render`",
                err=True,
            )
    dating = _Dating(repo, options.now_or_clock(None))
    by_file = {grant_file_name(r): r for r in requests}
    current = [dating.judge(b, by_file.get(b.source), moment) for b in bindings]
    every, problems = _archived(repo, moment, dating)
    unreadable += problems
    archived = [v for v in every if v.active]
    files = {v.binding.source for v in current} | {v.binding.source for v in archived}
    judgements = [*current, *_unseen(archived, current)]
    if member is not None:
        judgements = [v for v in judgements if v.binding.member == member]
    shot = access_views.Snapshot.of(judgements, moment)
    click.echo(access_views.FORMATS.write(fmt, shot), nl=False)
    output.say(
        f"{count(len(files), 'file')} read ({count(len(archived), 'archived binding')} "
        "active then)",
        err=True,
    )
    if member is not None and not judgements:
        output.say(f"{member} holds no binding in terraform/grants/ or archive/", err=True)
    return options.outcome(options.show_unreadable(repo, unreadable))


def _archived(
    repo: Repo, moment: datetime, dating: _Dating
) -> tuple[list[Judgement], list[Problem]]:
    """Every archived binding judged at `moment`, and the archived files that do not read."""
    from generator.checks.validate import read_requests
    from generator.terraform.bindings import bindings_of_requests
    from generator.terraform.render import grant_file_name

    requests, unreadable = read_requests(repo, repo.archive_files())
    by_file = {grant_file_name(r): r for r in requests}
    judged = []
    for binding in bindings_of_requests(requests):
        request = by_file.get(binding.source)
        source = request.path if request else binding.source
        judged.append(dating.judge(dataclasses.replace(binding, source=source), request, moment))
    return judged, unreadable


class _Dating:
    """Judges bindings, a window without `starts` dated as `lapse review` dates it."""

    def __init__(self, repo: Repo, clock: datetime) -> None:
        self._repo = repo
        self._clock = clock
        self._additions: dict[str, Addition] | None = None

    def judge(self, binding: Binding, request: Request | None, moment: datetime) -> Judgement:
        from generator.review.subjects import ReviewSubject, mainline_addition
        from generator.terraform.conditions import judge

        found = judge(binding, moment)
        if request is None or found.starts is not None:
            return found
        if self._additions is None:
            self._additions = mainline_additions(self._repo.root, "requests")
        added = mainline_addition(request, self._additions)
        subject = ReviewSubject(request, False, {}, merged_at=added.at if added else None)
        # Not on main yet: it is merged, and so usable, no earlier than now.
        starts = subject.window_start or self._clock
        return dataclasses.replace(found, active=found.active and starts <= moment, starts=starts)


def _unseen(archived: list[Judgement], current: list[Judgement]) -> list[Judgement]:
    # A run of `lapse expire` that stopped half way leaves a request in both places: count once.
    known = {_key(v.binding) for v in current}
    return [v for v in archived if _key(v.binding) not in known]


def _key(binding: Binding) -> tuple[str, str]:
    return binding.address, binding.expression


def _member(repo: Repo, principal: str) -> str:
    """user:EMAIL for a login, an email or a member; a login nobody has is a usage error."""
    if ":" in principal:
        return principal
    if "@" in principal:
        return f"user:{principal}"
    people = options.policy_or_exit(repo).people
    if principal in people:
        return f"user:{people[principal]}"
    raise ConfigError(
        f"--principal {principal!r} matches nobody in policy/policy.yaml people; "
        + did_you_mean(principal, people)
        + "give a login listed there, an email, or user:EMAIL"
    )
