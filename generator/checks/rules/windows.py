"""LAPSE3xx: the window is real, bounded, and (for new requests) in the future.

Rules that read the clock apply only to files being changed (named on the command line, or
changed on this branch against the default branch, or against --changed-since); a file already
merged is not made invalid by time passing.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.rules import RequestContext, describe, rule
from generator.core.model import Problem
from generator.core.times import format_duration

describe(
    "LAPSE305",
    "starts and expires are real instants (no 31 February, no hour 24).",
    fix="Write a real instant, RFC 3339 with an offset, e.g. 2026-12-01T09:00:00Z.",
)


@rule(
    "LAPSE301", "expires is after starts.", scope="request", fix="Make expires later than starts."
)
def ordered(ctx: RequestContext) -> Iterator[Problem]:
    window = ctx.request.window
    if window.starts is not None and window.expires <= window.starts:
        yield ctx.problem("LAPSE301", ("expires",), "expires must be after starts")


@rule(
    "LAPSE302",
    "The window is no longer than the target's max_duration.",
    scope="request",
    fix="Ask for less time (the target's max_duration; an extended window counts without "
    "its extensions); without starts the window "
    "counts from now. A new request can follow if the work runs over.",
)
def duration(ctx: RequestContext) -> Iterator[Problem]:
    window = ctx.request.window
    start, expires = window.starts, ctx.request.first_expires
    if start is None and ctx.time_checked:
        start = ctx.now
    if start is None or expires <= start:
        return
    length = expires - start
    if length > ctx.target.max_duration:
        counted = "" if window.starts else " (counted from now: starts is not set)"
        yield ctx.problem(
            "LAPSE302",
            ("expires",),
            f"window of {format_duration(length)}{counted} exceeds "
            f"{format_duration(ctx.target.max_duration)} for target "
            f"{ctx.target.name!r}",
            "ask for less time; a new request can follow if the work runs over",
        )


@rule(
    "LAPSE303",
    "expires is in the future (for new or changed requests).",
    scope="request",
    fix="Choose an expires in the future; for a merged request this is information: "
    "`lapse expire` archives it.",
)
def not_expired(ctx: RequestContext) -> Iterator[Problem]:
    if ctx.now is None or ctx.request.window.expires > ctx.now:
        return
    if ctx.time_checked:
        yield ctx.problem(
            "LAPSE303", ("expires",), "expires is in the past", "choose an end time after now"
        )
    else:
        yield ctx.problem(
            "LAPSE303",
            ("expires",),
            "expired; `lapse expire` will move it to archive/",
            level="info",
        )


@rule(
    "LAPSE304",
    "starts is within the target's max_lead_time from now.",
    scope="request",
    fix="Request closer to the work: starts within the target's max_lead_time.",
)
def lead_time(ctx: RequestContext) -> Iterator[Problem]:
    starts = ctx.request.window.starts
    if not ctx.time_checked or starts is None or ctx.now is None:
        return
    if starts - ctx.now > ctx.target.max_lead_time:
        yield ctx.problem(
            "LAPSE304",
            ("starts",),
            f"starts is more than {format_duration(ctx.target.max_lead_time)} ahead",
            "request access closer to when the work happens",
        )
