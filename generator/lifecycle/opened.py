"""`opened`, told from main: the request files of each open pull request, told once per pull.

A pull request's own workflows run that pull request's workflow files, so they never read the
webhooks; main's hourly job lists the open pull requests instead, reads each added or modified
request file at the pull request's head with lapse's own loader, and tells the target's channel.
The pull request is marked with a hidden comment BEFORE its channels are told: a rerun, or a run
that stops after marking, never tells a channel twice (at most once, never a repeat).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from generator.checks import schema
from generator.checks.loading import MAX_BYTES, load
from generator.checks.values import request_from
from generator.core.errors import ServiceError
from generator.core.model import Channel, Notifications, Policy, Problem, Request
from generator.core.request_paths import RequestPath, parse_request_path
from generator.github.records import ChangedFile, FileUnreadable, PullInfo
from generator.lifecycle import notifications
from generator.lifecycle.notifications import Delivery, Message

MARKER = "opened-notified"
MAX_FILES = 20  # request files read per pull request; more are counted, not read


class PullRequests(Protocol):
    """What telling of open pull requests needs from GitHub; `GitHubClient` is the real one."""

    def open_pulls(self) -> list[PullInfo]: ...

    def pull_files(self, number: int) -> list[ChangedFile]: ...

    def file_text(self, path: str, ref: str) -> str: ...

    def comment_once(self, number: int, marker: str, body: str, *, own: bool = ...) -> bool: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one open pull request that changes request files."""

    pull: int
    told: bool  # False: marked by an earlier run, or no channel to tell
    deliveries: tuple[Delivery, ...] = ()
    detail: str = ""  # why it was not told (no URL, no secret in it)
    failed: bool = False  # GitHub failed: reported like an undelivered message


Send = Callable[[Channel, Message], Delivery]


def tell_pending(
    client: PullRequests, policy: Policy, schema_path: Path, title: str, send: Send
) -> list[Outcome]:
    """Tell each open pull request's channels of its request files, once per pull request."""
    outcomes: list[Outcome] = []
    for pull in client.open_pulls():
        try:
            outcome = _tell(client, policy, schema_path, title, send, pull)
        except ServiceError as error:
            outcome = Outcome(pull.number, False, detail=f"not told: {error}", failed=True)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def request_files(files: list[ChangedFile]) -> list[str]:
    """The request files a pull request adds or changes (`.yml` included, to be named)."""
    found = []
    for item in files:
        where = parse_request_path(_as_yaml(item.filename))
        if item.status != "removed" and where is not None and where.folder == "requests":
            found.append(item.filename)
    return sorted(found)


def _tell(
    client: PullRequests, policy: Policy, schema_path: Path, title: str, send: Send, pull: PullInfo
) -> Outcome | None:
    paths = request_files(client.pull_files(pull.number))
    settings = policy.notifications
    if not paths:
        return None
    if settings is None:
        return Outcome(pull.number, False, detail="no channel configured for it in the policy")
    lines: dict[str, list[str]] = {}  # channel -> lines about its requests
    for path in paths[:MAX_FILES]:
        read = _read(client, schema_path, path, pull.head_sha)
        channel = _channel(policy, settings, parse_request_path(_as_yaml(path)))
        if channel is not None:
            lines.setdefault(channel.name, []).extend(_about(path, read))
    if not lines:
        return Outcome(pull.number, False, detail="no channel configured for its targets")
    if len(paths) > MAX_FILES:
        for said in lines.values():
            said.append(f"... and {len(paths) - MAX_FILES} more request files")
    names = ", ".join(f"`{name}`" for name in sorted(lines))
    body = f"lapse told the channel {names} of this pull request's access request."
    # Only lapse's own marking counts: the author could otherwise silence it with a comment.
    if not client.comment_once(pull.number, MARKER, body, own=True):
        return Outcome(pull.number, False, detail="told by an earlier run")
    head = f"Pull request #{pull.number} by {pull.author}"
    deliveries = tuple(
        send(settings.channels[name], Message(title, (head, *said), pull.html_url))
        for name, said in sorted(lines.items())
    )
    return Outcome(pull.number, True, deliveries)


def _as_yaml(path: str) -> str:
    return path.removesuffix(".yml") + ".yaml" if path.endswith(".yml") else path


def _read(client: PullRequests, schema_path: Path, path: str, ref: str) -> Request | str:
    """The request at `ref`, or why it is not readable yet (never its text)."""
    if not path.endswith(".yaml"):
        return "a request file ends in .yaml"
    try:
        text = client.file_text(path, ref)
    except FileUnreadable as error:
        return str(error)
    raw = text.encode("utf-8")
    if len(raw) > MAX_BYTES:
        return f"larger than the limit of {MAX_BYTES} bytes"
    loaded = load(path, raw)
    if loaded.document is None:
        return _located(loaded.problems)
    problems = schema.check(loaded.document, schema_path)
    if problems:
        return _located(problems)
    built = request_from(loaded.document)
    if built.value is None:
        return _located(built.problems)
    return built.value


def _located(problems: tuple[Problem, ...] | list[Problem]) -> str:
    first = problems[0]
    more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
    return f"{first.rule} at line {first.line}, column {first.col}{more}"


def _about(path: str, read: Request | str) -> list[str]:
    if isinstance(read, str):
        return [f"{path}: not readable yet ({read})"]
    return [f"{path}:", *notifications.request_lines(read)]


def _channel(policy: Policy, settings: Notifications, where: RequestPath | None) -> Channel | None:
    """The target's channel; the security channel for a target the policy does not name."""
    known = policy.targets.get(where.target) if where is not None else None
    name = known.notify if known is not None else settings.security
    return settings.channels.get(name) if name else None
