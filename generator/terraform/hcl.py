"""Reading Terraform with python-hcl2: resources, string literals decoded per the HCL spec."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from generator.core.errors import ConfigError

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_TOKEN = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))|\$\$\{|%%\{", re.DOTALL)


class HclError(ConfigError, ValueError):
    """Terraform text that python-hcl2 cannot read, or a value that is not a literal."""


@dataclass(frozen=True, slots=True)
class Resource:
    type: str
    name: str
    body: dict[str, Any]

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    def string(self, key: str, body: dict[str, Any] | None = None) -> str:
        """A literal string argument, decoded; HclError for anything else."""
        raw = (self.body if body is None else body).get(key)
        if not isinstance(raw, str):
            raise HclError(f"{self.address}: {key} is missing")
        return decode_string(raw, where=f"{self.address}.{key}")

    def blocks(self, name: str) -> list[dict[str, Any]]:
        found = self.body.get(name, [])
        return [b for b in found if isinstance(b, dict)] if isinstance(found, list) else []


def parse(text: str, *, source: str) -> list[Resource]:
    """Every `resource` block in `text`."""
    return resources_of(load(text, source=source))


def resources_of(tree: dict[str, Any]) -> list[Resource]:
    """Every `resource` block of a tree `load` returned."""
    return list(_resources(tree))


def load(text: str, *, source: str) -> dict[str, Any]:
    """The whole file as python-hcl2 reads it (strings still quoted)."""
    import hcl2  # noqa: PLC0415 - building its parser costs 0.2 s; most runs never need it

    try:
        tree: dict[str, Any] = hcl2.loads(text)
    except Exception as exc:  # lark raises many types; all mean "not readable HCL"
        raise HclError(f"{source}: python-hcl2 cannot parse it: {exc}") from None
    return tree


def module_depends_on(tree: dict[str, Any], name: str) -> tuple[str, ...] | None:
    """The addresses module `name` lists in `depends_on`; None when the file has no such module."""
    for group in tree.get("module", []):
        for label, body in group.items():
            if _unquote(label) == name and isinstance(body, dict):
                listed = body.get("depends_on", [])
                items = listed if isinstance(listed, list) else []
                return tuple(str(item).removeprefix("${").removesuffix("}") for item in items)
    return None


def line_of(text: str, resource: Resource) -> int:
    """The 1-based line of `resource`'s header in `text`; 1 when it cannot be found."""
    header = re.compile(
        rf'^[ \t]*resource\s+"{re.escape(resource.type)}"\s+"{re.escape(resource.name)}"', re.M
    )
    found = header.search(text)
    return text.count("\n", 0, found.start()) + 1 if found else 1


def _resources(tree: dict[str, Any]) -> Iterator[Resource]:
    for group in tree.get("resource", []):
        for type_literal, named in group.items():
            for name_literal, body in named.items():
                yield Resource(_unquote(type_literal), _unquote(name_literal), body)


def _unquote(label: str) -> str:
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


def decode_string(raw: str, *, where: str = "value") -> str:
    """Decode an HCL quoted string literal as python-hcl2 returns it (quotes included).

    Refuses templates: a literal that still holds `${` or `%{` after decoding escapes
    (`$${`, `%%{`, `\u0024{`, `\u0025{`) would be evaluated by Terraform: not a plain string.
    """
    if len(raw) < 2 or raw[0] != '"' or raw[-1] != '"':
        raise HclError(f"{where}: not a quoted string literal: {raw[:60]!r}")
    body = raw[1:-1]
    if re.search(r"[$%]\{", _TOKEN.sub("_", body)):  # `_`: a removed escape joins nothing
        raise HclError(f"{where}: holds a template sequence, not a literal")
    return _TOKEN.sub(_decode_token, body)


def _decode_token(match: re.Match[str]) -> str:
    text = match.group(0)
    if text == "$${":
        return "${"
    if text == "%%{":
        return "%{"
    if match.group(1) or match.group(2):
        return chr(int(match.group(1) or match.group(2), 16))
    char = match.group(3)
    if char not in _ESCAPES:
        raise HclError(f"unknown escape sequence \\{char}")
    return _ESCAPES[char]
