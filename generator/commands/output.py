"""How commands speak: quiet or verbose, coloured only for a person at a terminal.

Colour follows the common convention: only when the stream is a terminal, never when NO_COLOR
is set (https://no-color.org) or inside CI, where logs keep escape codes as noise.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

import click

from generator.core.repo import Repo

QUIET, NORMAL, VERBOSE = 0, 1, 2
_VERBOSITY = "lapse.verbosity"
_STYLES = {
    "error": {"fg": "red", "bold": True},
    "warning": {"fg": "yellow", "bold": True},
    "info": {"fg": "cyan"},
    "good": {"fg": "green"},
    "dim": {"dim": True},
}
Painter = Callable[[str, str], str]


def set_verbosity(ctx: click.Context, level: int) -> None:
    ctx.meta[_VERBOSITY] = level


def verbosity() -> int:
    ctx = click.get_current_context(silent=True)
    level = ctx.meta.get(_VERBOSITY, NORMAL) if ctx is not None else NORMAL
    return level if isinstance(level, int) else NORMAL


def say(text: str, *, err: bool = False) -> None:
    """A progress or summary line: shown unless -q."""
    if verbosity() >= NORMAL:
        click.echo(text, err=err)


def detail(text: str, *, err: bool = False) -> None:
    """A line only -v shows."""
    if verbosity() >= VERBOSE:
        click.echo(text, err=err)


def colour_wanted(*, err: bool) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("CI") or os.environ.get("GITHUB_ACTIONS"):
        return False
    stream = sys.stderr if err else sys.stdout
    return stream.isatty()


def painter(*, err: bool) -> Painter | None:
    """`paint(style, text)` for this stream, or None when colour is off."""
    if not colour_wanted(err=err):
        return None
    return lambda style, text: click.style(text, **_STYLES.get(style, {}))  # type: ignore[arg-type]


def paint(style: str, text: str, *, err: bool = False) -> str:
    chosen = painter(err=err)
    return chosen(style, text) if chosen else text


def source_lines(
    repo: Repo, texts: Mapping[str, str] | None = None
) -> Callable[[str, int], str | None]:
    """`(path, line) -> that line of the file`, read once per file; None when unreadable."""

    @cache
    def lines_of(path: str) -> tuple[str, ...]:
        if texts and path in texts:
            return tuple(texts[path].splitlines())
        file = Path(path) if Path(path).is_absolute() else repo.root / path
        try:
            return tuple(file.read_text(encoding="utf-8", errors="replace").splitlines())
        except OSError:
            return ()

    def line(path: str, number: int) -> str | None:
        found = lines_of(path)
        return found[number - 1] if 0 < number <= len(found) else None

    return line
