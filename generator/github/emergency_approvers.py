"""Who may approve a request file: its target's approvers, or for an emergency file also the
target's emergency approvers.

The emergency approvers count only for `requests/<target>/emergency/<id>.yaml`, whose limits
validation holds tighter; a person's second emergency within `normal_approval_within` of
their last one is a repeat, and needs the target's own approvers again.
"""

from __future__ import annotations

from generator.core.model import Target
from generator.core.request_paths import parse_request_path


def approver_handles(target: Target | None, path: str, repeat_of: str | None) -> tuple[str, ...]:
    """The handles whose approval counts for the request at `path`."""
    if target is None:
        return ()
    where = parse_request_path(path)
    if where is None or not where.emergency or target.emergency is None or repeat_of:
        return target.approvers
    return (*target.emergency.approvers, *target.approvers)


def repeat_reason(path: str, repeat_of: str | None) -> str | None:
    if repeat_of is None or not (where := parse_request_path(path)) or not where.emergency:
        return None
    return (
        f"it follows the requester's emergency {repeat_of} within the target's "
        "normal_approval_within, so only the target's own approvers count"
    )
