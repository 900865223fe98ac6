"""`lapse evidence`: the assessor's evidence pack of a period: a static site, CSV and JSON."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands import adapters, options
from generator.core import git
from generator.core.errors import ConfigError
from generator.core.repo import Repo
from generator.core.times import INSTANT_HELP
from generator.core.wording import count
from generator.core.writing import write_file, writing

if TYPE_CHECKING:
    from generator.github.labelled_issues import LabelledIssue
    from generator.lifecycle.evidence_pack import IssueReader

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command()
@click.option(
    "--from", "since", required=True, callback=options.instant, metavar="T",
    help=f"The period's start: {INSTANT_HELP}.",
)  # fmt: skip
@click.option(
    "--to", "until", required=True, callback=options.instant, metavar="T",
    help=f"The period's end: {INSTANT_HELP}.",
)  # fmt: skip
@click.argument("out", type=click.Path(path_type=Path))
@options.root_option
def evidence(since: datetime, until: datetime, out: Path, root: Path) -> int:
    """Write the PCI DSS evidence pack of [--from, --to] into the new or empty folder OUT.

    index.html maps each requirement lapse serves to its evidence; one page per grant (request,
    approval, apply, window, activity timeline, findings, sign-off, incidents); the period's
    emergencies, recertifications, control failures and drift incidents; grants.csv,
    requirements.csv, evidence.json and manifest.json (the sha256 of every file). Opens from
    the file system: no server, no network. Control failures and drift incidents are GitHub
    issues, read only when GITHUB_TOKEN and GITHUB_REPOSITORY are set; the pack says otherwise.
    """
    from generator.lifecycle import evidence_pack, evidence_site

    if until <= since:
        raise click.BadParameter("--to must be after --from", param_hint="--to")
    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    folder = _empty_folder(out)
    commit = _commit(repo)
    pack, problems = evidence_pack.build(repo, policy, since, until, commit, _issues())
    unreadable = options.show_unreadable(repo, list(problems))
    written = evidence_site.files(pack)
    for name, content in written.items():
        write_file(folder / name, content, exclusive=True)
    click.echo(
        f"wrote {count(len(written), 'file')} to {out}: {count(len(pack['grants']), 'grant')}, "
        f"open {out / 'index.html'}"
    )
    return options.outcome(unreadable)


def _empty_folder(out: Path) -> Path:
    """OUT, made if missing; refused when it is a link or holds anything, so that nothing in
    the folder is outside the manifest and nothing is written through a link."""
    if out.is_symlink():
        raise ConfigError(f"{out} is a symbolic link: give a new or empty folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} is not an empty folder: give a new or empty one")
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
    return out


def _commit(repo: Repo) -> dict[str, str]:
    """The commit the pack is built from: its id and the sha256 of the commit object."""
    try:
        sha = git.head_commit(repo.root)
        body = git.git(repo.root, "cat-file", "commit", sha)
    except ConfigError:
        return {"id": "not a git checkout", "sha256": ""}
    return {"id": sha, "sha256": hashlib.sha256(body.encode()).hexdigest()}


def _issues() -> IssueReader | None:
    from generator.github.labelled_issues import labelled_issues

    if not os.environ.get("GITHUB_TOKEN") or not os.environ.get("GITHUB_REPOSITORY"):
        return None
    client = adapters.github()
    repository = adapters.github_repository()

    def read(label: str, since: datetime) -> list[LabelledIssue]:
        return labelled_issues(client, repository, label, since)

    return read
