"""`lapse review`: post-access review reports from audit logs, published for sign-off."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands import adapters, options
from generator.commands.review_sources import audit_source, projects_below, scan_limit
from generator.core.errors import ConfigError
from generator.core.git import committed_files
from generator.core.model import Policy
from generator.core.repo import Repo
from generator.core.writing import check_writable, write_file

if TYPE_CHECKING:
    from generator.core.audit_event import Event
    from generator.github.client import GitHubClient
    from generator.review import selection as reviewing
    from generator.review.analysis import Review
    from generator.review.export_manifest import ManifestedExport
    from generator.review.logins import LoginReader
    from generator.review.outcome import GrantReport

# ruff: noqa: PLC0415 - the review loads when the command runs, not for its help
# The Google and GitHub clients are imported where a run needs them: reading an exported file
# with no token at hand starts no HTTP library at all.


@click.command()
@click.option(
    "--source",
    "source_spec",
    default="logging",
    show_default=True,
    metavar="logging|bigquery:PROJECT.DATASET|file:PATH",
    help="Where the audit logs are: the Logging API, a BigQuery sink, or exported "
    "JSON / JSON-lines files (a file or a folder of them, .gz accepted).",
)
@click.option(
    "--since",
    callback=options.since,
    default="2d",
    show_default=True,
    metavar="T|D",
    help="Review grants whose window ended after this instant, or within this long before --at.",
)
@options.at_option("--until")
@click.option(
    "--grace",
    callback=options.duration,
    default="15m",
    show_default=True,
    metavar="D",
    help="Time after expiry during which use is not yet a deviation.",
)
@click.option(
    "--project",
    metavar="P",
    help="Project billed for Logging API reads "
    "[default: $GOOGLE_CLOUD_PROJECT or the first project in scope].",
)
@click.option(
    "--max-bytes",
    # BigQuery bills at least 10 MiB per table read; maximumBytesBilled is an int64.
    type=click.IntRange(min=10 * 2**20, max=2**63 - 1),
    metavar="N",
    help="Refuse a BigQuery read that would scan more than N bytes (its dry run says), "
    "and bill no more than N [default: the policy's review.max_bytes, else no limit].",
)
@click.option(
    "--open-pr",
    is_flag=True,
    help="Commit the reports on branch lapse/review and "
    "open (or update) one pull request for the approvers' sign-off.",
)
@click.option(
    "--open-issues",
    is_flag=True,
    help="Open one incident issue per grant with deviations, never twice.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Review again the grants whose complete report is already on disk.",
)
@options.format_option(("generator.review.run_text:FORMATS", ("text", "json")))
@options.root_option
def review(
    source_spec: str,
    since: datetime,
    now: datetime | None,
    grace: timedelta,
    project: str | None,
    max_bytes: int | None,
    open_pr: bool,
    open_issues: bool,
    force: bool,
    fmt: str,
    root: Path,
) -> int:
    """Post-access review: what each grantee did, against what was approved.

    Exits 1 when any report of the period (new or already on disk) has a CRITICAL, HIGH or
    MEDIUM deviation or is INCOMPLETE.
    """
    from generator.gcp.roles import load_lock
    from generator.review import publication, run_text
    from generator.review import report as audit_report
    from generator.review import selection as reviewing
    from generator.review.export_manifest import ManifestedExport
    from generator.review.outcome import GrantReport, ReviewRun

    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    limit = scan_limit(source_spec, max_bytes, policy)  # a wrong flag is said even with nothing due
    # What would stop the run at its end stops it now, before any log is read.
    client = adapters.github() if open_pr or open_issues else None
    end = options.now_or_clock(now)
    period = reviewing.Period(since, end, grace)
    retention = timedelta(days=policy.limits.audit_log_retention_days)
    due = reviewing.due(repo, period, force=force, retention=retention)
    if due.items or due.past_retention:
        check_writable(repo.reports)
    reviews: list[Review] = []
    accounting = None
    lock = load_lock(repo.roles_lock) if due.items or due.past_retention else None
    if due.items:
        scope = reviewing.resource_names(policy, due.items)
        below = projects_below(scope) if source_spec == "logging" else None
        if below is not None:
            scope = sorted({*scope, *(f"projects/{p}" for p in below.all_projects())})
        source = audit_source(source_spec, project, scope, repo, limit)
        longest = max(t.max_duration for t in policy.targets.values())
        # What is loaded by now (modules, policy, requests) outlives the read: kept out of the
        # collector's full passes, which the log's many short-lived objects set off.
        gc.freeze()
        try:
            reviews = reviewing.run(
                repo,
                policy,
                lock,
                source,
                period,
                longest=longest,
                items=due.items,
                track=track,
                below=below,
                reports=login_reader(policy),
            )
        finally:
            gc.unfreeze()
        if isinstance(source, ManifestedExport):
            reviews = [_with_export_scope(r, policy, source) for r in reviews]
        accounting = source.accounting
    if due.past_retention:
        reviews += reviewing.past_retention(
            repo, policy, lock, due.past_retention, grace=grace, retention=retention
        )
    publishing = bool((open_pr or open_issues) and reviews)

    # A report on main is never rewritten (LAPSE151): a grant reviewed again gets a new edition.
    taken = committed_files(repo.root, "reports").__contains__ if reviews else _nothing
    reviews = [audit_report.next_edition(r, taken) for r in reviews]
    files = _write_reports(repo, reviews, period, taken, keep=publishing)
    # The run's text reads findings and gaps, never the rows per resource.
    run = ReviewRun(
        tuple(GrantReport.of(publication.report_of(r), r) for r in reviews)
        + tuple(_read_report(repo, p) for p in due.reported),
        accounting,
        tuple(due.problems),
    )
    click.echo(run_text.FORMATS.write(fmt, run), nl=False)
    if client is not None and publishing:
        _publish(client, reviews, files, period, open_pr=open_pr, open_issues=open_issues)
    return run.exit_code


def _write_reports(
    repo: Repo,
    reviews: list[Review],
    period: reviewing.Period,
    taken: Callable[[str], bool],
    *,
    keep: bool,
) -> dict[str, str]:
    """Every report of the run, written one at a time; with `keep` (a pull request needs them
    all at once) their texts are returned too. Without it, a second process writes half."""
    from generator.review import publication
    from generator.review.shards import in_two

    approvals = _approvals(repo, reviews)
    files: dict[str, str] = {}
    if keep:
        for name, text in publication.report_texts(reviews, period, approvals, taken):
            write_file(repo.root / name, text)
            files[name] = text
        return files
    ledgers = list({id(r.ledger): r.ledger for r in reviews if r.ledger is not None}.values())

    def settle() -> None:  # every row in the ledger's files before the fork
        for ledger in ledgers:
            ledger.settled()

    def reopen() -> None:  # in the child: a connection of its own to the same file
        for ledger in ledgers:
            ledger.reopen()

    def write(some: Sequence[Review]) -> None:
        for name, text in publication.review_texts(some, approvals):
            write_file(repo.root / name, text)

    def summaries() -> None:  # from the reviews alone: written here while the child writes
        for name, text in publication.summary_texts(reviews, period, taken):
            write_file(repo.root / name, text)

    in_two(reviews, write, forking=settle, forked=reopen, also=summaries)
    return files


def login_reader(policy: Policy) -> LoginReader | None:
    """The Reports API reader the policy's `mfa` asks for; one that says why, without one."""
    from generator.review.mfa import NotRead

    if policy.mfa is None or policy.mfa.login_audit != "reports":
        return None
    from generator.review.logins import ReportsLogins

    try:
        session = adapters.admin_session()
    except ConfigError as exc:
        return NotRead(f"no credentials for the Reports API: {exc}")
    return ReportsLogins(session, customer=policy.mfa.customer)


