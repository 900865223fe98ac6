"""Rendering that reuses files already verified: cost follows the change, not the repository.

An entry of the local cache (`generator.core.cache`) records the SHA-256 of the text this very
code rendered and verified for one request. Its key hashes every value of the request and the
source of everything that shapes the text or checks it: lapse itself (templates included),
jinja2, python-hcl2 and lark. A generated file on disk whose hash is that entry's is reused
as it is; anything else is rendered and verified again. Entries hold hashes only, never text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from generator.core import cache
from generator.core.model import Request
from generator.terraform.render import grant_file_name, render_request, verify

CACHE_KIND = "verified-grants"
_CODE = ("generator", "jinja2", "hcl2", "lark")


def entry_key(request: Request) -> str:
    """Every value of the request (its repr: all fields) and the code that renders it."""
    return cache.digest(cache.code_digest(*_CODE), repr(request))


def text_digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).hexdigest().encode()


def render_files(requests: Iterable[Request], on_disk: dict[str, str]) -> dict[str, str]:
    """File name under terraform/grants/ -> content, as `render_all`, reusing verified files."""
    files: dict[str, str] = {}
    for request in sorted(requests, key=lambda r: r.id):
        name = grant_file_name(request)
        key = entry_key(request)
        present = on_disk.get(name)
        if present is not None and cache.read(CACHE_KIND, key) == text_digest(present):
            files[name] = present
            continue
        text = render_request(request)
        verify(request, text)
        cache.write(CACHE_KIND, key, text_digest(text))
        files[name] = text
    return files
