"""A live allow policy, flattened to one grant per (role, member, condition), and CEL windows.

Whether a condition still grants access is decided by evaluating its CEL expression, never
by reading dates out of the text: the expression in the live policy is what IAM enforces,
whatever shape someone gave it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from generator.terraform.conditions import ConditionError, evaluate, instants

WindowState = Literal["active", "pending", "expired", "unknown"]
_TICK = timedelta(microseconds=1)


def window_state(expression: str, now: datetime) -> WindowState:
    """`active` at `now`; `pending` if it will hold later; `expired` if it never will again.

    `unknown` when the condition needs more than `request.time`, or cannot be read at all.
    """
    try:
        if evaluate(expression, now):
            return "active"
        later = [evaluate(expression, at) for at in _probes_after(instants(expression), now)]
    except ConditionError:
        return "unknown"
    return "pending" if any(later) else "expired"


def outlasts(live: str, approved: str) -> bool:
    """Whether `live` may grant access after `approved` has ended for good.

    True when either cannot be read: a window that cannot be bounded is not the approved one.
    """
    try:
        ends = instants(approved)
    except ConditionError:
        return True
    if not ends or window_state(approved, max(ends) + _TICK) != "expired":
        return True
    end = max(ends) if window_state(approved, max(ends)) == "expired" else max(ends) + _TICK
    return window_state(live, end) != "expired"


def _probes_after(instants: Sequence[datetime], now: datetime) -> Iterable[datetime]:
    # Each instant itself and just after it: covers `<`, `<=`, `>` and `>=` alike.
    for instant in instants:
        if instant > now:
            yield instant
        if instant + _TICK > now:
            yield instant + _TICK


@dataclass(frozen=True, slots=True)
class LiveGrant:
    role: str
    member: str
    title: str  # "" when unconditional
    expression: str

    @property
    def conditional(self) -> bool:
        return bool(self.title or self.expression)


@dataclass(frozen=True, slots=True)
class LivePolicy:
    version: int
    grants: tuple[LiveGrant, ...]
    unconditional: frozenset[tuple[str, str]]  # (role, member) granted with no condition

    def conditional(self, role: str, member: str, title: str) -> LiveGrant | None:
        for grant in self.grants:
            if (grant.role, grant.member, grant.title) == (role, member, title):
                return grant
        return None


def parse_policy(policy: Mapping[str, Any]) -> LivePolicy:
    """Read the policy JSON defensively: a missing version means 1, as the APIs define it."""
    version = policy.get("version")
    grants = tuple(_grants_of(policy.get("bindings")))
    unconditional = frozenset((g.role, g.member) for g in grants if not g.conditional)
    number = version if isinstance(version, int) and version > 0 else 1
    return LivePolicy(number, grants, unconditional)


def _grants_of(bindings: Any) -> Iterable[LiveGrant]:
    for binding in bindings if isinstance(bindings, list) else ():
        if not isinstance(binding, dict):
            continue
        role = str(binding.get("role", ""))
        condition = binding.get("condition")
        condition = condition if isinstance(condition, dict) else {}
        title = str(condition.get("title", ""))
        expression = str(condition.get("expression", ""))
        members = binding.get("members")
        for member in members if isinstance(members, list) else ():
            yield LiveGrant(role, str(member), title, expression)
