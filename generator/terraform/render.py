"""Requests -> Terraform: one file per request, one conditional `*_iam_member` per grant.

Rendering is a pure function of the requests: it never reads the clock. Every interpolated
value goes through `hcl_string`, and the result is parsed back with python-hcl2 and compared
with what was intended before anything is written.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from generator.core import resource_kinds
from generator.core.errors import ConfigError
from generator.core.model import Grant, Request
from generator.core.times import format_utc
from generator.terraform.hcl import HclError, Resource, parse

if TYPE_CHECKING:
    import jinja2

TITLE_PREFIX = "lapse/"
DESCRIPTION_LIMIT = 256


class RenderError(ConfigError):
    """The rendered text does not say what was intended. Nothing is written."""


@dataclass(frozen=True, slots=True)
class Block:
    """One resource block, as intended: the self-check compares python-hcl2's view to this."""

    type: str
    name: str
    arguments: tuple[tuple[str, str], ...]
    title: str
    description: str
    expression: str

    @property
    def width(self) -> int:
        return max(len(key) for key, _ in self.arguments)


def scoping_arguments(grant: Grant) -> tuple[tuple[str, str], ...]:
    return resource_kinds.get(grant.kind).arguments(grant.resource)


def arguments(grant: Grant, requester: str) -> tuple[tuple[str, str], ...]:
    """Every top-level argument of the grant's resource, in the order they are written.

    Roles keep their predefined names everywhere: the dataset IAM resources refuse BigQuery's
    legacy READER/WRITER/OWNER and map them back to the full names when reading.
    """
    return (*scoping_arguments(grant), ("role", grant.role), ("member", f"user:{requester}"))


def grant_key(grant: Grant) -> str:
    """Eight hex digits naming the grant by what it is, not by where it sits in the file."""
    text = "\0".join((grant.kind, grant.canonical, grant.role))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def resource_name(request_id: str, key: str) -> str:
    """The grant's block label, from its `grant_key`."""
    # Terraform names may hold letters, digits, `-` and `_`, but may not start with a digit.
    prefix = "_" if request_id[0].isdigit() else ""
    return f"{prefix}{request_id}_{key}"


def expression(request: Request) -> str:
    end = f'request.time < timestamp("{format_utc(request.window.expires)}")'
    if request.window.starts is None:
        return end
    return f'request.time >= timestamp("{format_utc(request.window.starts)}") && {end}'


def description(request: Request) -> str:
    """`TICKET: reason`, on one line, without control or format characters, bounded."""
    text = f"{request.ticket}: {request.reason}"
    if text.isascii() and text.isprintable():  # no control or format character, one space kind
        kept = text
    else:
        kept = "".join(
            c if unicodedata.category(c)[0] not in "CZ" or c == " " else " " for c in text
        )
    flat = " ".join(kept.split())
    if len(flat) > DESCRIPTION_LIMIT:
        flat = flat[: DESCRIPTION_LIMIT - 1].rstrip() + "…"
    return flat


