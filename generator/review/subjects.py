"""One request to review, and what the review knows of it beyond the request file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from generator.core.git import Addition
from generator.core.model import Request
from generator.core.request_paths import request_path
from generator.review.scope import Hierarchy


def mainline_addition(request: Request, additions: Mapping[str, Addition]) -> Addition | None:
    """The commit on main that brought `request` into requests/, from `mainline_additions`.

    A date at or after the expiry says nothing true (the grant could not be used then, and
    a committer date can be set at will): read as unknown, None.
    """
    added = additions.get(request_path(request.target, request.id, emergency=request.emergency))
    return None if added is None or added.at >= request.window.expires else added


@dataclass(frozen=True, slots=True)
class ReviewSubject:
    """A request to review.

    The window starts at `starts` when the request sets it (the IAM condition enforces it);
    otherwise when the binding really appeared: the `SetIamPolicy` entry that added it
    (`binding_at`) when the logs have one, else the commit on main that brought the request in
    (`merged_at`, `merge_commit`).
    """

    request: Request
    archived: bool
    permissions_by_role: Mapping[str, frozenset[str]]
    merged_at: datetime | None = None
    project_of: Mapping[str, str] = field(default_factory=dict)  # bucket -> project ID
    project_numbers: Mapping[str, str] = field(default_factory=dict)  # number -> project ID
    folder_of: Mapping[str, str] = field(default_factory=dict)  # project ID -> folders/F
    merge_commit: str = ""
    binding_at: datetime | None = None
    binding_entry: str = ""  # insertId of the SetIamPolicy entry that added the binding
    # The same person's other grants: an event they also cover is reported in both reviews.
    others: tuple[ReviewSubject, ...] = ()

    @property
    def principal(self) -> str:
        return self.request.requester.lower()

    @property
    def window_start(self) -> datetime | None:
        """When the grant became usable (None when nothing says)."""
        return self.request.window.starts or self.binding_at or self.merged_at

    @property
    def start_evidence(self) -> str:
        """What the window's start was read from, in words."""
        if self.request.window.starts is not None:
            return "`starts` in the request (enforced by the IAM condition)"
        if self.binding_at is not None:
            return f"the SetIamPolicy entry that added the binding ({self.binding_entry})"
        if self.merged_at is not None:
            return f"commit {self.merge_commit[:12]} on main that brought the request in"
        return "unknown: no SetIamPolicy entry and no commit on main found"

    @property
    def other_windows(self) -> tuple[tuple[datetime, datetime, str], ...]:
        return tuple(
            (o.window_start, o.request.window.expires, o.request.id)
            for o in self.others
            if o.window_start is not None
        )

    @property
    def hierarchy(self) -> Hierarchy:
        return Hierarchy(self.project_of, self.project_numbers, self.folder_of)
