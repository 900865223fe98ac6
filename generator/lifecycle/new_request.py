"""`lapse new`: a request file written from flags, at the right path, never over another."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from generator.core.repo import Repo
from generator.core.times import format_utc

_SLUG_WORDS = 4


@dataclass(frozen=True, slots=True)
class Draft:
    target: str
    requester: str
    reason: str
    ticket: str
    role: str
    kind: str
    resource: str
    starts: datetime | None
    expires: datetime


def window(
    now: datetime, *, starts: datetime | None, expires: datetime | None, duration: timedelta | None
) -> tuple[datetime | None, datetime]:
    """Resolve --starts/--expires/--duration; the caller ensures exactly one of the last two."""
    if expires is not None:
        return starts, expires
    assert duration is not None
    return starts, (starts or now) + duration


def request_text(draft: Draft) -> str:
    # JSON strings are valid YAML double-quoted scalars: any text the user typed stays text.
    lines = [
        "# yaml-language-server: $schema=../../schemas/access-request.schema.json",
        f"requester: {json.dumps(draft.requester)}",
        f"reason: {json.dumps(draft.reason, ensure_ascii=False)}",
        f"ticket: {json.dumps(draft.ticket)}",
    ]
    if draft.starts is not None:
        lines.append(f"starts: {format_utc(draft.starts)}")
    lines += [
        f"expires: {format_utc(draft.expires)}",
        "grants:",
        f"  - role: {json.dumps(draft.role)}",
        f"    {draft.kind}: {json.dumps(draft.resource)}",
    ]
    return "\n".join(lines) + "\n"


def fresh_id(repo: Repo, draft: Draft) -> str:
    """`<ticket>-<first words of the reason>`, made unique across requests/ and archive/."""
    words = re.findall(r"[a-z0-9]+", draft.reason.lower())[:_SLUG_WORDS]
    base = "-".join([*re.findall(r"[a-z0-9]+", draft.ticket.lower()), *words])[:56].strip("-")
    base = base if len(base) >= 3 else f"req-{base}".strip("-")
    taken = {p.stem for p in (*repo.request_files(), *repo.archive_files())}
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def write_new(path: Path, text: str) -> None:
    """Create `path` with `text`; FileExistsError if anything is already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
