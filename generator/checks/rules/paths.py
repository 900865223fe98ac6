"""LAPSE13x: where a request file lives says which target it is for and what its id is."""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.checks.archive_ends import ArchivedEnd
from generator.checks.rules import RepoContext, describe, rule
from generator.core.model import Problem
from generator.core.request_paths import (
    EMERGENCY_FOLDER,
    archive_month,
    parse_request_path,
)
from generator.core.wording import did_you_mean

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")


def _layout(path: str) -> tuple[str, str] | None:
    where = parse_request_path(path)
    return (where.target, where.id) if where else None


@rule(
    "LAPSE130",
    "A request lives at requests/<target>/<id>.yaml (or requests/<target>/emergency/<id>.yaml).",
    scope="repo",
    fix="Move the file to requests/<target>/<id>.yaml (an emergency: "
    "requests/<target>/emergency/<id>.yaml), with the .yaml extension.",
)
def layout(ctx: RepoContext) -> Iterator[Problem]:
    for path in ctx.paths:
        if _layout(path) is None:
            yield Problem(
                path,
                1,
                1,
                "LAPSE130",
                "error",
                "a request must be requests/<target>/<id>.yaml "
                "or requests/<target>/emergency/<id>.yaml",
                "move it under the folder of its target; use the .yaml extension",
            )


@rule(
    "LAPSE131",
    "The folder names a target of the policy.",
    scope="repo",
    fix="Put the request in the folder of a target the policy defines (see "
    "policy/policy.yaml `targets`).",
)
def known_target(ctx: RepoContext) -> Iterator[Problem]:
    if ctx.policy is None:
        return
    known = sorted(ctx.policy.targets)
    for path in ctx.paths:
        where = _layout(path)
        if where and where[0] not in ctx.policy.targets:
            yield Problem(
                path,
                1,
                1,
                "LAPSE131",
                "error",
                f"unknown target {where[0]!r}",
                did_you_mean(where[0], known)
                + f"targets in policy/policy.yaml: {', '.join(known)}",
            )


@rule(
    "LAPSE132",
    "The id (file name) matches ^[a-z0-9][a-z0-9-]{2,62}$.",
    scope="repo",
    fix="Rename the file: 3-63 lowercase letters, digits or dashes, e.g. "
    "inc-4512-settlement-batch.yaml.",
)
def id_pattern(ctx: RepoContext) -> Iterator[Problem]:
    for path in ctx.paths:
        where = _layout(path)
        if where and not ID_PATTERN.match(where[1]):
            yield Problem(
                path,
                1,
                1,
                "LAPSE132",
                "error",
                f"id {where[1]!r} must be 3-63 lowercase letters, digits or dashes",
                "rename the file, e.g. inc-4512-settlement-batch.yaml",
            )


@rule(
    "LAPSE133",
    "The id is unique across requests/ and archive/.",
    scope="repo",
    fix="Choose a new id (file name): ids are never reused across requests/ and archive/.",
)
def unique_id(ctx: RepoContext) -> Iterator[Problem]:
    seen: dict[str, str] = {}
    for path in (*ctx.archive_paths, *ctx.paths):
        where = _layout(path)
        if where is None:
            continue
        first = seen.setdefault(where[1], path)
        if first != path and path in ctx.paths:
            yield Problem(
                path,
                1,
                1,
                "LAPSE133",
                "error",
                f"id {where[1]!r} is already used by {first}",
                "ids are never reused, so reports and audit trails stay unambiguous",
            )


@rule(
    "LAPSE134",
    "An archived request lies at archive/<target>/[emergency/]<YYYY-MM>/<id>.yaml, "
    "in the month (UTC) its window ended.",
    scope="repo",
    fix="Move the archived file to archive/<target>/[emergency/]<YYYY-MM>/<id>.yaml, "
    "YYYY-MM being the month (UTC) of its `expires`; `lapse expire` files them so.",
)
def archive_month_folder(ctx: RepoContext) -> Iterator[Problem]:
    # A review lists only the months of its period: a file in another month would never be
    # reviewed, so every archived file is held to the month its `expires` names.
    for end in ctx.archived_ends:
        found = _misfiled(end)
        if found is not None:
            message, hint = found
            yield Problem(end.path, end.line, end.col, "LAPSE134", "error", message, hint)


def _misfiled(end: ArchivedEnd) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) for a file not in the month it ended; None when it is."""
    if end.expires is None:
        return (
            "an archived request needs one readable `expires`, the month it is filed under",
            "restore the file as it was merged",
        )
    where = parse_request_path(end.path)
    month = archive_month(end.expires)
    if where is None or where.folder != "archive":
        found = "a file in archive/ outside archive/<target>/[emergency/]<YYYY-MM>/<id>.yaml"
    elif where.month != month:
        found = f"filed under {where.month}/ but its window ended in {month}"
    else:
        return None
    return found, f"move it to {_archive_place(end.path, month)}"


def _archive_place(path: str, month: str) -> str:
    """Where the archived file at `path` belongs: its target, its emergency folder if any, and
    its name, under `month` (read from the path's parts, whatever its shape)."""
    parts = path.split("/")
    target = parts[1] if len(parts) > 2 else "<target>"
    emergency, name = EMERGENCY_FOLDER in parts[2:-1], parts[-1]
    middle = f"{EMERGENCY_FOLDER}/" if emergency else ""
    return f"archive/{target}/{middle}{month}/{name}"


# Checked by `lapse validate` when a file under terraform/grants/ is named, and by `lapse render
# --check` for the whole folder.
describe(
    "LAPSE142",
    "A file named under terraform/grants/ is what `lapse render` writes for it.",
    fix="Run `lapse render` and commit terraform/grants/ with the requests.",
)
