"""Rendering that reuses files already verified: cost follows the change, not the repository.

The local cache (`generator.core.cache`) keeps, for each request, the SHA-256 of the text this
very code rendered and verified for it. Entries live in one table per version of the code:
the table's name hashes the source of everything that shapes the text or checks it (lapse
itself, templates included, jinja2, python-hcl2 and lark), so another version's entries are
never read; each key hashes that too, with every value of the request. A generated file on
disk whose hash is its entry's is reused as it is; anything else is rendered and verified
again. The table holds hashes only, never text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from generator.core import cache
from generator.core.model import Extension, Grant, Request
from generator.terraform.render import grant_file_name, rendered

CACHE_KIND = "verified-grants"
CODE = ("generator", "jinja2", "hcl2", "lark")


def code_version() -> str:
    return cache.code_digest(*CODE)


def entry_key(code: str, request: Request) -> str:
    """The code's hash and every value of the request (its repr names all fields)."""
    return cache.digest(code, values_text(request))


def values_text(request: Request) -> str:
    """`repr(request)`, written out in one expression.

    The repr dataclasses generate guards every nested value against recursion, which doubles
    the cost of the key over thousands of requests; a request nests no cycle. test_local_cache
    holds this equal to `repr` over generated requests and to the fields the classes declare.
    """
    window = request.window
    return (
        f"Request(id={request.id!r}, target={request.target!r}, path={request.path!r}, "
        f"requester={request.requester!r}, reason={request.reason!r}, "
        f"ticket={request.ticket!r}, window=Window(starts={window.starts!r}, "
        f"expires={window.expires!r}), grants={_tuple(map(_grant, request.grants))}, "
        f"emergency={request.emergency!r}, "
        f"extensions={_tuple(map(_extension, request.extensions))})"
    )


def _grant(grant: Grant) -> str:
    return (
        f"Grant(role={grant.role!r}, kind={grant.kind!r}, resource={grant.resource!r}, "
        f"line={grant.line!r}, col={grant.col!r})"
    )


def _extension(extension: Extension) -> str:
    return (
        f"Extension(at={extension.at!r}, by={extension.by!r}, reason={extension.reason!r}, "
        f"line={extension.line!r}, col={extension.col!r})"
    )


def _tuple(items: Iterable[str]) -> str:
    """A tuple's repr from its items' reprs: `()`, `(a,)`, `(a, b)`."""
    listed = list(items)
    return f"({listed[0]},)" if len(listed) == 1 else f"({', '.join(listed)})"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render_files(requests: Iterable[Request], on_disk: dict[str, str]) -> dict[str, str]:
    """File name under terraform/grants/ -> content, as `render_all`, reusing verified files."""
    code = code_version()
    known = cache.read_table(CACHE_KIND, code)
    kept: dict[str, str] = {}
    files: dict[str, str] = {}
    for request in sorted(requests, key=lambda r: r.id):
        name, key = grant_file_name(request), entry_key(code, request)
        present = on_disk.get(name)
        if present is not None and known.get(key) == text_digest(present):
            files[name] = present
        else:
            files[name] = rendered(request)
        kept[key] = text_digest(files[name])
    if kept != known:
        cache.write_table(CACHE_KIND, code, kept)
    return files
