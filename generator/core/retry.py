"""Retrying calls to external services with exponential backoff.

Adapters wrap each network call in `call_with_retry`; what counts as transient is theirs to say.
`sleep` is a parameter so tests run without waiting.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TypeVar

from generator.core.errors import PROGRAMMING_ERRORS, ServiceError

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def cut_short(exc: BaseException) -> bool:
    """A response body that ends mid-JSON: the connection broke, so another try may succeed."""
    return isinstance(exc, json.JSONDecodeError)


def call_with_retry(
    call: Callable[[], T],
    *,
    what: str,
    is_transient: Callable[[BaseException], bool],
    attempts: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 32.0,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Run `call`; on a transient failure wait 1, 2, 4, ... seconds and try again.

    A permanent failure, or the last transient one, becomes a ServiceError naming `what`, the
    failure kept as its cause. A programming error is no failure of the service: it passes.
    """
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except PROGRAMMING_ERRORS:
            raise
        except Exception as exc:
            if not is_transient(exc) or attempt == attempts:
                raise ServiceError(f"{what} failed: {describe(exc)}") from exc
            # time.sleep is looked up now, not at import, so a test can stand in for the clock.
            (sleep or time.sleep)(min(base_delay * 2 ** (attempt - 1), max_delay))
    raise AssertionError("unreachable")  # pragma: no cover


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__
