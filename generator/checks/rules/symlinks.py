"""LAPSE14x: the files lapse reads are plain files in the repository, owned where they sit."""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.rules import TreeContext, describe, rule
from generator.core.model import Problem

# What `lapse render --check` reports about terraform/grants/ (generator.terraform.grants_folder).
describe(
    "LAPSE141",
    "terraform/grants/ holds only _module.tf and the files `lapse render` writes.",
    fix="Remove the file from terraform/grants/: it holds only _module.tf and what "
    "`lapse render` writes; put configuration elsewhere under terraform/.",
)


@rule(
    "LAPSE140",
    "No symlinks under requests/, archive/, policy/, schemas/ or terraform/.",
    scope="tree",
    fix="Replace the symlink with the file itself: a link can point reviewers at one "
    "file and Terraform at another.",
)
def no_symlinks(ctx: TreeContext) -> Iterator[Problem]:
    for path in ctx.symlinks:
        yield Problem(
            path,
            1,
            1,
            "LAPSE140",
            "error",
            f"{path} is a symlink: its content would come from a path with other owners",
            "replace it with the file itself",
        )
