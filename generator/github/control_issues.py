"""The incident issues `lapse watch` keeps: one open issue per failing control, found again by
the marker in its body, updated while the failure lasts and closed on recovery.

Unlike `GitHubClient.ensure_issue`, only an *open* issue counts: a control that fails again
after a closed incident gets a new one, each failure its own start and end (PCI DSS 10.7.3).
Only issues lapse's own identity opened count, as there: anyone may write a marker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from generator.github.client import GitHubClient
from generator.github.records import hidden_marker, with_marker
from generator.github.watch_reads import Item, open_issues


class ControlIssues(GitHubClient):
    """GitHubClient plus the writes the watch makes, each a retried, idempotent unit."""

    def own_login(self) -> str:
        return self._own_login()

    def open_issues(self, label: str) -> list[Item]:
        """Open issues with `label`, whoever opened them (setting a label takes triage access)."""
        return open_issues(self, self._full_name, label)

    def own_open_issues(self, label: str) -> list[Item]:
        """Open issues with `label` that lapse's own identity opened."""
        own = self._own_login().lower()
        return [item for item in self.open_issues(label) if item.author.lower() == own]

    def open_once(self, key: str, title: str, body: str, labels: Sequence[str]) -> int:
        """The open issue for `key`, opened unless lapse has one open. The listing is read again
        inside the retried unit: a create that timed out after it succeeded is found, not
        repeated."""
        marker = hidden_marker(key)
        text = with_marker(body, marker)

        def unit() -> int:
            for item in self.own_open_issues(labels[0]):
                if marker in item.body:
                    return item.number
            made = self._send(
                "POST",
                f"/repos/{self._full_name}/issues",
                {
                    "title": title,
                    "body": text,
                    "labels": list(labels),
                },
            )
            return int(made["number"])

        return self._call(f"opening one issue for {key} in {self._full_name}", unit)

    def set_body(self, number: int, key: str, body: str) -> None:
        text = with_marker(body, hidden_marker(key))
        path = f"/repos/{self._full_name}/issues/{number}"
        self._call(f"PATCH {path}", lambda: self._send("PATCH", path, {"body": text}))

    def close(self, number: int, key: str, comment: str) -> None:
        """Comment (once, by its marker) and close issue #`number` as completed."""
        self.comment_once(number, f"{key}:closed", comment, own=True)
        path = f"/repos/{self._full_name}/issues/{number}"
        closing = {"state": "closed", "state_reason": "completed"}
        self._call(f"PATCH {path}", lambda: self._send("PATCH", path, closing))

    def _send(self, method: str, path: str, body: dict[str, Any]) -> Any:
        return self._github.requester.requestJsonAndCheck(method, path, input=body)[1]
