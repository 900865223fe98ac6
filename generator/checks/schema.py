"""JSON Schema validation whose problems point at the offending node."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from generator.checks.loading import Document
from generator.core.errors import ConfigError
from generator.core.model import Problem

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


@functools.cache
def validator(path: Path) -> jsonschema.protocols.Validator:
    """The checker for one schema file, built once per process.

    Requests are checked against the schema in the repository being checked: the same file
    editors show and security owners review.
    """
    try:
        schema = orjson.loads(path.read_bytes())
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except (OSError, orjson.JSONDecodeError, jsonschema.SchemaError) as exc:
        raise ConfigError(f"{path}: not a usable JSON Schema ({exc})") from None
    return cls(schema)


def check(document: Document, schema_path: Path) -> list[Problem]:
    """Every schema violation of `document`, each located at the node it concerns."""
    checker = validator(schema_path)
    found: list[Problem] = []
    for error in checker.iter_errors(document.data):
        found.extend(_problems(document, error))
    return sorted(set(found))


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
    return Problem(path, line, col, RULE, "error", f"unknown key {key!r}", hint)


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
