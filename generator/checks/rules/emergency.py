"""LAPSE29x: emergency requests stay within their target's break-glass limits.

An emergency request (`requests/<target>/emergency/<id>.yaml`) is approved by the on-call
approvers instead of the target's own, so what it may ask for is narrower: a shorter window,
fewer roles, an incident id, and a bounded number per person and per target in a rolling window.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.checks.emergency_history import window_counts
from generator.checks.rules import PolicyContext, RepoContext, RequestContext, rule
from generator.core.model import Problem
from generator.core.times import format_duration


@rule(
    "LAPSE290",
    "An emergency request is for a target with an emergency block.",
    scope="request",
    fix="Move the file to requests/<target>/ and ask the target's approvers: this "
    "target has no emergency access in policy/policy.yaml.",
)
def emergency_allowed(ctx: RequestContext) -> Iterator[Problem]:
    if ctx.request.emergency and ctx.target.emergency is None:
        yield ctx.problem(
            "LAPSE290",
            (),
            f"target {ctx.target.name!r} has no emergency access",
            f"move the file to requests/{ctx.target.name}/ and ask its approvers",
        )


@rule(
    "LAPSE291",
    "An emergency window is no longer than emergency.max_duration.",
    scope="request",
    fix="Ask for no longer than the target's emergency.max_duration; a normal request "
    "can follow if the work runs over.",
)
def emergency_duration(ctx: RequestContext) -> Iterator[Problem]:
    limits = ctx.target.emergency
    window = ctx.request.window
    if not ctx.request.emergency or limits is None:
        return
    start = window.starts if window.starts is not None else ctx.now if ctx.time_checked else None
    if start is None or window.expires <= start:
        return
    if window.expires - start > limits.max_duration:
        counted = "" if window.starts else " (counted from now: starts is not set)"
        yield ctx.problem(
            "LAPSE291",
            ("expires",),
            f"emergency window of {format_duration(window.expires - start)}{counted} exceeds "
            f"{format_duration(limits.max_duration)} for target {ctx.target.name!r}",
            "emergency access is for the incident only; a normal request can follow",
        )


@rule(
    "LAPSE298",
    "An emergency starts at once: starts is not after now (for new or changed requests).",
    scope="request",
    fix="Leave starts out so access begins at merge; planned work is a normal "
    "request for the target's approvers.",
)
def emergency_now(ctx: RequestContext) -> Iterator[Problem]:
    starts = ctx.request.window.starts
    if not ctx.request.emergency or not ctx.time_checked or ctx.now is None or starts is None:
        return
    if starts > ctx.now:
        yield ctx.problem(
            "LAPSE298",
            ("starts",),
            "an emergency cannot be planned ahead: starts is after now",
            "leave starts out so access begins at merge; planned work is a normal request "
            "for the target's approvers",
        )


@rule(
    "LAPSE292",
    "An emergency grant's role is one of emergency.roles.",
    scope="request",
    fix="Ask only for a role listed under the target's emergency.roles; anything more "
    "is a normal request for the target's approvers.",
)
def emergency_roles(ctx: RequestContext) -> Iterator[Problem]:
    limits = ctx.target.emergency
    if not ctx.request.emergency or limits is None:
        return
    for grant in ctx.request.grants:
        if grant.role not in limits.roles:
            yield ctx.problem(
                "LAPSE292",
                grant,
                f"{grant.role} is not allowed in an emergency on {ctx.target.name!r}",
                f"emergency roles: {', '.join(limits.roles)}; ask the target's approvers "
                "with a normal request for more",
            )


@rule(
    "LAPSE293",
    "An emergency ticket matches emergency.ticket_pattern.",
    scope="request",
    fix="Name the incident that needs the access, matching emergency.ticket_pattern.",
)
def emergency_ticket(ctx: RequestContext) -> Iterator[Problem]:
    limits = ctx.target.emergency
    if not ctx.request.emergency or limits is None:
        return
    if not re.search(limits.ticket_pattern, ctx.request.ticket):
        yield ctx.problem(
            "LAPSE293",
            ("ticket",),
            f"ticket {ctx.request.ticket!r} is not an incident id "
            f"matching {limits.ticket_pattern!r}",
            "name the incident that needs the access",
        )


@rule(
    "LAPSE294",
    "Every emergency role is one of its target's roles.",
    scope="policy",
    fix="List under emergency.roles only roles the target itself allows.",
)
def emergency_roles_subset(ctx: PolicyContext) -> Iterator[Problem]:
    for name, target in ctx.policy.targets.items():
        if target.emergency is None:
            continue
        for index, role in enumerate(target.emergency.roles):
            if role not in target.roles:
                yield ctx.problem(
                    "LAPSE294",
                    ("targets", name, "emergency", "roles", index),
                    f"targets.{name}.emergency allows {role}, which the target does not",
                    "emergency roles are a subset of the target's roles",
                )


@rule(
    "LAPSE295",
    "emergency.max_duration is at most the target's max_duration.",
    scope="policy",
    fix="Make emergency.max_duration no longer than the target's max_duration.",
)
def emergency_shorter(ctx: PolicyContext) -> Iterator[Problem]:
    for name, target in ctx.policy.targets.items():
        if target.emergency and target.emergency.max_duration > target.max_duration:
            yield ctx.problem(
                "LAPSE295",
                ("targets", name, "emergency", "max_duration"),
                f"targets.{name}.emergency.max_duration "
                f"{format_duration(target.emergency.max_duration)} is longer than the target's "
                f"{format_duration(target.max_duration)}",
                "emergency access has tighter limits than normal access: shorten it",
            )


@rule(
    "LAPSE296",
    "One person's emergencies in the rolling window stay within emergency.max_per_person.",
    scope="repo",
    fix="Ask the target's approvers with a normal request: you have used the "
    "emergency path as often as the window allows.",
)
def per_person(ctx: RepoContext) -> Iterator[Problem]:
    yield from _over_limit(ctx, "LAPSE296")


@rule(
    "LAPSE297",
    "A target's emergencies in the rolling window stay within emergency.max_per_target.",
    scope="repo",
    fix="Ask the target's approvers with a normal request: the target's emergency "
    "path has been used as often as the window allows.",
)
def per_target(ctx: RepoContext) -> Iterator[Problem]:
    yield from _over_limit(ctx, "LAPSE297")


def _over_limit(ctx: RepoContext, rule_id: str) -> Iterator[Problem]:
    if ctx.policy is None:
        return
    by_path = {c.request.path: c for c in ctx.requests}
    history = (*ctx.archived_emergencies, *(c.request for c in ctx.requests))
    for count in window_counts([c.request for c in ctx.requests], history, ctx.policy):
        limits = ctx.policy.targets[count.request.target].emergency
        assert limits is not None  # window_counts only counts targets with an emergency block
        span = format_duration(limits.window)
        if rule_id == "LAPSE296" and count.per_person > limits.max_per_person:
            who = f"{count.request.requester} has {count.per_person} emergencies"
            limit = limits.max_per_person
        elif rule_id == "LAPSE297" and count.per_target > limits.max_per_target:
            who = f"{count.request.target} has {count.per_target} emergencies"
            limit = limits.max_per_target
        else:
            continue
        yield by_path[count.request.path].problem(
            rule_id,
            ("ticket",),
            f"{who} in the {span} ending with this one, more than the {limit} allowed",
            "ask the target's approvers with a normal request; repeated emergencies are a "
            "process problem for the security team to look at",
        )
