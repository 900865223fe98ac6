"""The projects below a folder or organization, listed through Resource Manager v3.

A folder or organization grant is used in the projects below it: IAM inherits it down, and the
audit entry lands in the log of the project whose resource was touched, never in the folder's.
The policy's `hierarchy` names only the target's own projects, while the grant reaches every
project below; so the projects are listed from Google, each level with `folders.list` and
`projects.list` (`GET /v3/folders?parent=` and `GET /v3/projects?parent=`, direct children
only), which need `resourcemanager.folders.list` and `resourcemanager.projects.list` on the
parent (`roles/browser`). Projects and folders not ACTIVE are left out: their logs hold nothing
the grant did while they are being deleted, and `showDeleted` is never asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

from generator.core.errors import ServiceError
from generator.core.resource_names import CRM
from generator.core.retry import call_with_retry
from generator.gcp.iam_policies import TIMEOUT_SECONDS, HttpStatusError, is_transient

# A folder tree is at most 10 levels deep (Resource Manager's limit); one more is a loop.
MAX_DEPTH = 11
LIST_ROLE = "roles/browser"


@dataclass
class Descendants:
    """Project IDs below each parent asked for; (parent, why) for those that could not be listed."""

    projects: dict[str, list[str]] = field(default_factory=dict)  # parent -> project IDs
    gaps: list[tuple[str, str]] = field(default_factory=list)

    def all_projects(self) -> list[str]:
        return sorted({p for projects in self.projects.values() for p in projects})


class ProjectTree:
    """Lists folders and projects below a parent; a 403 or 404 becomes a named gap."""

    def __init__(
        self, session: requests.Session, *, sleep: Callable[[float], None] | None = None
    ) -> None:
        self._session = session
        self._sleep = sleep

    def descendants(self, parents: list[str]) -> Descendants:
        found = Descendants()
        for parent in sorted(set(parents)):
            try:
                found.projects[parent] = sorted(self._walk(parent))
            except ServiceError as exc:
                found.gaps.append((parent, listing_gap(parent, str(exc))))
        return found

    def _walk(self, parent: str) -> set[str]:
        projects: set[str] = set()
        level, seen = [parent], {parent}
        for _ in range(MAX_DEPTH):
            following = []
            for node in level:
                projects.update(
                    str(item.get("projectId", ""))
                    for item in self._list("projects", node)
                    if item.get("projectId")
                )
                for folder in self._list("folders", node):
                    name = str(folder.get("name", ""))
                    if name.startswith("folders/") and name not in seen:
                        seen.add(name)
                        following.append(name)
            if not following:
                return projects
            level = following
        raise ServiceError(f"the folders below {parent} are nested deeper than {MAX_DEPTH - 1}")

    def _list(self, collection: str, parent: str) -> Iterator[dict[str, Any]]:
        token = ""
        tokens: set[str] = set()
        while True:
            query = {"parent": parent, **({"pageToken": token} if token else {})}
            url = f"{CRM}/v3/{collection}?{urlencode(query)}"
            page = call_with_retry(
                lambda url=url: self._get(url),  # type: ignore[misc]
                what=f"listing the {collection} below {parent}",
                is_transient=is_transient,
                sleep=self._sleep,
            )
            items = page.get(collection)
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and item.get("state", "ACTIVE") == "ACTIVE":
                    yield item
            token = str(page.get("nextPageToken") or "")
            if not token:
                return
            if token in tokens:
                raise ServiceError(f"listing the {collection} below {parent} repeated a page")
            tokens.add(token)

    def _get(self, url: str) -> dict[str, Any]:
        response = self._session.get(url, timeout=TIMEOUT_SECONDS)
        if response.status_code >= 400:
            raise HttpStatusError(response.status_code, response.reason or "")
        body = response.json()
        return body if isinstance(body, dict) else {}


def listing_gap(parent: str, why: str) -> str:
    """The INCOMPLETE reason when the projects below `parent` cannot be listed, with the fix."""
    return (
        f"the projects below {parent} could not be listed ({why}), so the logs where its grant"
        f" was used were not read: give the review identity {LIST_ROLE} on {parent}"
        f" (resourcemanager.folders.list, resourcemanager.projects.list) and"
        f" roles/logging.privateLogViewer on {parent}, or review with --source"
        f" bigquery:PROJECT.DATASET from an aggregated sink: {sink_command(parent)}"
    )


def sink_command(parent: str) -> str:
    """The gcloud command that routes every audit entry below `parent` to one dataset."""
    kind, _, number = parent.partition("/")
    return (
        "`gcloud logging sinks create lapse-audit"
        " bigquery.googleapis.com/projects/PROJECT/datasets/DATASET"
        f" --{kind.removesuffix('s')}={number} --include-children"
        " --log-filter='logName:\"cloudaudit.googleapis.com\"'`"
    )
