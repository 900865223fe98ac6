"""Where `lapse review` reads its audit logs: `--source` made into a source, the projects below
the folders in scope, and the most a BigQuery read may scan."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands import adapters
from generator.core.errors import ConfigError
from generator.core.repo import Repo

if TYPE_CHECKING:
    from generator.core.model import Policy
    from generator.gcp.descendants import Descendants
    from generator.review.sources import EventSource

# ruff: noqa: PLC0415 - a source's client loads when the source is chosen, not for the help


def projects_below(scope: list[str]) -> Descendants | None:
    """The projects below the folders and organizations in scope: their logs hold the use."""
    from generator.gcp.descendants import ProjectTree

    parents = [n for n in scope if n.startswith(("folders/", "organizations/"))]
    return ProjectTree(adapters.build_session()).descendants(parents) if parents else None


def scan_limit(spec: str, given: int | None, policy: Policy) -> tuple[int, str] | None:
    """(the most a BigQuery read may scan, where that was set), or None for no limit."""
    if given is not None and not spec.startswith("bigquery:"):
        raise click.BadParameter(
            "limits the bytes a BigQuery read scans: use it with --source bigquery:PROJECT.DATASET",
            param_hint="--max-bytes",
        )
    if given is not None:
        return given, "--max-bytes"
    if policy.review.max_bytes is not None:
        return policy.review.max_bytes, "the policy's review.max_bytes"
    return None


def audit_source(
    spec: str,
    project: str | None,
    scope: list[str],
    repo: Repo | None = None,
    limit: tuple[int, str] | None = None,
) -> EventSource:
    """The audit log source named by `--source`."""
    from generator.review.export_manifest import ManifestedExport, is_manifest
    from generator.review.file_source import FileSource
    from generator.review.sources import CombinedSource

    kind, _, value = spec.partition(":")
    if kind == "file" and value:
        path = Path(value)
        shown = _namer(path, repo)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not p.name.startswith(".") and not is_manifest(p)
            )
            inner = CombinedSource([FileSource(p, shown=shown(p)) for p in files])
            return ManifestedExport(path, inner, shown)
        if not path.is_file():
            raise ConfigError(f"--source file:{value}: no such file or folder")
        return ManifestedExport(path, FileSource(path, shown=shown(path)), shown)
    if kind == "bigquery" and value:
        from generator.review.bigquery_source import BigQuerySource

        client = adapters.bigquery_client(value.split(".")[0])
        max_bytes, limit_name = limit or (None, "")
        # Each scan's price goes to stderr: stdout is the run's report (text or JSON).
        say = partial(click.echo, err=True)
        return BigQuerySource(client, value, max_bytes=max_bytes, limit_name=limit_name, say=say)
    if spec == "logging":
        billed = (
            project
            or os.environ.get("GOOGLE_CLOUD_PROJECT")
            or next((n.split("/")[1] for n in scope if n.startswith("projects/")), None)
        )
        if billed is None:
            raise ConfigError("give --project: no project in scope to read the logs through")
        from generator.review.logging_source import LoggingSource

        return LoggingSource(adapters.logging_client(billed), scope)
    raise click.BadParameter(
        f"{spec!r}: use logging, bigquery:PROJECT.DATASET or file:PATH", param_hint="--source"
    )


def _namer(export: Path, repo: Repo | None) -> Callable[[Path], str]:
    """How reports, which are committed, name a file of the export: relative to the
    repository when inside it, else from the export's own name, never by a local path."""
    root = repo.root.resolve() if repo is not None else None
    above = export.resolve().parent

    def shown(path: Path) -> str:
        resolved = path.resolve()
        for base in (root, above):
            if base is not None and resolved.is_relative_to(base):
                return resolved.relative_to(base).as_posix()
        return path.name

    return shown
