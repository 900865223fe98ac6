"""Reading GitHub settings for `lapse doctor` so that what it could not read is never "ok".

A 403 is an answer about the token, not about the setting, and a listing read one page only
says nothing about the rest: both become `Unreadable`, which the checks report as "cannot
tell". Every listing is read page by page until a short page, and checked against its
`total_count` where GitHub sends one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from generator.core.errors import ServiceError
from generator.github.records import status_of

PER_PAGE = 100  # GitHub's maximum for every listing doctor reads
MAX_PAGES = 50  # 5,000 items: past that doctor says it cannot tell rather than read on

# Where each part of the setup is described, for the fixes doctor prints.
SETUP = "docs/setup.md"
SECTIONS = {
    "owners": f"{SETUP}, 3. Code owners",
    "branch": f"{SETUP}, 13. Protect the default branch",
    "actions": f"{SETUP}, 12. GitHub Actions settings",
    "environments": f"{SETUP}, 14. Environments",
    "app": f"{SETUP}, 11. The GitHub App",
    "wif": f"{SETUP}, 5. Workload Identity Federation",
    "identities": f"{SETUP}, 6. Service accounts and their roles",
    "mfa": f"{SETUP}, 8. Multi-factor authentication for every grantee",
    "doctor": f"{SETUP}, 15. Check everything with `lapse doctor`",
}


class JsonReader(Protocol):
    def read_json(self, path: str, *, accept: str | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Unreadable:
    """What doctor could not read, and why; a check given one reports "cannot tell"."""

    reason: str


def forbidden(path: str) -> Unreadable:
    return Unreadable(f"GitHub answers 403 to GET {path}: this token may not read it")


@dataclass(frozen=True, slots=True)
class SetupReader:
    reader: JsonReader

    def get(self, path: str, *, accept: str | None = None) -> Any:
        """The JSON at `path`; None when GitHub says 404; Unreadable when it says 403."""
        try:
            return self.reader.read_json(path, accept=accept)
        except ServiceError as error:
            if status_of(error.__cause__) == 403:
                return forbidden(path)
            raise

    def listing(self, path: str, key: str | None = None) -> list[Any] | Unreadable | None:
        """Every item of a paginated listing (`key` names the list in an object answer).

        None when GitHub says 404 on the first page.
        """
        items: list[Any] = []
        total: int | None = None
        joint = "&" if "?" in path else "?"
        for page in range(1, MAX_PAGES + 1):
            found = self.get(f"{path}{joint}per_page={PER_PAGE}&page={page}")
            if found is None and page == 1:
                return None
            if isinstance(found, Unreadable):
                return found
            if key is not None and isinstance(found, dict):
                count = found.get("total_count")
                total = count if isinstance(count, int) else total
                found = found.get(key)
            if not isinstance(found, list):
                return Unreadable(f"GET {path} page {page} is not the listing GitHub documents")
            items += found
            if len(found) < PER_PAGE:
                if total is not None and total != len(items):
                    return Unreadable(
                        f"GET {path} says {total} items but its pages hold {len(items)}"
                    )
                return items
        return Unreadable(f"GET {path} has more than {MAX_PAGES} pages of {PER_PAGE}")
