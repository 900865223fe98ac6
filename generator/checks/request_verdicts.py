"""The request rules at the cost of what changed, in a run that does not read the clock.

Every request rule judges one request by its file (path and bytes), the policy, the roles
lock, the audit coverage and, when the run reads the clock, the present; `lapse render` does
not. A pull request changes one request file of thousands, so in such a run a file that every
rule passed is not judged again while nothing of that changes: the local cache
(`generator.core.cache`) keeps, in one table per version of lapse and of its parsers, per
request schema, policy (its file and schema), roles lock and audit coverage, the key of each
such file (its path and bytes, as `readings` keys it). A file any rule raised a problem for is
judged on every run, and a run that reads the clock judges every file, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator.checks import readings
from generator.core import cache
from generator.core.repo import Repo
from generator.terraform.audit_coverage import AuditCoverage, fingerprint

KIND = "request-verdicts"
PASSED = "passed"


@dataclass(slots=True)
class Verdicts:
    """One run's table: the keys of the files every rule passed, as read and as found."""

    name: str | None  # None: nothing is kept (the run reads the clock, or no store)
    before: dict[str, str]
    found: dict[str, str] = field(default_factory=dict)

    def passed(self, key: str) -> bool:
        """Whether every rule passed the file with this key, under this table's inputs."""
        if self.name is None or key not in self.before:
            return False
        self.found[key] = PASSED
        return True

    def judged(self, key: str, clean: bool) -> None:
        """Keep the key of a file the rules just judged, when they raised nothing."""
        if self.name is not None and clean:
            self.found[key] = PASSED

    def save(self) -> None:
        """Write the table back when the files it passes are others than before."""
        if self.name is not None and self.found != self.before:
            cache.write_table(KIND, self.name, self.found)


def open_verdicts(repo: Repo, audit: AuditCoverage | None, *, reads_clock: bool) -> Verdicts:
    """The table for this repository's policy, roles lock and audit coverage."""
    if reads_clock or cache.folder() is None:
        return Verdicts(None, {})
    parts: list[str | bytes] = [
        cache.code_digest(*readings.CODE),
        *_contents(repo.policy),
        *_contents(repo.schema("policy")),
        *_contents(repo.schema("access-request")),
        *_contents(repo.roles_lock),
        "audit" if audit is not None else "no audit",
        fingerprint(audit) if audit is not None else b"",
    ]
    name = cache.digest(*parts)
    return Verdicts(name, cache.read_table(KIND, name))


def _contents(path: Path) -> tuple[str, bytes]:
    """A file's bytes, and whether it could be read (an unreadable file is not an empty one)."""
    try:
        return "read", path.read_bytes()
    except OSError as exc:
        return f"unreadable: {type(exc).__name__}", b""
