"""LAPSE306-310: an extended window stays within its target's extension limits.

`lapse extend` moves `expires` and records the extension under `extensions:`; the limits hold
for whatever the file says, however it was written. The window as first approved is
`expires` less every extension, and LAPSE302 holds it to `max_duration`; these rules hold the
extensions themselves. A window without `starts` began at merge, which the file does not say:
its first part counts as the target's whole `max_duration`, so the total is never understated.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from generator.checks.rules import PolicyContext, RequestContext, rule
from generator.core.model import Problem
from generator.core.times import format_duration, format_utc


@rule(
    "LAPSE306",
    "A request is extended only where its target allows extensions, and never an emergency.",
    scope="request",
    fix="Remove `extensions:` and write a new request, or ask the security owners for an "
    "`extensions` block on the target; an emergency ends and a normal request follows.",
)
def allowed(ctx: RequestContext) -> Iterator[Problem]:
    if not ctx.request.extensions:
        return
    if ctx.request.emergency:
        yield ctx.problem(
            "LAPSE306",
            ("extensions",),
            "an emergency grant is never extended",
            "let it end, and request what the work still needs through the normal approvers",
            key=True,
        )
    elif ctx.target.extensions is None:
        yield ctx.problem(
            "LAPSE306",
            ("extensions",),
            f"target {ctx.target.name!r} allows no extensions (no `extensions` in its policy)",
            "write a new request for the time still needed",
            key=True,
        )


@rule(
    "LAPSE307",
    "A request is extended at most the target's extensions.max_count times.",
    scope="request",
    fix="Write a new request instead of extending this one again.",
)
def how_often(ctx: RequestContext) -> Iterator[Problem]:
    limits = ctx.target.extensions
    if limits is None or ctx.request.emergency:
        return
    for index in range(limits.max_count, len(ctx.request.extensions)):
        yield ctx.problem(
            "LAPSE307",
            ("extensions", index),
            f"extension {index + 1} of at most {limits.max_count} for target {ctx.target.name!r}",
            "write a new request for the time still needed",
        )


@rule(
    "LAPSE308",
    "Each extension adds at most the target's extensions.max_extension.",
    scope="request",
    fix="Extend by less (`lapse extend ID --by D`, D at most max_extension).",
)
def how_much(ctx: RequestContext) -> Iterator[Problem]:
    limits = ctx.target.extensions
    if limits is None or ctx.request.emergency:
        return
    for index, extension in enumerate(ctx.request.extensions):
        if extension.by > limits.max_extension:
            yield ctx.problem(
                "LAPSE308",
                ("extensions", index, "by"),
                f"an extension of {format_duration(extension.by)} exceeds "
                f"{format_duration(limits.max_extension)} for target {ctx.target.name!r}",
            )


@rule(
    "LAPSE309",
    "The window with all its extensions is at most extensions.max_total_duration.",
    scope="request",
    fix="Extend by less; past max_total_duration a new request, approved afresh, follows.",
)
def in_all(ctx: RequestContext) -> Iterator[Problem]:
    limits = ctx.target.extensions
    request = ctx.request
    if limits is None or request.emergency or not request.extensions:
        return
    starts = request.window.starts
    first = (request.first_expires - starts) if starts else ctx.target.max_duration
    total = first + (request.window.expires - request.first_expires)
    if total > limits.max_total_duration:
        counted = "" if starts else " (its first part counted as max_duration: starts is not set)"
        yield ctx.problem(
            "LAPSE309",
            ("expires",),
            f"the extended window of {format_duration(total)}{counted} exceeds "
            f"{format_duration(limits.max_total_duration)} for target {ctx.target.name!r}",
        )


@rule(
    "LAPSE310",
    "Extensions are dated in order, each while the grant was active and never in the future.",
    scope="request",
    fix="Extend an active grant with `lapse extend`; once it has expired, write a new request.",
)
def while_active(ctx: RequestContext) -> Iterator[Problem]:
    request = ctx.request
    previous: datetime | None = request.window.starts
    ends = request.first_expires
    for index, extension in enumerate(request.extensions):
        where = ("extensions", index, "at")
        if previous is not None and extension.at < previous:
            yield ctx.problem("LAPSE310", where, "dated before the start or the extension above it")
        elif extension.at >= ends:
            yield ctx.problem(
                "LAPSE310",
                where,
                f"dated after the window it extends had ended ({format_utc(ends)})",
                "an expired grant is not extended: write a new request",
            )
        previous, ends = extension.at, ends + extension.by
    yield from _judged_now(ctx)


def _judged_now(ctx: RequestContext) -> Iterator[Problem]:
    """For a changed file: the newest extension is not in the future, and what it extends has
    not ended yet (a grant that lapsed is not revived by an edit)."""
    request = ctx.request
    if not ctx.time_checked or ctx.now is None or not request.extensions:
        return
    index, newest = len(request.extensions) - 1, request.extensions[-1]
    if newest.at > ctx.now + timedelta(minutes=5):
        yield ctx.problem("LAPSE310", ("extensions", index, "at"), "dated in the future")
    moved = request.window.expires - newest.by
    if moved <= ctx.now:
        yield ctx.problem(
            "LAPSE310",
            ("extensions", index, "at"),
            f"the window it extends ended at {format_utc(moved)}",
            "an expired grant is not extended: write a new request",
        )


@rule(
    "LAPSE279",
    "A target's extension limits hold together: one extension fits in the total, and the total "
    "is longer than max_duration.",
    scope="policy",
    fix="Make max_extension at most max_total_duration, and max_total_duration longer than "
    "the target's max_duration.",
)
def coherent_limits(ctx: PolicyContext) -> Iterator[Problem]:
    for name, target in ctx.policy.targets.items():
        limits = target.extensions
        if limits is None:
            continue
        if limits.max_total_duration <= target.max_duration:
            yield ctx.problem(
                "LAPSE279",
                ("targets", name, "extensions", "max_total_duration"),
                f"max_total_duration {format_duration(limits.max_total_duration)} leaves no "
                f"room beyond max_duration {format_duration(target.max_duration)}",
                "make max_total_duration longer than the target's max_duration",
            )
        if limits.max_extension > limits.max_total_duration:
            yield ctx.problem(
                "LAPSE279",
                ("targets", name, "extensions", "max_extension"),
                "max_extension is longer than max_total_duration",
                "make max_extension at most max_total_duration",
            )
