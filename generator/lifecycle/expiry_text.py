"""What an expiry says to people: the dry-run listing, the commit, the pull request, reminders.

In: an `ExpiryPlan` (or a request about to end). Out: plain text and Markdown; pure functions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from generator.core.model import Request
from generator.core.times import format_duration, format_utc
from generator.lifecycle.expiry_plan import ExpiryPlan

MAX_BODY_ROWS = 200


def _requests(count: int) -> str:
    return f"{count} expired access request{'' if count == 1 else 's'}"


def _where(kind: str, resource: str) -> str:
    return f"{kind.replace('_', ' ')} {resource}"


def describe(plan: ExpiryPlan) -> str:
    """Plain text of what the plan moves and deletes (what `--dry-run` prints)."""
    cutoff = format_utc(plan.cutoff)
    if plan.empty:
        return f"Nothing to archive: no request expired at or before {cutoff}.\n"
    lines = [f"{_requests(len(plan.items))} to archive (expired at or before {cutoff}):"]
    for item in plan.items:
        note = " (already in archive/, unchanged)" if item.already_archived else ""
        source = "" if item.source_pr is None else f", from #{item.source_pr}"
        lines.append(f"  move   {item.path} -> {item.archive_path}{note}")
        lines.append(f"         {item.request.requester}, expired {item.expired_at}{source}")
        lines.extend(
            f"         {grant.role} on {_where(grant.kind, grant.resource)}"
            for grant in item.request.grants
        )
        if item.grants_path is not None:
            lines.append(f"  delete {item.grants_path}")
    lines.extend(f"  render {path} (terraform/grants/ was out of date)" for path in plan.rerendered)
    return "\n".join(lines) + "\n"


def pr_title(plan: ExpiryPlan) -> str:
    return f"Archive {_requests(len(plan.items))}"


def commit_message(plan: ExpiryPlan) -> str:
    """The commit message both executors use: the title, then one line per moved request."""
    moves = [f"- {item.path} -> {item.archive_path}" for item in plan.items]
    return "\n".join([pr_title(plan), "", *moves, ""])


def _cell(text: str) -> str:
    # Values passed the schema and policy allow-lists; this only keeps a stray `|` or newline
    # from breaking the table.
    return " ".join(text.split()).replace("|", "\\|")


def _rows(plan: ExpiryPlan) -> list[str]:
    rows = [
        f"| {_cell(item.request.requester)} | `{_cell(grant.role)}` | "
        f"{_cell(grant.kind.replace('_', ' '))} `{_cell(grant.resource)}` | "
        f"{item.expired_at} | {'—' if item.source_pr is None else f'#{item.source_pr}'} |"
        for item in plan.items
        for grant in item.request.grants
    ]
    if len(rows) > MAX_BODY_ROWS:
        rest = len(rows) - MAX_BODY_ROWS
        rows = [*rows[:MAX_BODY_ROWS], f"| … and {rest} more: see the files changed | | | | |"]
    return rows


def pr_body(plan: ExpiryPlan) -> str:
    """The pull request body: each removed grant, then why merging is safe."""
    lines = [
        f"Archives {_requests(len(plan.items))} and removes their IAM bindings.",
        "",
        "| Who | What | Where | Expired (UTC) | Requested in |",
        "|---|---|---|---|---|",
        *_rows(plan),
        "",
        "Access already ended at each expiry time: the IAM condition "
        '`request.time < timestamp("…")` on every binding stopped it, whatever happens to this '
        "pull request. Merging removes the expired bindings (`terraform apply`), which still "
        "count against IAM policy limits, and moves each request file unchanged from "
        "`requests/` to `archive/`, the record of who had what access.",
        "",
        "Need more time? Open a new access request; an expired one is never extended.",
    ]
    if plan.rerendered:
        listed = ", ".join(f"`{path}`" for path in plan.rerendered)
        lines += [
            "",
            f"**Review these too:** the re-render also changes {listed}, so `terraform/grants/` "
            "was not up to date with the requests on the base branch.",
        ]
    return "\n".join(lines) + "\n"


def reminder_marker(request_id: str) -> str:
    return f"expiry-reminder-{request_id}"


def reminder_body(request: Request, now: datetime) -> str:
    left = format_duration(max(request.window.expires - now, timedelta(minutes=1)))
    grants = "\n".join(
        f"- `{grant.role}` on {_where(grant.kind, grant.resource)}" for grant in request.grants
    )
    return (
        f"Access for {request.requester} from `{request.path}` ends at "
        f"**{format_utc(request.window.expires)}** (in about {left}):\n\n{grants}\n\n"
        "The IAM condition ends it on its own at that time. If the work is not finished, open a "
        "new access request (`lapse new`, new id, same target) and have it approved; an approved "
        "request is never extended in place."
    )