def blocks(request: Request) -> list[Block]:
    said, until = description(request), expression(request)  # the same in every block
    found = []
    for grant in request.grants:
        key = grant_key(grant)
        found.append(
            Block(
                type=resource_kinds.get(grant.kind).terraform_type,
                name=resource_name(request.id, key),
                arguments=arguments(grant, request.requester),
                title=f"{TITLE_PREFIX}{request.id}/{key}",
                description=said,
                expression=until,
            )
        )
    return sorted(found, key=lambda b: (b.type, b.name))


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f]|[$%]\{')


def hcl_string(value: str) -> str:
    """`value` as an HCL quoted string literal that Terraform reads back unchanged."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'


def _escape(match: re.Match[str]) -> str:
    text = match.group(0)
    if text in ("${", "%{"):
        # `\u0024{` / `\u0025{`: Terraform reads both as literal text, and unlike `$${` / `%%{`
        # python-hcl2 parses them even when no `}` follows (`%%{ for x` is a parse error there).
        return f"\\u{ord(text[0]):04x}{{"
    return _ESCAPES.get(text, f"\\u{ord(text):04x}")


@cache
def _template() -> jinja2.Template:
    import jinja2  # noqa: PLC0415 - only when a file is rendered, not when one is reused

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("generator", "templates"),
        autoescape=False,  # noqa: S701 - HCL, not HTML: values are escaped by the `hcl` filter
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["hcl"] = hcl_string
    return env.get_template("terraform/grants.tf.j2")


def render_request(request: Request, written: list[Block] | None = None) -> str:
    """The request's file; `written` is `blocks(request)` when the caller has it already."""
    written = blocks(request) if written is None else written
    text = _template().render(source=request.path, blocks=written)
    return text.rstrip("\n") + "\n"


def rendered(request: Request) -> str:
    """The request's file, rendered and self-checked unless its values are all plain (see
    PLAIN_ALPHABET); its blocks are worked out once for both."""
    written = blocks(request)
    text = render_request(request, written)
    if needs_self_check(request, written):
        self_check(request, text, written)
    return text


def self_check(request: Request, text: str, written: list[Block] | None = None) -> None:
    """Parse `text` with python-hcl2 and insist it says exactly what `blocks` intended.

    Two blocks at one address are refused first: read into one mapping, the later would hide
    the earlier from every comparison below, and Terraform refuses such a file anyway.
    """
    try:
        resources = parse(text, source=request.path)
    except HclError as exc:
        raise RenderError(str(exc)) from None
    parsed = {r.address: r for r in resources}
    if len(parsed) != len(resources):
        raise RenderError(
            f"{request.path}: rendered resources {sorted(r.address for r in resources)} "
            "repeat an address"
        )
    intended = {f"{b.type}.{b.name}": b for b in (blocks(request) if written is None else written)}
    if set(parsed) != set(intended):
        raise RenderError(
            f"{request.path}: rendered resources {sorted(parsed)} "
            f"differ from intended {sorted(intended)}"
        )
    for address, block in intended.items():
        try:
            same = _reads_back(parsed[address], block)
        except HclError as exc:
            raise RenderError(str(exc)) from None
        if not same:
            raise RenderError(f"{address}: python-hcl2 reads back other values than intended")


def _keys(body: dict[str, object]) -> set[str]:
    return {key for key in body if not key.startswith("__")}


def _reads_back(resource: Resource, block: Block) -> bool:
    arguments = dict(block.arguments)
    condition = {
        "title": block.title,
        "description": block.description,
        "expression": block.expression,
    }
    conditions = resource.blocks("condition")
    if _keys(resource.body) != {*arguments, "condition"} or len(conditions) != 1:
        return False
    if _keys(conditions[0]) != set(condition):
        return False
    return all(resource.string(k) == v for k, v in arguments.items()) and all(
        resource.string(k, conditions[0]) == v for k, v in condition.items()
    )


def grant_file_name(request: Request) -> str:
    """`<target>.<id>.tf`: the target in the name lets CODEOWNERS give the file to its approvers.

    An emergency request's is `<target>.emergency.<id>.tf`, which CODEOWNERS gives to the
    target's emergency approvers (ids hold no dots, so no normal request's name looks like it).
    """
    middle = "emergency." if request.emergency else ""
    return f"{request.target}.{middle}{request.id}.tf"


# Printable ASCII without what an HCL quoted string or a comment line treats specially: `"`,
# `\\`, `$`, `%` and braces (templates). A request whose every rendered string is made of these
# cannot change the structure of the file: test_properties.py proves it for the template as it
# is, by self-checking renders of arbitrary requests drawn from exactly this alphabet.
PLAIN_ALPHABET = frozenset(chr(code) for code in range(0x20, 0x7F)) - frozenset('"\\$%{}')


def interpolated(request: Request, written: list[Block]) -> list[str]:
    """Every string from the request that the template writes: labels, values, source path.

    The condition's expression is left out: lapse writes it around two instants it formats
    itself, and the property test renders it for arbitrary instants.
    """
    found = [request.path]
    for block in written:
        found += [block.name, block.title, block.description]
        found += [value for _, value in block.arguments]
    return found


def needs_self_check(request: Request, written: list[Block] | None = None) -> bool:
    """False only for what the plain-alphabet property covers; when in doubt, check."""
    written = blocks(request) if written is None else written
    if len({block.name for block in written}) != len(written):
        return True
    return not all(PLAIN_ALPHABET.issuperset(text) for text in interpolated(request, written))


def render_all(requests: Iterable[Request]) -> dict[str, str]:
    """File name under terraform/grants/ -> content, for every request, each verified."""
    files: dict[str, str] = {}
    for request in sorted(requests, key=lambda r: r.id):
        files[grant_file_name(request)] = rendered(request)
    return files
