"""JSON Schema validation whose problems point at the offending node.

Every document is checked by a compiled validator (jsonschema-rs, JSON Schema 2020-12, ECMA-262
patterns); only the documents it refuses are walked again by jsonschema, whose errors say
where and why. Neither library is imported before a command checks its first document, and
jsonschema only when a document is refused.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from generator.checks.loading import Document
from generator.checks.patterns import pattern_keyword
from generator.core.errors import ConfigError
from generator.core.model import Problem
from generator.core.wording import did_you_mean

if TYPE_CHECKING:
    import jsonschema
    import jsonschema_rs

RULE = "LAPSE120"
_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "array": "a list",
    "object": "a mapping",
}
# Resource kinds people ask for whose allow policies take no conditional bindings.
NOT_CONDITIONAL = {"topic": "Pub/Sub topics", "subscription": "Pub/Sub subscriptions"}
_PY_TYPES = {"str": "text", "list": "a list", "dict": "a mapping"}


@dataclass(frozen=True, slots=True)
class Compiled:
    """One schema file: its JSON, and the compiled validator that answers yes or no."""

    schema: dict[str, Any]
    fast: jsonschema_rs.Validator

    def accepts(self, data: Any) -> bool:
        try:
            return bool(self.fast.is_valid(data))
        except ValueError:  # a value JSON cannot hold: let jsonschema say what it is
            return False


@functools.cache
def compiled(path: Path) -> Compiled:
    """The compiled checker for one schema file, built once per process.

    Requests are checked against the schema in the repository being checked: the same file
    editors show and security owners review.
    """
    import jsonschema_rs  # noqa: PLC0415 - compiled once, on the first document checked

    try:
        schema = orjson.loads(path.read_bytes())
        jsonschema_rs.meta.validate(schema)
        fast = jsonschema_rs.validator_for(schema)
    except (OSError, orjson.JSONDecodeError, ValueError, jsonschema_rs.ValidationError) as exc:
        raise ConfigError(f"{path}: not a usable JSON Schema ({exc})") from None
    if not isinstance(schema, dict):
        raise ConfigError(f"{path}: not a usable JSON Schema (the top level is not an object)")
    return Compiled(schema, fast)


@functools.cache
def validator(path: Path) -> jsonschema.protocols.Validator:
    """The explaining checker for one schema file: jsonschema, with ECMA-262 patterns."""
    import jsonschema  # noqa: PLC0415 - only when a document is refused

    schema = compiled(path).schema
    base = jsonschema.validators.validator_for(schema)
    explaining = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        base, {"pattern": pattern_keyword}
    )
    checker: jsonschema.protocols.Validator = explaining(schema)
    return checker


def check(document: Document, schema_path: Path) -> list[Problem]:
    """Every schema violation of `document`, each located at the node it concerns."""
    return judge(document, schema_path)[0]


def judge(document: Document, schema_path: Path) -> tuple[list[Problem], Document | None]:
    """The schema's problems with `document`, and what of it the rules can judge (None: nothing).

    A document whose only fault is a key too many (a typo, a note) still reads: the rules judge
    it without those keys, so its schema and policy problems come in one round, and what the
    extra keys upset elsewhere (a grant then names two things) is not reported twice.
    """
    if compiled(schema_path).accepts(document.data):
        return [], document
    errors = list(validator(schema_path).iter_errors(document.data))
    readable = _without(document, _unknown_keys(errors), schema_path)
    if readable is not None:
        errors = [e for e in errors if e.validator == "additionalProperties"]
    found = [problem for error in errors for problem in _problems(document, error)]
    if not found:  # the two validators disagree: still refused, and said so
        line, col = document.at()
        message = "does not match the schema (the explaining validator found no detail)"
        found.append(Problem(document.path, line, col, RULE, "error", message))
    return sorted(set(found)), readable


def _unknown_keys(errors: list[jsonschema.ValidationError]) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    for error in errors:
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            subschema = error.schema if isinstance(error.schema, dict) else {}
            where = tuple(error.absolute_path)
            found += [(*where, key) for key in _extra_keys(error.instance, subschema)]
    return found


def _without(
    document: Document, unknown: list[tuple[Any, ...]], schema_path: Path
) -> Document | None:
    """`document` without the `unknown` keys, when the schema accepts what remains."""
    if not unknown:
        return None
    data = copy.deepcopy(document.data)
    for *parent, key in unknown:
        node = data
        for step in parent:
            node = node[step]
        node.pop(key, None)
    if not compiled(schema_path).accepts(data):
        return None
    return dataclasses.replace(document, data=data)


def _problems(document: Document, error: jsonschema.ValidationError) -> Iterator[Problem]:
    where = tuple(error.absolute_path)
    subschema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        for key in _extra_keys(error.instance, subschema):
            line, col = document.at(*where, key, key=True)
            yield _unknown_key(
                document.path, line, col, key, subschema, grant=where[:1] == ("grants",)
            )
        return
    line, col = document.at(*where)
    message, hint = _describe(where, error)
    yield Problem(document.path, line, col, RULE, "error", message, hint)


def _unknown_key(
    path: str, line: int, col: int, key: str, schema: dict[str, Any], *, grant: bool
) -> Problem:
    if grant and key in NOT_CONDITIONAL:
        return Problem(
            path,
            line,
            col,
            "LAPSE221",
            "error",
            f"{NOT_CONDITIONAL[key]} do not accept conditional IAM bindings",
            "access there could not expire on its own; grant on the project or a "
            "resource that accepts conditions",
        )
    allowed = sorted(schema.get("properties", {}))
    hint = f"allowed keys here: {', '.join(allowed)}" if allowed else ""
    guess = did_you_mean(key, allowed).strip()
    message = f"unknown key {key!r}" + (f"; {guess}" if guess else "")
    return Problem(path, line, col, RULE, "error", message, hint)


def _extra_keys(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    known = set(schema.get("properties", {}))
    return sorted(key for key in instance if key not in known)


def _describe(where: tuple[Any, ...], error: jsonschema.ValidationError) -> tuple[str, str]:
    name = _dotted(where) or "the document"
    schema = error.schema if isinstance(error.schema, dict) else {}
    hint = str(schema.get("description", ""))
    keyword = error.validator
    if keyword == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        sub = schema.get("properties", {}).get(missing, {})
        return f"{name}: missing required key {missing!r}", str(sub.get("description", ""))
    if keyword == "pattern":
        return f"{name}: {error.instance!r} is not in the expected form", hint
    if keyword == "type":
        wanted = _TYPE_NAMES.get(str(error.validator_value), str(error.validator_value))
        got = _json_type(error.instance)
        extra = " (write it in quotes)" if wanted == "text" and got != "null" else ""
        return f"{name} must be {wanted}, not {got}{extra}", hint
    if keyword in ("minProperties", "maxProperties") and where[:1] == ("grants",):
        kinds = [key for key in schema.get("properties", {}) if key != "role"]
        return f"{name}: a grant names a role and exactly one of {', '.join(kinds)}", hint
    return f"{name}: {error.message}", hint


def _dotted(where: tuple[Any, ...]) -> str:
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    return _PY_TYPES.get(type(value).__name__, type(value).__name__)
