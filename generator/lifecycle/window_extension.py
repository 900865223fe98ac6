"""`lapse extend`: an active request's window moved later, as one small reviewed change.

The change is two edits to the request file: its `expires` line, and one more entry under
`extensions:` (when, by how much, why); the rendered grant file follows. The file's bytes
change, so its earlier approval no longer counts (`github.plan_approvals`): the extension is
approved afresh in its pull request, and `verify-plan` sees one binding's condition updated.
The edited text is validated as a changed file, and read back, before anything is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from generator.checks.loading import split_lines
from generator.checks.validate import validate_repo
from generator.core.errors import ConfigError
from generator.core.model import Problem, Request
from generator.core.repo import Repo
from generator.core.times import format_duration, format_utc
from generator.core.writing import write_file
from generator.lifecycle.withdrawal import MIN_REASON, find_request
from generator.terraform.render import grant_file_name, render_request

_EXPIRES = re.compile(r"^expires:[ \t]*([\"']?)([0-9][0-9T:.+\-Z]+)\1[ \t]*(#.*)?$")
_TOP_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*[ ]*:(?:[ ]|$)")
LABEL = "lapse-extension"


@dataclass(frozen=True, slots=True)
class ExtensionPlan:
    """What extending one request writes, and what validation says of it."""

    request: Request
    by: timedelta
    reason: str
    at: datetime
    before: str  # the request file now
    after: str  # the request file extended
    grants_file: str  # repository-relative
    grants_text: str  # the rendered grant file after ("" when refused)
    problems: tuple[Problem, ...]

    @property
    def refused(self) -> bool:
        return any(p.level == "error" for p in self.problems)

    @property
    def expires(self) -> datetime:
        return self.request.window.expires + self.by

    @property
    def branch(self) -> str:
        return f"extend/{self.request.id}-{len(self.request.extensions) + 1}"

    @property
    def changes(self) -> dict[str, bytes]:
        return {
            self.request.path: self.after.encode("utf-8"),
            self.grants_file: self.grants_text.encode("utf-8"),
        }


def plan_extension(
    repo: Repo, request_id: str, by: timedelta, reason: str, now: datetime
) -> ExtensionPlan:
    """The extension of one active request; ConfigError when it cannot be one at all, and the
    validation problems of the extended file when the policy refuses it."""
    if len(reason.strip()) < MIN_REASON:
        raise ConfigError(f"say why in --reason (at least {MIN_REASON} characters)")
    request = find_request(repo, request_id)
    _refuse_inactive(request, now)
    before = (repo.root / request.path).read_text(encoding="utf-8")
    at = now.replace(microsecond=0)
    after = extended_text(before, request, at, by, reason)
    problems, extended = _validated(repo, request, after, now)
    if extended is not None and (
        extended.window.expires != request.window.expires + by
        or extended.extensions[:-1] != request.extensions
        or len(extended.extensions) != len(request.extensions) + 1
    ):
        raise ConfigError(f"{request.path} does not read back as extended: write it plainly")
    refused = extended is None or any(p.level == "error" for p in problems)
    rendered = "" if refused or extended is None else render_request(extended)
    grants = f"{repo.relative(repo.grants)}/{grant_file_name(request)}"
    return ExtensionPlan(request, by, reason, at, before, after, grants, rendered, problems)


def _refuse_inactive(request: Request, now: datetime) -> None:
    if request.window.expires <= now:
        raise ConfigError(
            f"{request.path} expired at {format_utc(request.window.expires)}: an ended grant is "
            "not extended; write a new request (`lapse new`)"
        )
    if request.window.starts is not None and request.window.starts > now:
        raise ConfigError(
            f"{request.path} starts at {format_utc(request.window.starts)}: until then, change "
            "its expires in a pull request like any request"
        )


def written_duration(by: timedelta) -> str:
    """`by` in the one unit the schema allows (`90m`, `2h`, `1d`); ValueError otherwise."""
    seconds = int(by.total_seconds())
    if seconds <= 0 or seconds % 60 or by.microseconds:
        raise ValueError(f"{format_duration(by)} is not a whole number of minutes above 0")
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds // size < 10000:
            return f"{seconds // size}{unit}"
    raise ValueError(f"{format_duration(by)} is too long to write")


def extended_text(text: str, request: Request, at: datetime, by: timedelta, reason: str) -> str:
    """The request file with `expires` moved by `by` and the extension recorded last."""
    lines = split_lines(text)
    wanted = request.window.expires
    hits = [i for i, line in enumerate(lines) if _EXPIRES.match(line)]
    if len(hits) != 1:
        raise ConfigError(f"{request.path}: no single plain `expires:` line to move")
    match = _EXPIRES.match(lines[hits[0]])
    assert match is not None
    comment = f" {match[3]}" if match[3] else ""
    lines[hits[0]] = f"expires: {format_utc(wanted + by)}{comment}"
    if lines and lines[-1] == "":
        lines.pop()
    entry = [
        f"- at: {format_utc(at)}",
        f"  by: {written_duration(by)}",
        f"  reason: {json.dumps(' '.join(reason.split()), ensure_ascii=False)}",
    ]
    return "\n".join(_with_entry(lines, entry)) + "\n"


def _with_entry(lines: list[str], entry: list[str]) -> list[str]:
    heads = [i for i, line in enumerate(lines) if re.match(r"^extensions[ ]*:", line)]
    if not heads:
        return [*lines, "extensions:", *("  " + line for line in entry)]
    start = heads[0]
    end = next((i for i in range(start + 1, len(lines)) if _TOP_KEY.match(lines[i])), len(lines))
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip()[:1] == "#"):
        end -= 1
    items = [line for line in lines[start + 1 : end] if line.lstrip().startswith("- ")]
    indent = (len(items[0]) - len(items[0].lstrip())) if items else 2
    return [*lines[:end], *(" " * indent + line for line in entry), *lines[end:]]


def _validated(
    repo: Repo, request: Request, text: str, now: datetime
) -> tuple[tuple[Problem, ...], Request | None]:
    """Validate `text` in the request's place as a changed file; the file is put back after."""
    path = repo.root / request.path
    original = path.read_bytes()
    try:
        write_file(path, text)
        result = validate_repo(repo, now=now, time_checked={request.path}, only={request.path})
    finally:
        write_file(path, original)
    extended = next((r for r in result.requests if r.path == request.path), None)
    return tuple(result.problems), extended