def _with_export_scope(item: Review, policy: Policy, source: ManifestedExport) -> Review:
    """The review, INCOMPLETE when its grants reach logs the export does not hold."""
    from generator.review import selection as reviewing

    names = reviewing.resource_names(policy, [(item.subject.request, item.subject.archived)])
    missing = source.scope_gaps(names)
    return replace(item, gaps=(*item.gaps, *missing)) if missing else item


def _read_report(repo: Repo, path: Path) -> GrantReport:
    # Read whole when it was listed; a file changed since then reads as incomplete.
    from generator.review.outcome import GrantReport
    from generator.review.report_on_disk import read_report

    shown = str(repo.relative(path.with_suffix(".md")))
    data = read_report(repo, path).data
    return (
        GrantReport.unreadable(shown, str(path)) if data is None else GrantReport.read(shown, data)
    )


def _nothing(_: str) -> bool:
    return False


def _approvals(repo: Repo, reviews: list[Review]) -> dict[str, dict[str, object]]:
    """Approval evidence for each report, read from GitHub when a token is at hand."""
    from generator.review import publication

    if not reviews or not os.environ.get("GITHUB_TOKEN"):
        return {
            r.subject.request.id: publication.extension_evidence(r.subject.request)
            for r in reviews
            if r.subject.request.extensions
        }
    from generator.github import request_pulls

    github = adapters.github()
    try:
        pull_of = request_pulls.source_pr_from_history(repo.root, github)
    except ConfigError as exc:
        return {r.subject.request.id: {"not read": str(exc)} for r in reviews}
    changes_of = request_pulls.change_prs_from_history(repo.root, github)
    return {
        r.subject.request.id: publication.approval_evidence(
            github, pull_of, r.subject.request, changes_of
        )
        for r in reviews
    }


