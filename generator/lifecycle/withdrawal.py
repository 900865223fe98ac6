"""`lapse withdraw`: end a grant early through the same archive change as expiry.

The request moves to archive/ byte for byte (its approval was of those bytes) and its rendered
grants are deleted; the reason and who withdrew it are recorded in the commit that does so.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from generator.checks.validate import readable_requests
from generator.core.errors import ConfigError
from generator.core.model import Request
from generator.core.repo import Repo
from generator.core.times import format_utc
from generator.core.wording import did_you_mean
from generator.lifecycle.expire import plan_archive
from generator.lifecycle.expiry_plan import ExpiryPlan

MIN_REASON = 10


def plan_withdrawal(repo: Repo, request_id: str, reason: str, now: datetime) -> ExpiryPlan:
    """The archive change for one unexpired request; ConfigError says why it cannot be."""
    if len(reason.strip()) < MIN_REASON:
        raise ConfigError(f"say why in --reason (at least {MIN_REASON} characters)")
    found = find_request(repo, request_id)
    if found.window.expires <= now:
        raise ConfigError(
            f"{found.path} already expired at {format_utc(found.window.expires)}: "
            "`lapse expire` archives it"
        )
    return _own(plan_archive(repo, now, lambda r: r.path == found.path))


def _own(plan: ExpiryPlan) -> ExpiryPlan:
    """Only the withdrawn request's paths: a grant file of another request that is out of date
    is `lapse render`'s to fix, in a change its approvers see, not in this one."""
    item = plan.items[0]
    own = {item.archive_path, item.path, item.grants_path}
    changes = {path: data for path, data in plan.changes.items() if path in own}
    return replace(plan, changes=changes, rerendered=())


def find_request(repo: Repo, request_id: str) -> Request:
    """The request under requests/ named by `request_id` (an id or a path), or ConfigError."""
    wanted = request_id.removesuffix(".yaml").rpartition("/")[2]
    current = readable_requests(repo, repo.request_files())
    for request in current:
        if request.id == wanted:
            return request
    if any(p.stem == wanted for p in repo.archive_files()):
        raise ConfigError(f"{wanted} is already in archive/: its access has ended")
    raise ConfigError(
        f"no request {wanted!r} under requests/; "
        + did_you_mean(wanted, [r.id for r in current])
        + "`lapse status` lists them"
    )


def withdrawal_message(plan: ExpiryPlan, reason: str, by: str | None, now: datetime) -> str:
    """The commit message: what ends, why, who said so, and when."""
    item = plan.items[0]
    lines = [
        f"Withdraw access request {item.request.id}",
        "",
        f"Reason: {' '.join(reason.split())}",
        f"Withdrawn by: {by or 'unknown (no git user.email)'} at {format_utc(now)}",
        f"Window was: until {item.expired_at}",
        "",
        *(f"- {i.path} -> {i.archive_path}" for i in plan.items),
        "",
    ]
    return "\n".join(lines)
