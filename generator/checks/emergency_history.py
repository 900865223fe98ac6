"""A target's emergency requests over time: counts in the rolling window, and repeats.

Each emergency is placed in time by its `expires` (an emergency starts at merge and lasts an
hour or so, so its end is when it happened); ties are broken by id so the order is total.
The counts and the repeat rule look only backwards from each request: a later emergency never
makes an earlier, merged one invalid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from generator.core.model import Policy, Request


@dataclass(frozen=True, slots=True)
class WindowCount:
    """How many emergencies of the same person and of the same target the window ending at
    `request` holds, `request` included."""

    request: Request
    per_person: int
    per_target: int


def _order(request: Request) -> tuple[object, str, str]:
    return (request.window.expires, request.target, request.id)


def _before(
    request: Request, history: Iterable[Request], policy: Policy, *, span_of: str
) -> list[Request]:
    """Emergencies of `request`'s target up to and including it, within the span before it."""
    target = policy.targets.get(request.target)
    if target is None or target.emergency is None:
        return []
    span = getattr(target.emergency, span_of)
    start = request.window.expires - span
    return [
        other
        for other in history
        if other.emergency
        and other.target == request.target
        and _order(other) <= _order(request)
        and other.window.expires > start
    ]


def window_counts(
    requests: Iterable[Request], history: Iterable[Request], policy: Policy
) -> list[WindowCount]:
    """The counts for each emergency of `requests`, over `history` (requests/ and archive/)."""
    everything = _unique(history)
    counts = []
    for request in requests:
        if not request.emergency:
            continue
        earlier = _before(request, everything, policy, span_of="window")
        if not earlier:
            continue
        mine = [other for other in earlier if other.requester == request.requester]
        counts.append(WindowCount(request, len(mine), len(earlier)))
    return counts


def repeat_emergencies(
    requests: Iterable[Request], history: Iterable[Request], policy: Policy
) -> dict[str, Request]:
    """Path of each emergency of `requests` -> the same person's emergency before it that
    ended within `normal_approval_within`: those need an approval by a normal approver."""
    everything = _unique(history)
    repeats: dict[str, Request] = {}
    for request in requests:
        if not request.emergency:
            continue
        earlier = [
            other
            for other in _before(request, everything, policy, span_of="normal_approval_within")
            if other.requester == request.requester and _order(other) != _order(request)
        ]
        if earlier:
            repeats[request.path] = max(earlier, key=_order)
    return repeats


def _unique(history: Iterable[Request]) -> list[Request]:
    # The same request may be listed from requests/ and archive/ during an expiry; count it once.
    seen: dict[tuple[str, str], Request] = {}
    for request in history:
        seen.setdefault((request.target, request.id), request)
    return list(seen.values())