def _publish(
    client: GitHubClient,
    reviews: list[Review],
    files: dict[str, str],
    period: reviewing.Period,
    *,
    open_pr: bool,
    open_issues: bool,
) -> None:
    from generator.review import publication

    if open_pr:
        # Reports stay on the branch until its pull request is merged: a run never drops
        # what an earlier run put there.
        client.commit_changes(
            publication.BRANCH,
            "main",
            {k: v.encode() for k, v in files.items()},
            f"Post-access review of {len(reviews)} grants",
            accumulate=True,
        )
        pull = client.ensure_pull_request(
            publication.BRANCH,
            "main",
            f"Post-access review: {len(reviews)} grants",
            publication.pr_body(reviews, period),
            ["lapse-review"],
        )
        click.echo(f"report pull request: {pull.html_url}")
    if open_issues:
        for item in reviews:
            if publication.deviations(item):
                request = item.subject.request
                number = client.ensure_issue(
                    f"review-{request.id}",
                    f"Access review deviation: {request.id}",
                    publication.incident_body(item, publication.report_of(item)),
                    list(publication.INCIDENT_LABELS),
                )
                click.echo(f"incident #{number}: {request.id}", err=True)


def track(events: Iterator[Event], absorbed: Callable[[], int] = lambda: 0) -> Iterator[Event]:
    """A progress bar in a terminal; a plain log line every 100,000 events in CI. The events
    read in other processes (`absorbed`, known once these end) count in the total."""
    interactive = sys.stderr.isatty() and not os.environ.get("CI")
    if interactive:
        from rich.console import Console
        from rich.progress import (
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,} matching events"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar:
            task = bar.add_task("reading audit logs")
            for event in events:
                bar.advance(task)
                yield event
        return
    count = 0
    for count, event in enumerate(events, start=1):
        if count % 100_000 == 0:
            click.echo(f"read {count + absorbed():,} matching events", err=True)
        yield event
    click.echo(f"read {count + absorbed():,} matching events", err=True)
