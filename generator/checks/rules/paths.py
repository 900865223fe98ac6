"""LAPSE13x: where a request file lives says which target it is for and what its id is."""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.checks.rules import RepoContext, describe, rule
from generator.core.model import Problem
from generator.core.wording import did_you_mean

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")


def _layout(path: str) -> tuple[str, str] | None:
    parts = path.split("/")  # repository-relative POSIX paths, as Repo.relative writes them
    if len(parts) == 3 and parts[0] in ("requests", "archive") and parts[2].endswith(".yaml"):
        return parts[1], parts[2].removesuffix(".yaml")
    return None


@rule("LAPSE130", "A request lives at requests/<target>/<id>.yaml.", scope="repo")
def layout(ctx: RepoContext) -> Iterator[Problem]:
    for path in ctx.paths:
        if _layout(path) is None:
            yield Problem(
                path,
                1,
                1,
                "LAPSE130",
                "error",
                "a request must be requests/<target>/<id>.yaml",
                "move it under the folder of its target; use the .yaml extension",
            )


@rule("LAPSE131", "The folder names a target of the policy.", scope="repo")
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


@rule("LAPSE132", "The id (file name) matches ^[a-z0-9][a-z0-9-]{2,62}$.", scope="repo")
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


@rule("LAPSE133", "The id is unique across requests/ and archive/.", scope="repo")
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


# Checked by `lapse validate` when a file under terraform/grants/ is named, and by `lapse render
# --check` for the whole folder.
describe("LAPSE142", "A file named under terraform/grants/ is what `lapse render` writes for it.")
