"""OpenAPI 3.0 schemas as JSON Schema, and their errors told at the value they are about."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

SCHEMAS = "#/components/schemas/"
URN = "urn:github-openapi:schemas/"
MAX_ERRORS = 5


def translated(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema (draft 4): `nullable` becomes null allowed."""
    if isinstance(node, list):
        return [translated(item) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):  # siblings of $ref are ignored in OpenAPI 3.0, as in draft 4
        return {"$ref": URN + ref.removeprefix(SCHEMAS)}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: translated(schema) for name, schema in value.items()}
        elif key in ("enum", "example", "examples", "default", "required", "discriminator"):
            out[key] = value
        elif key != "nullable":
            out[key] = translated(value)
    if node.get("nullable") is not True:
        return out
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    if "type" in out and not {"allOf", "anyOf", "oneOf", "not"} & out.keys():
        out["type"] = [out["type"], "null"]
        return out
    return {"anyOf": [{"type": "null"}, out]}


FORMATS = jsonschema.FormatChecker(())


@FORMATS.checks("date-time", raises=ValueError)
def is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(datetime.fromisoformat(value).tzinfo)


@FORMATS.checks("date", raises=ValueError)
def is_date(value: object) -> bool:
    return not isinstance(value, str) or bool(date.fromisoformat(value))


def schema_errors(validator: jsonschema.Draft4Validator, instance: Any) -> list[str]:
    """Each way `instance` breaks the schema, at its JSON path."""
    found = [cause for error in validator.iter_errors(instance) for cause in causes(error)]
    found.sort(key=lambda e: list(map(str, e.path)))
    return [f"at {e.json_path}: {e.message[:300]}" for e in found][:MAX_ERRORS]


def causes(error: ValidationError) -> list[ValidationError]:
    """For a oneOf/anyOf, the errors of the branch the instance came closest to.

    Closest: the fewest mismatches of `type`, `enum` or `const` on the value or its own fields
    (the branch's kind), then the fewest errors; so a rule of one kind is told what it lacks,
    not that it is another kind.
    """
    if not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def distance(errors: list[ValidationError]) -> tuple[int, int]:
        kind = sum(e.validator in ("type", "enum", "const") and len(e.path) <= 1 for e in errors)
        return kind, len(errors)

    closest = min(branches.values(), key=distance)
    return [cause for sub in closest for cause in causes(sub)]
