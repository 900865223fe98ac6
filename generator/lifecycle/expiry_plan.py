"""What one expiry run changes, as values: the requests it archives and the files it writes.

`expire` plans and carries out an `ExpiryPlan`; `expiry_text` says it to people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from generator.core.model import Request
from generator.core.times import format_utc


@dataclass(frozen=True, slots=True)
class ExpiredRequest:
    """One request to archive, with what the pull request body says about it."""

    request: Request
    archive_path: str
    content: bytes  # the file's bytes as read from disk: archived unchanged
    grants_path: str | None  # the rendered grants file the change deletes, if there is one
    already_archived: bool  # archive/ already holds these exact bytes (an interrupted run)
    source_pr: int | None

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def expired_at(self) -> str:
        return format_utc(self.request.window.expires)


@dataclass(frozen=True, slots=True)
class ExpiryPlan:
    """Everything one expiry run changes: `changes` maps paths to bytes, or None to delete."""

    cutoff: datetime  # requests whose `expires` is at or before this instant are archived
    items: tuple[ExpiredRequest, ...] = ()
    changes: Mapping[str, bytes | None] = field(default_factory=dict)
    # Grants files the re-render changes beyond the expired requests' own deletions. Empty when
    # terraform/grants/ was up to date; anything here is listed for reviewers to look at.
    rerendered: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.items
