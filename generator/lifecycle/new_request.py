"""`lapse new`: a request file written from flags, at the right path, never over another."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from generator.core import resource_kinds
from generator.core.repo import Repo
from generator.core.times import format_utc
from generator.core.writing import write_file

_SLUG_WORDS = 4
GRANT_FORM = "ROLE=KIND:NAME, e.g. roles/cloudsql.client=project:pci-prod-payments"


@dataclass(frozen=True, slots=True)
class NewGrant:
    role: str
    kind: str
    resource: str


@dataclass(frozen=True, slots=True)
class Draft:
    target: str
    requester: str
    reason: str
    ticket: str
    grants: tuple[NewGrant, ...]
    starts: datetime | None
    expires: datetime


def parse_grant(text: str) -> NewGrant:
    """`ROLE=KIND:NAME` -> NewGrant; kinds as the schema spells them (`service-account` too)."""
    role, equals, resource = text.partition("=")
    kind, colon, name = resource.partition(":")
    kind = kind.strip().replace("-", "_")
    if not equals or not colon or not role.strip() or not name.strip():
        raise ValueError(f"{text!r} is not a grant; write {GRANT_FORM}")
    if kind not in resource_kinds.names():
        kinds = ", ".join(resource_kinds.names())
        raise ValueError(f"{kind!r} is not a resource kind; kinds: {kinds}")
    return NewGrant(role.strip(), kind, name.strip())


def window(
    now: datetime, *, starts: datetime | None, expires: datetime | None, duration: timedelta | None
) -> tuple[datetime | None, datetime]:
    """Resolve --starts/--expires/--duration, in whole seconds (IAM conditions need no more).

    The caller ensures exactly one of the last two.
    """
    begin = None if starts is None else starts.replace(microsecond=0)
    if expires is not None:
        return begin, expires.replace(microsecond=0)
    assert duration is not None
    return begin, ((begin or now) + duration).replace(microsecond=0)


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
    ]
    for grant in draft.grants:
        lines += [
            f"  - role: {json.dumps(grant.role)}",
            f"    {grant.kind}: {json.dumps(grant.resource)}",
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
    write_file(path, text, exclusive=True)