def commit_message(plan: ExtensionPlan, by_whom: str | None) -> str:
    request = plan.request
    return "\n".join(
        [
            f"Extend access request {request.id} by {format_duration(plan.by)}",
            "",
            f"Reason: {' '.join(plan.reason.split())}",
            f"Asked by: {by_whom or 'unknown (no git user.email)'} at {format_utc(plan.at)}",
            f"Window: until {format_utc(request.window.expires)} -> {format_utc(plan.expires)}",
            "",
        ]
    )


def pr_title(plan: ExtensionPlan) -> str:
    return f"Extend {plan.request.id} by {format_duration(plan.by)}"


def pr_body(plan: ExtensionPlan) -> str:
    request = plan.request
    return "\n".join(
        [
            f"Extends the active grant `{request.path}` of {request.requester} "
            f"({request.ticket}) by {format_duration(plan.by)}: until "
            f"{format_utc(plan.expires)} instead of {format_utc(request.window.expires)}.",
            "",
            f"Why: {' '.join(plan.reason.split())}",
            "",
            "The request file changed, so its earlier approval no longer counts: an approver of "
            f"target `{request.target}` approves this pull request before the extension is "
            "applied. Extension number "
            f"{len(request.extensions) + 1}, within the target's extension limits.",
            "",
        ]
    )
