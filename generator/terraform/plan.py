"""`terraform show -json tfplan` -> the resource changes it would make, and how each compares
with the bindings lapse renders.

In: the plan's JSON text. Out: frozen `Change` values (no-ops dropped) and, for a binding,
what differs from the block `lapse render` makes. Nothing here reads files or the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.core import resource_kinds
from generator.core.errors import ConfigError
from generator.core.model import Request
from generator.terraform.render import Block, blocks

GRANTS_MODULE = "module.grants"
GOOGLE_PROVIDERS = frozenset(
    {"registry.terraform.io/hashicorp/google", "registry.terraform.io/hashicorp/google-beta"}
)
# Attributes the provider computes; every other attribute lapse does not write must be empty.
COMPUTED = frozenset({"id", "etag", "api_updated_member"})


@dataclass(frozen=True, slots=True)
class Change:
    """One resource change of the plan."""

    address: str
    mode: str
    type: str
    name: str
    module: str | None
    provider: str
    actions: tuple[str, ...]
    indexed: bool
    after: Mapping[str, Any] | None

    @property
    def action(self) -> str:
        """create, delete, update, replace, read, forget, ... as one word."""
        if set(self.actions) == {"delete", "create"}:
            return "replace"
        return "+".join(self.actions)

    @property
    def is_rendered_binding(self) -> bool:
        """Whether this is a binding where `lapse render` puts them, as it names them."""
        return (
            self.mode == "managed"
            and resource_kinds.by_terraform_type(self.type) is not None
            and self.module == GRANTS_MODULE
            and not self.indexed
            and self.address == f"{GRANTS_MODULE}.{self.type}.{self.name}"
            and self.provider in GOOGLE_PROVIDERS
        )

    @property
    def in_grants_module(self) -> bool:
        """Whether it sits in the grants module, an instance of it, or a module inside it."""
        inside = (f"{GRANTS_MODULE}.", f"{GRANTS_MODULE}[")
        return (
            self.module == GRANTS_MODULE
            or (self.module or "").startswith(inside)
            or self.address.startswith(inside)
        )


def read_plan(text: str, *, source: str) -> list[Change]:
    """Every change of the plan but no-ops; ConfigError when it is not a plan's JSON."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(
            f"{source}: not JSON ({exc}); give `terraform show -json tfplan`"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("format_version"), str):
        raise ConfigError(f"{source}: not the JSON of a plan: `format_version` is missing")
    if not data["format_version"].startswith("1."):
        raise ConfigError(f"{source}: plan format {data['format_version']} is not 1.x")
    listed = data.get("resource_changes", [])
    if not isinstance(listed, list):
        raise ConfigError(f"{source}: `resource_changes` is not a list")
    changes = [_change(item, source, index) for index, item in enumerate(listed)]
    return [c for c in changes if c.actions != ("no-op",)]


def _change(item: object, source: str, index: int) -> Change:
    where = f"{source}: resource_changes[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("change"), dict):
        raise ConfigError(f"{where} has no `change` object")
    texts = {key: item.get(key) for key in ("address", "mode", "type", "name", "provider_name")}
    if not all(isinstance(value, str) for value in texts.values()):
        raise ConfigError(f"{where} lacks one of address, mode, type, name, provider_name")
    actions = item["change"].get("actions")
    if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
        raise ConfigError(f"{where} ({texts['address']}) has no list of actions")
    module = item.get("module_address")
    return Change(
        address=str(texts["address"]),
        mode=str(texts["mode"]),
        type=str(texts["type"]),
        name=str(texts["name"]),
        module=module if isinstance(module, str) else None,
        provider=str(texts["provider_name"]),
        actions=tuple(actions),
        indexed="index" in item,
        after=_values(item["change"].get("after")),
    )


def _values(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None


def intended(requests: Iterable[Request]) -> dict[str, tuple[Request, Block]]:
    """Plan address -> the request and block `lapse render` makes for every grant."""
    return {
        f"{GRANTS_MODULE}.{block.type}.{block.name}": (request, block)
        for request in requests
        for block in blocks(request)
    }


def differences(after: Mapping[str, Any] | None, block: Block) -> list[str]:
    """How the planned values differ from `block`: empty when they are exactly it."""
    if after is None:
        return ["the plan gives no values for it"]
    wanted: dict[str, Any] = dict(block.arguments)
    wanted["condition"] = [
        {"title": block.title, "description": block.description, "expression": block.expression}
    ]
    found = [
        f"{key} is {_shown(after.get(key))}, the request renders {_shown(value)}"
        for key, value in wanted.items()
        if after.get(key) != value
    ]
    extra = sorted(k for k, v in after.items() if k not in wanted and k not in COMPUTED and v)
    found += [f"{key} is set to {_shown(after[key])}, which lapse never writes" for key in extra]
    return found


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)[:300]
