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
from lark import Tree

from generator.model import Binding
from generator.timeutil import parse_instant

_TICK = timedelta(microseconds=1)


class ConditionError(ValueError):
    """A condition that cel-python cannot compile or evaluate to a boolean."""


@dataclass(frozen=True, slots=True)
class Verdict:
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
    return env.program(ast), tuple(sorted(set(_timestamps(ast))))


def _timestamps(tree: Any) -> Iterator[datetime]:
    """The instants written as `timestamp("...")` literals anywhere in the expression."""
    if not isinstance(tree, Tree):
        return
    if tree.data == "ident_arg" and str(tree.children[0]) == "timestamp":
        for literal in tree.find_data("literal"):
            with contextlib.suppress(ValueError):  # not an instant: cannot bound the window
                yield parse_instant(str(literal.children[0]).strip("\"'"))
    for child in tree.children:
        yield from _timestamps(child)


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
    """First instant the condition turns true and first instant it turns false again."""
    _, instants = _program(expression)
    starts = expires = None
    for instant in instants:
        now, before = evaluate(expression, instant), evaluate(expression, instant - _TICK)
        if now and not before and starts is None:
            starts = instant
        if before and not now:
            expires = instant
    return starts, expires


def judge(binding: Binding, at: datetime) -> Verdict:
    starts, expires = window(binding.expression)
    return Verdict(binding, evaluate(binding.expression, at), starts, expires)
