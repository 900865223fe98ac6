"""What `lapse watch` reads from GitHub: workflow runs, open pull requests and open issues, as
plain values; every listing is read to its end.

A field GitHub always sends but that is missing or malformed here is a `ServiceError`: the
control it was read for cannot tell, it never reads as ok.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from generator.core.errors import ServiceError

PAGE = 100
MAX_PAGES = 50  # 5,000 items: more open issues or pulls than that is itself a finding


class JsonReader(Protocol):
    def read_json(self, path: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    status: str  # queued, in_progress, completed, ...
    conclusion: str  # success, failure, cancelled, ... ("" while not completed)
    created_at: datetime
    url: str


@dataclass(frozen=True, slots=True)
class Item:
    """An open pull request or issue: who opened it, when, with which labels and text."""

    number: int
    title: str
    body: str
    created_at: datetime
    author: str
    labels: tuple[str, ...]
    head: str = ""  # a pull request's branch


def instant(raw: object, what: str) -> datetime:
    if not isinstance(raw, str):
        raise ServiceError(f"GitHub sent {what} without a time: {raw!r:.80}")
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ServiceError(f"GitHub sent {what} with the time {raw!r:.80}") from None


def workflow_runs(reader: JsonReader, repository: str, workflow: str, branch: str) -> list[Run]:
    """The newest runs of `.github/workflows/<workflow>` on `branch`, newest first (one page:
    enough to find the last success of a daily job within three months)."""
    path = (
        f"/repos/{repository}/actions/workflows/{quote(workflow)}/runs"
        f"?branch={quote(branch)}&per_page={PAGE}&exclude_pull_requests=true"
    )
    found = reader.read_json(path)
    if found is None:
        raise ServiceError(f"GitHub knows no workflow {workflow} in {repository}")
    runs = found.get("workflow_runs") if isinstance(found, dict) else None
    if not isinstance(runs, list):
        raise ServiceError(f"GitHub listed the runs of {workflow} without workflow_runs")
    return sorted(
        (_run(raw, workflow) for raw in runs), key=lambda run: run.created_at, reverse=True
    )


def _run(raw: Any, workflow: str) -> Run:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
        raise ServiceError(f"GitHub listed a run of {workflow} without an id")
    return Run(
        raw["id"],
        str(raw.get("status") or ""),
        str(raw.get("conclusion") or ""),
        instant(raw.get("created_at"), f"run {raw['id']} of {workflow}"),
        str(raw.get("html_url") or ""),
    )


def open_pulls(reader: JsonReader, repository: str) -> list[Item]:
    return [
        _item(raw, "pull request")
        for raw in _pages(reader, f"/repos/{repository}/pulls?state=open")
    ]


def open_issues(reader: JsonReader, repository: str, label: str) -> list[Item]:
    """Open issues with `label`; pull requests, which the issues listing also returns, left out."""
    listing = f"/repos/{repository}/issues?state=open&labels={quote(label)}"
    return [_item(raw, "issue") for raw in _pages(reader, listing) if "pull_request" not in raw]


def _pages(reader: JsonReader, path: str) -> Iterator[dict[str, Any]]:
    for page in range(1, MAX_PAGES + 1):
        listed = reader.read_json(f"{path}&per_page={PAGE}&page={page}")
        if not isinstance(listed, list):
            raise ServiceError(f"GitHub did not list {path}")
        yield from (raw for raw in listed if isinstance(raw, dict))
        if len(listed) < PAGE:
            return
    raise ServiceError(f"GitHub lists more than {PAGE * MAX_PAGES} items at {path}")


def _item(raw: dict[str, Any], what: str) -> Item:
    number = raw.get("number")
    if not isinstance(number, int):
        raise ServiceError(f"GitHub listed a {what} without a number")
    labels = tuple(
        str(label.get("name")) for label in raw.get("labels") or () if isinstance(label, dict)
    )
    return Item(
        number,
        str(raw.get("title") or ""),
        str(raw.get("body") or ""),
        instant(raw.get("created_at"), f"{what} #{number}"),
        str((raw.get("user") or {}).get("login") or ""),
        labels,
        str((raw.get("head") or {}).get("ref") or ""),
    )
