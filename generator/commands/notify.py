"""`lapse notify EVENT`: tell the policy's chat channel; a failure never fails the job."""

from __future__ import annotations

from pathlib import Path

import click

from generator.checks.validate import readable_requests
from generator.commands import options
from generator.core.errors import ConfigError
from generator.core.model import Channel, Policy, Request
from generator.core.repo import Repo
from generator.core.times import format_utc
from generator.lifecycle import notifications
from generator.lifecycle.notifications import Message

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
@click.option("--link", metavar="URL", help="The pull request, run or issue to open.")
@click.option("--text", default="", help="One more line (what failed, what was found).")
@options.root_option
def notify(event: str, request_path: str | None, link: str | None, text: str, root: Path) -> int:
    """Post EVENT to its channel (policy `notifications`); undelivered, it is reported in the
    job summary and the command still exits 0."""
    repo = Repo.at(root)
    policy = options.policy_or_exit(repo)
    title, about_request, security = EVENTS[event]
    request = _request(repo, request_path) if about_request or request_path else None
    channel = _channel(policy, request, security=security)
    if channel is None:
        click.echo(f"{event}: no channel configured for it in policy/policy.yaml")
        return options.EXIT_CLEAN
    message = Message(title, _lines(request, text), link)
    delivery = notifications.send(channel, message)
    if delivery.ok:
        click.echo(f"{event}: told channel {channel.name}")
    else:
        click.echo(f"{event}: not delivered to channel {channel.name}: {delivery.detail}", err=True)
        options.append_summary(notifications.summary([delivery]))
    return options.EXIT_CLEAN


def _request(repo: Repo, path: str | None) -> Request:
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
    lines: list[str] = []
    if request is not None:
        roles = ", ".join(f"{g.role} on {g.resource}" for g in request.grants)
        start = format_utc(request.window.starts) if request.window.starts else "merge"
        lines += [
            f"Requester: {request.requester} ({request.ticket})",
            f"Roles: {roles}",
            f"Window: {start} until {format_utc(request.window.expires)}",
        ]
    if text:
        lines.append(" ".join(text.split()))
    return tuple(lines)
