"""The `lapse` command line: parse options, build, run, map exit codes. Nothing else prints."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from generator.checks import reporting
from generator.checks.rules.resources import BASIC_ROLES
from generator.checks.validate import validate_repo
from generator.core import git as gitutil
from generator.core import tables
from generator.core.errors import ConfigError, LapseError
from generator.core.model import RESOURCE_KINDS, Event, Policy
from generator.core.repo import Repo
from generator.core.times import parse_duration, parse_instant
from generator.github import codeowners as owners
from generator.lifecycle.new_request import Draft, fresh_id, request_text, window, write_new
from generator.terraform import access_views as simulation
from generator.terraform import grants_folder as grantfiles
from generator.terraform.access_views import ACCESS_HEADERS, access_rows
from generator.terraform.bindings import read_bindings
from generator.terraform.conditions import ConditionError, judge
from generator.terraform.hcl import HclError
from generator.terraform.render import RenderError, render_all

if TYPE_CHECKING:
    import requests

    from generator.gcp.roles import RoleReader
    from generator.github.client import GitHubClient
    from generator.lifecycle.expire import SourcePR
    from generator.review.analysis import Review
    from generator.review.selection import Period
    from generator.review.sources import EventSource

# The commands that talk to GitHub or Google import their adapters when they run, so that
# validate, render and the pre-commit hooks start without loading PyGithub and Google's clients.
# ruff: noqa: PLC0415

EXIT_CLEAN, EXIT_FINDINGS = 0, 1


def _instant(_ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; e.g. 2026-11-30T13:00:00Z", param=param) from None


def _duration(_ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def _now(value: datetime | None) -> datetime:
    return value if value is not None else datetime.now(UTC)


def _format(value: str | None) -> str:
    if value is not None:
        return value
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The lapse repository to work on.",
)
now_option = click.option(
    "--now", callback=_instant, metavar="T", help="Fix the clock (RFC 3339), for reproducible runs."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lapse")
def cli() -> None:
    """Temporary, PCI DSS compliant production access on Google Cloud through pull requests."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--changed-since",
    metavar="REF",
    help="Hold files changed since REF (and new files) to the time rules.",
)
@now_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(reporting.FORMATS),
    help="Output format [default: github inside GitHub Actions, else text].",
)
@root_option
def validate(
    paths: tuple[Path, ...],
    changed_since: str | None,
    now: datetime | None,
    fmt: str | None,
    root: Path,
) -> None:
    """Check the policy and every request; print all problems, then exit."""
    repo = Repo.at(root)
    named = [repo.relative(Path.cwd() / p) for p in paths]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise ConfigError(f"no such file: {missing[0]}")
    checked = set(named)
    if changed_since:
        checked |= set(gitutil.changed_since(repo.root, changed_since))
    result = validate_repo(repo, now=_now(now), time_checked=checked, only=named or None)
    chosen = _format(fmt)
    click.echo(reporting.render(result.problems, chosen), nl=False)
    if chosen == "github":
        _append_summary(reporting.summary_markdown(result.problems))
    sys.exit(EXIT_FINDINGS if result.errors else EXIT_CLEAN)


