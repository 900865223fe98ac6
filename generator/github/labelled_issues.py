"""The issues carrying one label (control failures, drift incidents), read page by page.

For the evidence pack, which holds what the repository's files do not: GitHub's issues list
(`GET /repos/{owner}/{repo}/issues`) returns pull requests too; those are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

PER_PAGE = 100
MAX_PAGES = 50  # 5,000 issues of one label: far beyond any period's


class JsonReader(Protocol):
    def read_json(self, path: str, *, accept: str | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class LabelledIssue:
    number: int
    title: str
    state: str
    created_at: str
    closed_at: str | None
    url: str


def labelled_issues(
    reader: JsonReader, repository: str, label: str, since: datetime
) -> list[LabelledIssue]:
    """Every issue with `label` updated at or after `since`, open or closed, oldest first."""
    found: list[LabelledIssue] = []
    stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    for page in range(1, MAX_PAGES + 1):
        listing = reader.read_json(
            f"/repos/{repository}/issues?labels={quote(label)}&state=all&since={stamp}"
            f"&sort=created&direction=asc&per_page={PER_PAGE}&page={page}"
        )
        if not isinstance(listing, list):
            break
        found += [_issue(item) for item in listing if _is_issue(item)]
        if len(listing) < PER_PAGE:
            break
    return sorted(found, key=lambda issue: (issue.created_at, issue.number))


def _is_issue(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and "pull_request" not in item
        and isinstance(item.get("number"), int)
        and isinstance(item.get("title"), str)
    )


def _issue(item: dict[str, Any]) -> LabelledIssue:
    closed = item.get("closed_at")
    return LabelledIssue(
        item["number"],
        item["title"],
        str(item.get("state", "")),
        str(item.get("created_at", "")),
        closed if isinstance(closed, str) else None,
        str(item.get("html_url", "")),
    )
