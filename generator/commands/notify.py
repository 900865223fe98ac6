"""`lapse notify EVENT`: tell the policy's chat channel; a failure never fails the job."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click

from generator.commands import adapters, options
from generator.core.errors import ConfigError, ServiceError
from generator.core.model import Channel, Policy, Request
from generator.core.repo import Repo
from generator.core.times import format_duration

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help

# Event -> (title, whether it is about one request, sent to the security channel).
EVENTS = {
    "opened": ("Access request awaiting approval", True, False),
    "applied": ("Access approved and applied", True, False),
    "expiring": ("Access expiring soon", True, False),
    "review-deviations": ("Post-access review found deviations", False, True),
    "emergency": ("Emergency access requested", True, True),
    "control-failure": ("A lapse control is failing", False, True),
}


@click.command()
@click.argument("event", type=click.Choice(list(EVENTS)))
@click.option("--request", "request_path", metavar="PATH", help="The request it is about.")
@click.option(
    "--expiring-within",
    "within",
    callback=options.duration,
    metavar="D",
    help="expiring: one message per request whose window ends within D (instead of --request).",
)
@click.option(
    "--pending",
    is_flag=True,
    help="opened: each open pull request's request files, read at its head; once per pull request.",
)
@click.option("--link", metavar="URL", help="The pull request, run or issue to open.")
@click.option("--text", default="", help="One more line (what failed, what was found).")
@options.now_option
@options.root_option
def notify(
    event: str,
    request_path: str | None,
    within: timedelta | None,
    pending: bool,
    link: str | None,
    text: str,
    now: datetime | None,
    root: Path,
) -> int:
    """Post EVENT to its channel (policy `notifications`); undelivered, it is reported in the
    job summary and the command still exits 0."""
    from generator.lifecycle import expire as expiry
    from generator.lifecycle import notifications
    from generator.lifecycle.notifications import Message

    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    title, about_request, security = EVENTS[event]
    if pending:
        if event != "opened" or request_path or within is not None or link:
            raise click.UsageError("--pending is for `opened` alone: each pull request is linked")
        return _pending(repo, policy, title)
    requests: list[Request | None]
    if within is not None:
        if event != "expiring" or request_path:
            raise click.UsageError("--expiring-within selects the requests of `expiring` only")
        requests = [*expiry.ending_within(repo, options.now_or_clock(now), within)]
        if not requests:
            click.echo(f"{event}: no request ends within {format_duration(within)}")
    else:
        one = _request(repo, request_path) if about_request or request_path else None
        requests = [one]
    deliveries: list[notifications.Delivery] = []
    for request in requests:
        channel = _channel(policy, request, security=security)
        if channel is None:
            click.echo(f"{event}: no channel configured for it in policy/policy.yaml")
            continue
        delivery = notifications.send(channel, Message(title, _lines(request, text), link))
        deliveries.append(delivery)
        if delivery.ok:
            click.echo(f"{event}: told channel {channel.name}")
        else:
            click.echo(
                f"{event}: not delivered to channel {channel.name}: {delivery.detail}", err=True
            )
    if not all(d.ok for d in deliveries):
        options.append_summary(notifications.summary(deliveries))
    return options.EXIT_CLEAN


def _pending(repo: Repo, policy: Policy, title: str) -> int:
    """`opened` for every open pull request not yet told; GitHub failing fails no job either."""
    from generator.lifecycle import notifications, opened

    try:
        outcomes = opened.tell_pending(
            adapters.github(), policy, repo.schema("access-request"), title, notifications.send
        )
    except ServiceError as error:
        click.echo(f"opened: open pull requests not read: {error}", err=True)
        options.append_summary(f"### Notifications not sent\n\n- opened: {error}\n")
        return options.EXIT_CLEAN
    deliveries = [d for outcome in outcomes for d in outcome.deliveries]
    for outcome in outcomes:
        for delivery in outcome.deliveries:
            if delivery.ok:
                click.echo(f"opened: #{outcome.pull}: told channel {delivery.channel}")
            else:
                click.echo(
                    f"opened: #{outcome.pull}: not delivered to channel {delivery.channel}: "
                    f"{delivery.detail}",
                    err=True,
                )
        if not outcome.told:
            click.echo(f"opened: #{outcome.pull}: {outcome.detail}", err=outcome.failed)
    if not outcomes:
        click.echo("opened: no open pull request changes a request file")
    failed = [f"- opened #{o.pull}: {o.detail}" for o in outcomes if o.failed]
    if failed:
        options.append_summary("### Notifications not sent\n\n" + "\n".join(failed) + "\n")
    if not all(d.ok for d in deliveries):
        options.append_summary(notifications.summary(deliveries))
    return options.EXIT_CLEAN


def _request(repo: Repo, path: str | None) -> Request:
    from generator.checks.validate import readable_requests

    if path is None:
        raise click.UsageError("this event is about one request: name it with --request PATH")
    wanted = (repo.root / path).resolve()
    for request in readable_requests(repo, repo.request_files()):
        if (repo.root / request.path).resolve() == wanted:
            return request
    raise ConfigError(f"{path} is not a readable request under requests/")


def _channel(policy: Policy, request: Request | None, *, security: bool) -> Channel | None:
    settings = policy.notifications
    if settings is None:
        return None
    target = policy.targets.get(request.target) if request else None
    name = settings.security if security or target is None else target.notify
    return settings.channels.get(name) if name else None


def _lines(request: Request | None, text: str) -> tuple[str, ...]:
    from generator.lifecycle import notifications

    lines = list(notifications.request_lines(request)) if request is not None else []
    if text:
        lines.append(" ".join(text.split()))
    return tuple(lines)
