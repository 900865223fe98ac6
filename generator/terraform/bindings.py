"""terraform/grants/*.tf -> Binding values, read back with python-hcl2."""

from __future__ import annotations

from pathlib import Path

from generator.core import resource_kinds
from generator.core.model import Binding, Request
from generator.core.resource_kinds import ResourceKind
from generator.terraform.hcl import HclError, Resource, parse
from generator.terraform.render import render_all


def kind_of(resource: Resource) -> ResourceKind | None:
    """The grant kind a resource block is, None for any other block."""
    return resource_kinds.by_terraform_type(resource.type)


def binding_of(resource: Resource, source: str) -> Binding:
    kind = kind_of(resource)
    if kind is None:
        raise HclError(f"{resource.address}: {resource.type} grants no kind lapse knows")
    conditions = resource.blocks("condition")
    if len(conditions) != 1:
        raise HclError(f"{resource.address}: a grant must carry exactly one condition block")
    condition = conditions[0]
    return Binding(
        address=resource.address,
        source=source,
        kind=kind.key,
        resource=kind.read_back(resource.string),
        role=resource.string("role"),
        member=resource.string("member"),
        title=resource.string("title", condition),
        description=resource.string("description", condition),
        expression=resource.string("expression", condition),
    )


def read_bindings(grants_dir: Path) -> list[Binding]:
    """Every IAM member resource in the generated files. HclError names what is unreadable."""
    found: list[Binding] = []
    for path in sorted(grants_dir.glob("*.tf")) if grants_dir.is_dir() else []:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise HclError(f"{path.name}: cannot read: {exc}") from None
        for resource in parse(text, source=path.name):
            if kind_of(resource) is not None:
                found.append(binding_of(resource, path.name))
            elif resource.type.endswith(("_iam_binding", "_iam_policy")):
                raise HclError(
                    f"{path.name}: {resource.address} is authoritative; "
                    "only *_iam_member resources are allowed"
                )
            elif resource.type == "google_bigquery_dataset_access":
                # Matched on role + member only, it collides with the conditional members.
                raise HclError(
                    f"{path.name}: {resource.address} grants dataset access beside "
                    "google_bigquery_dataset_iam_member; only *_iam_member resources are allowed"
                )
    return found


def bindings_of_requests(requests: list[Request]) -> list[Binding]:
    """The bindings `requests` render to, read back the same way as from disk."""
    return [
        binding_of(resource, name)
        for name, text in render_all(requests).items()
        for resource in parse(text, source=name)
        if kind_of(resource) is not None
    ]
