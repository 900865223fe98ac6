"""Chat notifications through incoming webhooks (Slack, Google Chat), never failing a job.

A channel's URL is a secret: read from the environment variable the policy names or, when that
is unset, from the same name in LAPSE_WEBHOOKS (one secret for every channel: `NAME=URL` lines or
a JSON object); checked to be the service's own webhook host (so a policy edit cannot post
elsewhere), and never put in any message, error or summary; a failure is named by its status
and the service's error code.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from generator.core.errors import ServiceError
from generator.core.model import Channel, Request
from generator.core.retry import TRANSIENT_STATUS, call_with_retry
from generator.core.times import format_utc

HOSTS = {
    "slack": "https://hooks.slack.com/services/",
    "google_chat": "https://chat.googleapis.com/v1/spaces/",
}
TIMEOUT = 10.0
WEBHOOKS = "LAPSE_WEBHOOKS"
NAME = re.compile(r"LAPSE_WEBHOOK_[A-Z0-9_]{1,64}")  # policy schema, `url_from`


@dataclass(frozen=True, slots=True)
class Message:
    """What to say: a title, a few lines, and the pull request or issue it is about."""

    title: str
    lines: tuple[str, ...] = ()
    link: str | None = None

    @property
    def text(self) -> str:
        parts = [self.title, *self.lines, *([self.link] if self.link else [])]
        return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str
    ok: bool
    detail: str  # never the URL


class _Failed(Exception):
    def __init__(self, detail: str, *, transient: bool) -> None:
        super().__init__(detail)
        self.transient = transient


def slack_payload(message: Message) -> dict[str, Any]:
    """`text` for notifications and clients without blocks; the same in one mrkdwn section."""
    body = "\n".join([f"*{_slack(message.title)}*", *map(_slack, message.lines)])
    if message.link:
        body += f"\n<{message.link}|{_slack(message.link)}>"
    return {
        "text": _slack(message.text),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": body}}],
    }


def chat_payload(message: Message) -> dict[str, Any]:
    return {"text": message.text}


def _slack(text: str) -> str:
    # Slack reads &, < and > as markup: a reason could otherwise mention @channel or link away.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def send(
    channel: Channel,
    message: Message,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Delivery:
    """Post `message` to `channel`, retried with backoff; the outcome, never an exception."""
    url, problem = webhook_url(channel.url_from, os.environ if environ is None else environ)
    if problem:
        return Delivery(channel.name, False, problem)
    if not url.startswith(HOSTS[channel.kind]):
        return Delivery(
            channel.name, False, f"{channel.url_from} is not a {channel.kind} webhook URL"
        )
    payload = slack_payload(message) if channel.kind == "slack" else chat_payload(message)
    try:
        call_with_retry(
            lambda: _post(url, payload, channel.kind),
            what=f"posting to channel {channel.name}",
            is_transient=lambda exc: isinstance(exc, _Failed) and exc.transient,
            sleep=sleep,
        )
    except ServiceError as exc:
        return Delivery(channel.name, False, str(exc))
    return Delivery(channel.name, True, "sent")


def webhook_url(name: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """The URL `name` holds, else the one LAPSE_WEBHOOKS gives it; else why not (no URL in it)."""
    url = environ.get(name, "").strip()
    if url:
        return url, ""
    table, problem = _webhooks(environ.get(WEBHOOKS, ""))
    if problem:
        return "", problem
    if not table.get(name):
        return "", f"{name} is not set, nor named in {WEBHOOKS}"
    return table[name], ""


def _webhooks(text: str) -> tuple[dict[str, str], str]:
    """LAPSE_WEBHOOKS read whole: a malformed part is named by its line, never its text."""
    if text.lstrip().startswith("{"):
        return _webhooks_json(text)
    table: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, url = (part.strip() for part in line.partition("="))
        if not sep or not NAME.fullmatch(name) or not url:
            return {}, f"{WEBHOOKS} line {number} is not LAPSE_WEBHOOK_NAME=URL"
        if name in table:
            return {}, f"{WEBHOOKS} names {name} twice (line {number})"
        table[name] = url
    return table, ""


def _webhooks_json(text: str) -> tuple[dict[str, str], str]:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [name for name, _ in pairs]
        twice = sorted({n for n in names if names.count(n) > 1 and NAME.fullmatch(n)})
        if twice:
            raise _Twice(twice[0])
        return dict(pairs)

    try:
        data = json.loads(text, object_pairs_hook=unique)
    except _Twice as exc:
        return {}, f"{WEBHOOKS} names {exc} twice"
    except (ValueError, RecursionError):
        return {}, f"{WEBHOOKS} is not a JSON object of LAPSE_WEBHOOK_NAME: URL"
    if not all(NAME.fullmatch(k) and isinstance(v, str) and v.strip() for k, v in data.items()):
        return {}, f"{WEBHOOKS} is not a JSON object of LAPSE_WEBHOOK_NAME: URL"
    return {k: v.strip() for k, v in data.items()}, ""


class _Twice(Exception):
    pass


def _post(url: str, payload: dict[str, Any], kind: str) -> None:
    try:
        response = requests.post(url, json=payload, timeout=TIMEOUT)
    except (requests.RequestException, OSError) as exc:
        raise _Failed(f"{type(exc).__name__} (no answer)", transient=True) from None
    if response.status_code < 300:
        return
    raise _Failed(
        f"HTTP {response.status_code} {_error_code(response, kind)}".rstrip(),
        transient=response.status_code in TRANSIENT_STATUS,
    ) from None


def _error_code(response: requests.Response, kind: str) -> str:
    """Slack answers a word (`invalid_payload`, `no_service`); Google its error envelope."""
    if kind == "slack":
        word = response.text.strip()
        return word if word.replace("_", "").isalnum() and len(word) < 64 else ""
    try:
        status = response.json().get("error", {}).get("status", "")
    except ValueError:
        return ""
    return str(status) if str(status).replace("_", "").isalnum() else ""


def request_lines(request: Request) -> tuple[str, ...]:
    """Who asks, for which roles, and when."""
    roles = ", ".join(f"{g.role} on {g.resource}" for g in request.grants)
    start = format_utc(request.window.starts) if request.window.starts else "merge"
    return (
        f"Requester: {request.requester} ({request.ticket})",
        f"Roles: {roles}",
        f"Window: {start} until {format_utc(request.window.expires)}",
    )


def summary(deliveries: list[Delivery]) -> str:
    """The job summary's lines: each failed notification, so nobody assumes it was read."""
    failed = [d for d in deliveries if not d.ok]
    if not failed:
        return ""
    lines = ["### Notifications not delivered", ""]
    lines += [f"- channel `{d.channel}`: {d.detail}" for d in failed]
    return "\n".join(lines) + "\n"
