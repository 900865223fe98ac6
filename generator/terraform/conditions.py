"""Which bindings are active at an instant: each IAM condition evaluated with cel-python.

The decision is the CEL evaluation itself, exactly as IAM would make it; the window shown
next to it is found by evaluating the condition at the timestamps the expression names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes
from celpy.evaluation import CELEvalError

from generator.core.errors import ConfigError
from generator.core.model import Binding

_TICK = timedelta(microseconds=1)


class ConditionError(ConfigError, ValueError):
    """A condition that cel-python cannot compile or evaluate to a boolean."""


@dataclass(frozen=True, slots=True)
class Judgement:
    """A binding's condition judged at an instant: whether it holds, and its window."""

    binding: Binding
    active: bool
    starts: datetime | None
    expires: datetime | None

    def time_left(self, at: datetime) -> timedelta | None:
        if not self.active or self.expires is None:
            return None
        return self.expires - at


@lru_cache(maxsize=4096)
def _program(expression: str) -> tuple[celpy.Runner, tuple[datetime, ...]]:
    env = celpy.Environment()
    try:
        ast = env.compile(expression)
    except Exception as exc:  # celpy raises its own parse errors and lark's
        raise ConditionError(f"cannot compile {expression!r}: {exc}") from None
    return env.program(ast), tuple(sorted(set(_timestamps(env, ast))))


def _timestamps(env: celpy.Environment, tree: Any) -> Iterator[datetime]:
    """The instants of every `timestamp(<constant>)` call anywhere in the expression.

    A condition on `request.time` can change value only at these instants. Each argument is
    evaluated by CEL itself, so any spelling CEL accepts is read as CEL reads it.
    """
    for node in tree.iter_subtrees():
        if node.data != "ident_arg" or str(node.children[0]) != "timestamp":
            continue
        with contextlib.suppress(Exception):  # not a constant instant: it bounds nothing
            value = env.program(node.children[1].children[0]).evaluate({})
            if not isinstance(value, CELEvalError):
                yield celtypes.TimestampType(str(value))


def instants(expression: str) -> tuple[datetime, ...]:
    """The timestamps the condition compares against, in order. ConditionError if unparsable."""
    return _program(expression)[1]


def evaluate(expression: str, at: datetime) -> bool:
    """The condition's value at `at`. ConditionError when it is not a boolean."""
    program, _ = _program(expression)
    request = celtypes.MapType({celtypes.StringType("time"): celtypes.TimestampType(at)})
    try:
        result = program.evaluate({"request": request})
    except Exception as exc:  # CELEvalError and errors raised by celpy's functions
        raise ConditionError(f"cannot evaluate {expression!r}: {exc}") from None
    if not isinstance(result, celtypes.BoolType):
        raise ConditionError(f"{expression!r} evaluates to {type(result).__name__}, not a bool")
    return bool(result)


def window(expression: str) -> tuple[datetime | None, datetime | None]:
    """The first instant the condition turns true, and the last instant it turns false."""
    starts = expires = None
    for instant in instants(expression):
        now, before = evaluate(expression, instant), evaluate(expression, instant - _TICK)
        if now and not before and starts is None:
            starts = instant
        if before and not now:
            expires = instant
    return starts, expires


def judge(binding: Binding, at: datetime) -> Judgement:
    starts, expires = window(binding.expression)
    return Judgement(binding, evaluate(binding.expression, at), starts, expires)