def _append_summary(markdown: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(markdown)


def _resource_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for kind in reversed(RESOURCE_KINDS):
        flag = "--" + kind.replace("_", "-")
        func = click.option(flag, kind, metavar="NAME", help=f"Grant on this {kind}.")(func)
    return func


@cli.command()
@click.option("--target", required=True, help="Policy target, e.g. pci-prod.")
@click.option("--role", required=True, help="Role to grant, e.g. roles/cloudsql.client.")
@_resource_options
@click.option("--duration", callback=_duration, metavar="D", help="Window length: 30m, 4h, 1d.")
@click.option("--expires", callback=_instant, metavar="T", help="End of the window (RFC 3339).")
@click.option("--starts", callback=_instant, metavar="T", help="Start of the window (RFC 3339).")
@click.option("--reason", required=True, help="Why the access is needed.")
@click.option("--ticket", required=True, help="Incident or change ticket, e.g. INC-4512.")
@click.option("--requester", help="Your email [default: git config user.email].")
@now_option
@root_option
def new(
    target: str,
    role: str,
    duration: timedelta | None,
    expires: datetime | None,
    starts: datetime | None,
    reason: str,
    ticket: str,
    requester: str | None,
    now: datetime | None,
    root: Path,
    **resources: str | None,
) -> None:
    """Write a new, valid request file under requests/<target>/."""
    repo = Repo.at(root)
    chosen = [(kind, name) for kind, name in resources.items() if name is not None]
    if len(chosen) != 1:
        flags = ", ".join("--" + k.replace("_", "-") for k in RESOURCE_KINDS)
        raise click.UsageError(f"name exactly one resource: {flags}")
    if (duration is None) == (expires is None):
        raise click.UsageError("give exactly one of --duration and --expires")
    email = requester or gitutil.user_email(repo.root)
    if not email:
        raise click.UsageError("no --requester and no `git config user.email`")
    begin, end = window(_now(now), starts=starts, expires=expires, duration=duration)
    draft = Draft(target, email, reason, ticket, role, chosen[0][0], chosen[0][1], begin, end)
    path = repo.requests / target / f"{fresh_id(repo, draft)}.yaml"
    try:
        write_new(path, request_text(draft))
    except FileExistsError:
        raise ConfigError(f"{repo.relative(path)} already exists; nothing written") from None
    relative = repo.relative(path)
    result = validate_repo(repo, now=_now(now), time_checked={relative}, only={relative})
    if result.errors:
        path.unlink()  # ours, created above: refuse without leaving a half-valid file behind
        click.echo(reporting.render(result.problems, "text"), nl=False, err=True)
        click.echo(f"refused: {relative} not written", err=True)
        sys.exit(EXIT_FINDINGS)
    click.echo(f"wrote {relative}")
    click.echo(
        "next: git add it, commit, and open a pull request; the target's approvers review it"
    )


@cli.command()
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if out of date.")
@root_option
def render(check: bool, root: Path) -> None:
    """Validate, then write terraform/grants/ (one file per request). Never reads the clock."""
    repo = Repo.at(root)
    result = validate_repo(repo, now=None)
    if result.errors:
        click.echo(reporting.render(result.problems, "text"), nl=False, err=True)
        click.echo("nothing written: fix the problems above first", err=True)
        sys.exit(EXIT_FINDINGS)
    try:
        files = render_all(result.requests)
    except RenderError as exc:
        raise ConfigError(f"refusing to write terraform/grants/: {exc}") from None
    changes = grantfiles.compare(repo.grants, files)
    if check:
        if not changes.clean:
            click.echo(grantfiles.diff(repo.grants, changes, repo.relative(repo.grants)), nl=False)
            click.echo("terraform/grants/ is out of date: run `lapse render`", err=True)
            sys.exit(EXIT_FINDINGS)
        return
    grantfiles.apply(repo.grants, changes)
    click.echo(tables.text_table(ACCESS_HEADERS, access_rows(result.requests)), nl=False)
    click.echo(
        f"{len(changes.write)} written, {len(changes.remove)} removed, "
        f"{len(changes.unchanged)} unchanged"
    )


@cli.command()
@click.option("--at", "at", callback=_instant, metavar="T", help="Instant to judge [default: now].")
@click.option("--principal", metavar="P", help="Only this member (user:EMAIL or EMAIL).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@root_option
def simulate(at: datetime | None, principal: str | None, fmt: str, root: Path) -> None:
    """Which rendered bindings are active at an instant, by evaluating their conditions."""
    repo = Repo.at(root)
    moment = _now(at)
    try:
        verdicts = [judge(b, moment) for b in read_bindings(repo.grants)]
    except (HclError, ConditionError) as exc:
        raise ConfigError(str(exc)) from None
    if principal:
        member = principal if ":" in principal else f"user:{principal}"
        verdicts = [v for v in verdicts if v.binding.member == member]
    click.echo(simulation.render(verdicts, moment, fmt), nl=False)


@cli.command()
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if stale or overridden.")
@root_option
def codeowners(check: bool, root: Path) -> None:
    """Write the policy-driven section of .github/CODEOWNERS."""
    repo = Repo.at(root)
    policy = _policy_or_exit(repo)
    path = repo.root / ".github" / "CODEOWNERS"
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    wanted = owners.updated(current, policy)
    if check:
        stale = current != wanted
        if stale:
            click.echo(owners.diff(current, wanted), nl=False)
        taken = owners.shadowed(current, policy)
        for message in taken:
            click.echo(f".github/CODEOWNERS: {message}", err=True)
        if stale or taken:
            click.echo(
                "run `lapse codeowners` and keep hand-written lines above the section", err=True
            )
            sys.exit(EXIT_FINDINGS)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(wanted, encoding="utf-8")
    for message in owners.shadowed(wanted, policy):
        click.echo(f"warning: .github/CODEOWNERS: {message}", err=True)
    click.echo("wrote .github/CODEOWNERS")


def _policy_or_exit(repo: Repo) -> Policy:
    """The policy, or the problems that make it unusable (exit 1)."""
    result = validate_repo(repo, now=None, only=())
    if result.policy is None or result.errors:
        click.echo(reporting.render(result.problems, "text"), nl=False, err=True)
        sys.exit(EXIT_FINDINGS)
    return result.policy


def build_session() -> requests.Session:
    """An authorized session for Google's REST APIs (Application Default Credentials)."""
    from generator.gcp.iam_policies import build_session as authorized

    return authorized()


def build_iam_client() -> RoleReader:
    from generator.gcp.roles import build_iam_client as iam_client

    return iam_client()


def logging_client(project: str) -> Any:
    from generator.review.logging_source import logging_client as client

    return client(project)


def _github() -> GitHubClient:
    """The GitHub adapter for this repository, from the variables Actions sets."""
    from generator.github.client import GitHubClient

    token = os.environ.get("GITHUB_TOKEN")
    repository = os.environ.get("GITHUB_REPOSITORY")
    if not token or not repository:
        raise ConfigError("set GITHUB_TOKEN and GITHUB_REPOSITORY (owner/name)")
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    return GitHubClient(repository, token, base_url=api)


@cli.group()
def roles() -> None:
    """The role knowledge in policy/roles.lock.json."""


@roles.command("sync")
@click.option(
    "--role",
    "names",
    multiple=True,
    metavar="R",
    help="Role to read (repeatable) [default: every role the policy allows].",
)
@root_option
def roles_sync(names: tuple[str, ...], root: Path) -> None:
    """Read roles from the IAM API and update the lock file; print what changed."""
    from generator.gcp.roles import RolesLock, format_changes, load_lock, sync_roles, write_lock

    repo = Repo.at(root)
    lock = load_lock(repo.roles_lock) if repo.roles_lock.exists() else RolesLock()
    wanted = list(names) or sorted(
        {r for t in _policy_or_exit(repo).targets.values() for r in t.roles} - BASIC_ROLES
    )
    today = datetime.now(UTC).date().isoformat()
    fresh, changes = sync_roles(lock, wanted, build_iam_client(), today)
    write_lock(repo.roles_lock, fresh)  # only reached when every role was read
    for line in format_changes(changes):
        click.echo(line)


@cli.command("verify-approvals")
@click.option("--commit", "sha", required=True, metavar="SHA", help="The merge commit on main.")
@root_option
def verify_approvals_command(sha: str, root: Path) -> None:
    """Prove every request merged by SHA had a valid approval; print the evidence as JSON."""
    from generator.github.approvals import verify_approvals

    repo = Repo.at(root)
    result = verify_approvals(_github(), _policy_or_exit(repo), sha)
    click.echo(result.to_json())
    for failure in result.failures:
        click.echo(f"not approved: {failure}", err=True)
    sys.exit(EXIT_CLEAN if result.ok else EXIT_FINDINGS)


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--open-issues", is_flag=True, help="Open one incident issue per CRITICAL finding, never twice."
)
@now_option
@root_option
def drift(fmt: str, open_issues: bool, now: datetime | None, root: Path) -> None:
    """Compare live IAM policies (version 3) with the grants in the repository."""
    from generator.checks.validate import archived_requests
    from generator.gcp.iam_policies import IamPolicyReader
    from generator.lifecycle import drift as drift_report
    from generator.terraform.bindings import bindings_of_requests

    repo = Repo.at(root)
    try:
        current = read_bindings(repo.grants)
    except HclError as exc:
        raise ConfigError(str(exc)) from None
    archived = bindings_of_requests(archived_requests(repo))
    report = drift_report.run_drift(
        current, IamPolicyReader(build_session()), _now(now), archived=archived
    )
    click.echo(
        drift_report.to_json(report) if fmt == "json" else drift_report.to_text(report), nl=False
    )
    if open_issues:
        client = _github()
        for finding in report.findings:
            if finding.severity == "CRITICAL":
                number = client.ensure_issue(
                    drift_report.incident_key(finding),
                    drift_report.incident_title(finding),
                    drift_report.incident_body(finding),
                    ["security-incident", "lapse-drift"],
                )
                click.echo(f"incident #{number}: {drift_report.incident_title(finding)}", err=True)
    sys.exit(drift_report.report_exit_code(report))


@cli.command()
@click.option(
    "--grace",
    callback=_duration,
    metavar="D",
    help="Archive only requests expired at least this long ago [default: 0].",
)
@click.option(
    "--mode",
    type=click.Choice(["pr", "local"]),
    default="local",
    show_default=True,
    help="pr: one commit on branch lapse/expire and one pull request (GitHub); "
    "local: one commit in this checkout.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be archived; change nothing.")
@click.option(
    "--warn-within",
    callback=_duration,
    metavar="D",
    help="Instead of archiving, comment once on the pull request of each grant expiring within D.",
)
@now_option
@root_option
def expire(
    grace: timedelta | None,
    mode: str,
    dry_run: bool,
    warn_within: timedelta | None,
    now: datetime | None,
    root: Path,
) -> None:
    """Archive expired requests (moved unchanged to archive/), removing their grants."""
    from generator.lifecycle import expire as expiry

    repo = Repo.at(root)
    moment = _now(now)
    if warn_within is not None:
        github = _github()
        numbers = expiry.remind(
            github, repo, moment, warn_within, expiry.source_pr_from_history(repo.root, github)
        )
        click.echo(
            f"reminded on {len(numbers)} pull requests"
            + (": " + ", ".join(f"#{n}" for n in numbers) if numbers else "")
        )
        return
    client = _github() if mode == "pr" and not dry_run else None
    lookup = _source_prs(repo, client)
    plan = expiry.plan_expiry(repo, moment, grace or timedelta(0), lookup)
    click.echo(expiry.describe(plan), nl=False)
    if dry_run or plan.empty:
        return
    if client is not None:
        pull = expiry.apply_pr(client, plan)
        click.echo(f"pull request: {pull.html_url}" if pull else "nothing to do")
        return
    sha = expiry.apply_local(repo, plan, expiry.commit_message(plan))
    click.echo(f"committed {sha}" if sha else "no commit")


def _source_prs(repo: Repo, client: GitHubClient | None) -> SourcePR | None:
    """Where each request came from, for the archive PR; unknown in a shallow clone."""
    from generator.lifecycle import expire as expiry

    if client is None:
        return None
    try:
        return expiry.source_pr_from_history(repo.root, client)
    except ConfigError:
        return None


@cli.command()
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
    callback=_duration,
    default="2d",
    show_default=True,
    metavar="D",
    help="Review grants whose window ended within this long before --until.",
)
@click.option(
    "--until", "until", callback=_instant, metavar="T", help="End of the period [default: now]."
)
@click.option(
    "--grace",
    callback=_duration,
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
@root_option
def review(
    source_spec: str,
    since: timedelta,
    until: datetime | None,
    grace: timedelta,
    project: str | None,
    open_pr: bool,
    open_issues: bool,
    root: Path,
) -> None:
    """Post-access review: what each grantee did, against what was approved."""
    from generator.gcp.roles import load_lock
    from generator.review import report as audit_report
    from generator.review import selection as reviewing

    repo = Repo.at(root)
    policy = _policy_or_exit(repo)
    end = _now(until)
    period = reviewing.Period(end - since, end, grace)
    items = reviewing.due(repo, period)
    source = _audit_source(source_spec, project, reviewing.resource_names(policy, items))
    longest = max(t.max_duration for t in policy.targets.values())
    lock = load_lock(repo.roles_lock)
    reviews = reviewing.run(repo, policy, lock, source, period, longest=longest, track=_track)
    files = reviewing.report_files(reviews, period, _approvals(repo, reviews))
    for name, text in files.items():
        target = repo.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for item in reviews:
        worst = item.worst.value if item.worst else "no findings"
        state = "complete" if item.complete else "INCOMPLETE"
        click.echo(f"{item.subject.request.id}: {worst}, {state} -> {reviewing.report_of(item)}")
    click.echo(f"{len(reviews)} grants reviewed, {len(files)} report files written")
    if (open_pr or open_issues) and reviews:
        _publish_reviews(reviews, files, period, open_pr=open_pr, open_issues=open_issues)
    sys.exit(audit_report.exit_code(reviews))


def _approvals(repo: Repo, reviews: list[Review]) -> dict[str, dict[str, object]]:
    """Approval evidence for each report, read from GitHub when a token is at hand."""
    from generator.lifecycle import expire as expiry
    from generator.review import selection as reviewing

    if not reviews or not os.environ.get("GITHUB_TOKEN"):
        return {}
    github = _github()
    try:
        pull_of = expiry.source_pr_from_history(repo.root, github)
    except ConfigError as exc:
        return {r.subject.request.id: {"not read": str(exc)} for r in reviews}
    return {
        r.subject.request.id: reviewing.approval_evidence(github, pull_of, r.subject.request)
        for r in reviews
    }


def _publish_reviews(
    reviews: list[Review],
    files: dict[str, str],
    period: Period,
    *,
    open_pr: bool,
    open_issues: bool,
) -> None:
    from generator.review import selection as reviewing

    client = _github()
    if open_pr:
        client.commit_changes(
            reviewing.BRANCH,
            "main",
            {k: v.encode() for k, v in files.items()},
            f"Post-access review of {len(reviews)} grants",
        )
        pull = client.ensure_pull_request(
            reviewing.BRANCH,
            "main",
            f"Post-access review: {len(reviews)} grants",
            reviewing.pr_body(reviews, period),
            ["lapse-review"],
        )
        click.echo(f"report pull request: {pull.html_url}")
    if open_issues:
        for item in reviews:
            if reviewing.deviations(item):
                request = item.subject.request
                number = client.ensure_issue(
                    f"review-{request.id}",
                    f"Access review deviation: {request.id}",
                    reviewing.incident_body(item, reviewing.report_of(item)),
                    list(reviewing.INCIDENT_LABELS),
                )
                click.echo(f"incident #{number}: {request.id}", err=True)


def _audit_source(spec: str, project: str | None, scope: list[str]) -> EventSource:
    from generator.review.bigquery_source import BigQuerySource
    from generator.review.file_source import FileSource
    from generator.review.logging_source import LoggingSource
    from generator.review.sources import CombinedSource

    kind, _, value = spec.partition(":")
    if kind == "file" and value:
        path = Path(value)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            return CombinedSource([FileSource(p) for p in files])
        if not path.is_file():
            raise ConfigError(f"--source file:{value}: no such file or folder")
        return FileSource(path)
    if kind == "bigquery" and value:
        from google.cloud import bigquery

        client: Any = bigquery.Client(project=value.split(".")[0])  # matches the protocol loosely
        return BigQuerySource(client, value)
    if spec == "logging":
        billed = (
            project
            or os.environ.get("GOOGLE_CLOUD_PROJECT")
            or next((n.split("/")[1] for n in scope if n.startswith("projects/")), None)
        )
        if billed is None:
            raise ConfigError("give --project: no project in scope to read the logs through")
        return LoggingSource(logging_client(billed), scope)
    raise click.BadParameter(
        f"{spec!r}: use logging, bigquery:PROJECT.DATASET or file:PATH", param_hint="--source"
    )


def _track(events: Iterator[Event]) -> Iterator[Event]:
    """A progress bar in a terminal; a plain log line every 100,000 events in CI."""
    interactive = sys.stderr.isatty() and not os.environ.get("CI")
    if interactive:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

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
            click.echo(f"read {count:,} matching events", err=True)
        yield event
    click.echo(f"read {count:,} matching events", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one place maps errors to exit codes and keeps tracebacks from users."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None, prog_name="lapse", standalone_mode=False
        )
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 2
    except LapseError as exc:
        click.echo(f"lapse: error: {exc}", err=True)
        return exc.exit_code
    except SystemExit as done:
        return int(done.code or 0) if not isinstance(done.code, str) else 2
    except Exception as exc:
        if os.environ.get("LAPSE_DEBUG"):
            raise
        click.echo(
            f"lapse: internal error: {type(exc).__name__}: {exc} (set LAPSE_DEBUG=1 for details)",
            err=True,
        )
        return 2
    return 0


def run() -> None:
    raise SystemExit(main())
