"""Waiting out GitHub's rate limits as GitHub documents them.

GitHub answers a rate-limited request with 403 or 429. Its documented handling, followed here:
with a `retry-after` header, wait that many seconds; with `x-ratelimit-remaining: 0` (the
primary limit), wait until `x-ratelimit-reset` (epoch seconds); otherwise (a secondary limit)
wait at least a minute, then exponentially longer while the limit persists. Every wait counts
against one budget per client, which the shortest workflow timeout of a job that runs lapse
against GitHub allows (`tests/unit/test_rate_limits.py` holds it there); past it the run ends
with a ServiceError (exit 3) that names the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from github.GithubException import GithubException

from generator.core.errors import ServiceError

T = TypeVar("T")

# Seconds of waiting one run may spend on rate limits: expire's job allows 20 minutes in all.
BUDGET_SECONDS = 10 * 60
SECONDARY_FIRST_WAIT = 60.0  # "wait for at least one minute before retrying"
SECONDARY_MAX_WAIT = 8 * 60.0


class RateLimitExhausted(ServiceError):
    """A rate limit would keep lapse waiting past its budget."""


@dataclass(frozen=True, slots=True)
class Limit:
    """Which limit GitHub reported, and how long it asks to wait."""

    name: str
    seconds: float


def _headers(error: GithubException) -> dict[str, str]:
    return {key.lower(): str(value) for key, value in (error.headers or {}).items()}


def _number(text: str | None) -> float | None:
    """A header's non-negative, finite number of seconds; None for anything else."""
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and 0 <= value < float("inf") else None


def limit_of(error: BaseException, now: float, secondary_streak: int) -> Limit | None:
    """The limit a failure reports, or None when it is no rate limit (a real 403, a 500).

    `secondary_streak` counts the secondary-limit answers already waited out in a row.
    """
    if not isinstance(error, GithubException) or error.status not in (403, 429):
        return None
    headers = _headers(error)
    retry_after = _number(headers.get("retry-after"))
    if retry_after is not None:
        return Limit("secondary rate limit (retry-after)", max(retry_after, 1.0))
    if headers.get("x-ratelimit-remaining") == "0":
        reset = _number(headers.get("x-ratelimit-reset"))
        resource = headers.get("x-ratelimit-resource", "core")
        wait = (reset - now + 1.0) if reset is not None else SECONDARY_FIRST_WAIT
        return Limit(f"primary rate limit ({resource})", max(wait, 1.0))
    message = error.data.get("message", "") if isinstance(error.data, dict) else ""
    if error.status == 429 or "rate limit" in str(message).lower():
        wait = SECONDARY_FIRST_WAIT * 2**secondary_streak
        return Limit("secondary rate limit", min(wait, SECONDARY_MAX_WAIT))
    return None


@dataclass
class RateLimitWaits:
    """One client's waiting: its clock, its sleep and what is left of its budget."""

    sleep: Callable[[float], None] | None = None
    clock: Callable[[], float] | None = None
    budget: float = BUDGET_SECONDS
    waited: float = 0.0
    _streak: int = 0

    def run(self, call: Callable[[], T]) -> T:
        """`call`, called again after each rate-limit wait until it answers or the budget ends."""
        while True:
            try:
                result = call()
            except GithubException as error:
                limit = limit_of(error, (self.clock or time.time)(), self._streak)
                if limit is None:
                    raise
                self._wait(limit, error)
                continue
            self._streak = 0
            return result

    def _wait(self, limit: Limit, error: GithubException) -> None:
        if self.waited + limit.seconds > self.budget:
            raise RateLimitExhausted(
                f"GitHub's {limit.name}: waiting {limit.seconds:.0f} s "
                f"more would pass lapse's budget of {self.budget:.0f} s of waiting per run "
                f"(already waited {self.waited:.0f} s); run again once the limit resets"
            ) from error
        self._streak += limit.name == "secondary rate limit"
        # time.sleep is looked up now, not at import, so a test can stand in for the clock.
        (self.sleep or time.sleep)(limit.seconds)
        self.waited += limit.seconds
