"""The jinja2 environment of every page lapse writes for people to read (review reports,
the evidence pack): autoescaped, strict about undefined names, blocks trimmed, the final
newline kept. Rendered Terraform has its own (HCL is escaped by its own filter)."""

from __future__ import annotations

from pathlib import Path

import jinja2


def environment(folder: Path) -> jinja2.Environment:
    """Templates from `folder`; every value not marked safe is HTML-escaped."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
