"""LAPSE33x: maintenance windows silence one known control between two dates (PCI DSS 10.7.2).

A window is the one way to keep `lapse watch` from opening an incident for a failure planned
ahead; an open-ended or misnamed one would hide a real failure, so each is held here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from generator.checks.rules import PolicyContext, rule
from generator.core import controls
from generator.core.model import Problem
from generator.core.times import format_duration, format_utc


@rule(
    "LAPSE330",
    "A maintenance window ends after it begins.",
    scope="policy",
    fix="Set the window's `until` after its `from`.",
)
def window_order(ctx: PolicyContext) -> Iterator[Problem]:
    for index, window in enumerate(ctx.policy.watch.maintenance):
        if window.ends <= window.starts:
            yield ctx.problem(
                "LAPSE330",
                ("watch", "maintenance", index, "until"),
                f"the window for {window.control} ends at {format_utc(window.ends)}, not after"
                f" it begins ({format_utc(window.starts)})",
                "a window that never opens silences nothing; give its real end",
            )


@rule(
    "LAPSE331",
    "A maintenance window lasts no longer than watch.max_maintenance, counted with the windows"
    " of its control less than that apart.",
    scope="policy",
    fix="End the window sooner; windows of one control need max_maintenance of watching between"
    " them, or they count as one.",
)
def window_length(ctx: PolicyContext) -> Iterator[Problem]:
    longest = ctx.policy.watch.max_maintenance
    spans: dict[str, tuple[datetime, datetime]] = {}  # control -> the span chained so far
    ordered = sorted(enumerate(ctx.policy.watch.maintenance), key=lambda e: e[1].starts)
    for index, window in ordered:
        if window.ends <= window.starts:
            continue  # LAPSE330
        begun, ended = spans.get(window.control, (window.starts, window.ends))
        if window.starts - ended >= longest:  # watched long enough in between
            begun, ended = window.starts, window.ends
        ended = max(ended, window.ends)
        spans[window.control] = (begun, ended)
        if ended - begun > longest:
            chained = "" if begun == window.starts else f" (chained from {format_utc(begun)})"
            yield ctx.problem(
                "LAPSE331",
                ("watch", "maintenance", index, "until"),
                f"the window for {window.control} lasts {format_duration(ended - begun)}"
                f"{chained}, longer than watch.max_maintenance ({format_duration(longest)})",
                "a long window is a switched-off control: keep it to the planned work",
            )


@rule(
    "LAPSE332",
    "A maintenance window names a control `lapse watch` checks.",
    scope="policy",
    fix="Name one of the controls `lapse watch` prints.",
)
def window_control(ctx: PolicyContext) -> Iterator[Problem]:
    for index, window in enumerate(ctx.policy.watch.maintenance):
        if window.control not in controls.REGISTRY:
            yield ctx.problem(
                "LAPSE332",
                ("watch", "maintenance", index, "control"),
                f"no control named {window.control!r}",
                f"controls: {', '.join(sorted(controls.REGISTRY))}",
            )
