"""LAPSE276-278: targets cannot reach each other through the resource hierarchy.

A role granted on a folder or organization is inherited by every project below it, so a
target that may grant one could reach another target's projects without that target's
approvers. The policy says where each target's projects live; these rules keep the targets'
reach apart.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.checks.rules import PolicyContext, rule
from generator.core import resource_kinds
from generator.core.model import Problem, Target


def hierarchy_nodes(target: Target) -> list[tuple[str, int, str]]:
    """(kind, index, node) of each folder or organization the target may grant."""
    return [
        (kind.key, i, kind.audit.name(name))
        for kind in resource_kinds.kinds()
        if kind.reaches_down
        for i, name in enumerate(target.resources.get(kind.key, ()))
    ]


@rule(
    "LAPSE276",
    "A folder or organization may be granted only on its target's own hierarchy, "
    "and on no other target's.",
    scope="policy",
    fix="Grant folders and organizations only within the target's own hierarchy; move "
    "the resource to the target that owns it.",
)
def reach_stays_in_target(ctx: PolicyContext) -> Iterator[Problem]:
    for name, target in ctx.policy.targets.items():
        if not target.hierarchy:
            continue  # LAPSE277
        for kind, index, node in hierarchy_nodes(target):
            where = ("targets", name, "resources", kind, index)
            others = sorted(
                other
                for other, found in ctx.policy.targets.items()
                if other != name and node in found.hierarchy
            )
            if others:
                yield ctx.problem(
                    "LAPSE276",
                    where,
                    f"{node} holds the projects of {', '.join(others)}: a grant there reaches "
                    "them through inheritance, without their approvers",
                    "grant the folder that holds only this target's projects",
                )
            elif node not in target.hierarchy:
                yield ctx.problem(
                    "LAPSE276",
                    where,
                    f"{node} is not in targets.{name}.hierarchy, so what it holds is unknown",
                    "name the folder in the target's hierarchy, or remove it",
                )


@rule(
    "LAPSE277",
    "Once any target may grant a folder or organization, every target names its hierarchy.",
    scope="policy",
    fix="Name every target's hierarchy (its folders or organization) in the policy.",
)
def hierarchy_named(ctx: PolicyContext) -> Iterator[Problem]:
    if not any(hierarchy_nodes(t) for t in ctx.policy.targets.values()):
        return
    for name, target in ctx.policy.targets.items():
        if not target.hierarchy:
            yield ctx.problem(
                "LAPSE277",
                ("targets", name),
                f"targets.{name} does not say where its projects live",
                "add hierarchy: [organizations/ID, folders/ID, ...] down to its folder",
                key=True,
            )


def _projects(target: Target) -> set[str]:
    return {
        project
        for kind in resource_kinds.kinds()
        for name in target.resources.get(kind.key, ())
        if (project := resource_kinds.home_project(kind.key, name, target.bucket_projects))
    }


@rule(
    "LAPSE278",
    "A project belongs to one target.",
    scope="policy",
    fix="List the project under one target only; split access by target, not by copy.",
)
def one_target_per_project(ctx: PolicyContext) -> Iterator[Problem]:
    owner: dict[str, str] = {}
    for name, target in ctx.policy.targets.items():
        for project in sorted(_projects(target)):
            first = owner.setdefault(project, name)
            if first != name:
                yield ctx.problem(
                    "LAPSE278",
                    ("targets", name),
                    f"project {project} is in targets {first} and {name}: either set of "
                    "approvers could grant it",
                    "keep each project in the one target whose approvers own it",
                    key=True,
                )
