"""The `sub` claim GitHub puts in this repository's OIDC tokens, as its settings say.

`GET /repos/{owner}/{repo}/actions/oidc/customization/sub` answers `use_default`,
`include_claim_keys`, `use_immutable_subject` and `sub_claim_prefix`. Repositories created,
renamed or transferred since mid-2026 issue immutable subjects, `repo:OWNER@ID/REPO@ID:…`, so a
Google binding on `repo:OWNER/REPO:…` stops matching. The identities docs/setup.md sets up trust an
attribute that does not depend on the subject (`attribute.context`); doctor's Google side
compares what they trust with the prefix found here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.core.checklist import CheckItem, cannot_tell, ok
from generator.github.setup_reading import SECTIONS, SetupReader, Unreadable


@dataclass(frozen=True, slots=True)
class Subject:
    item: CheckItem
    prefix: str | None  # the `sub` before `:context`; None when it cannot be known
    note: str  # why the prefix is unknown, for the items that would need it


def immutable_prefix(full: str, repo: dict[str, Any]) -> str | None:
    """`repo:OWNER@OWNER_ID/REPO@REPO_ID`, from the repository's own ids."""
    owner, _, name = full.partition("/")
    owner_id, repo_id = (repo.get("owner") or {}).get("id"), repo.get("id")
    if not isinstance(owner_id, int) or not isinstance(repo_id, int):
        return None
    return f"repo:{owner}@{owner_id}/{name}@{repo_id}"


def oidc_subject(read: SetupReader, full: str, repo: dict[str, Any]) -> Subject:
    area, subject = "Actions", "OIDC token subject"
    found = read.get(f"/repos/{full}/actions/oidc/customization/sub")
    if isinstance(found, Unreadable) or not isinstance(found, dict):
        reason = found.reason if isinstance(found, Unreadable) else "GitHub did not answer it"
        fix = f"run lapse doctor as {SECTIONS['doctor']} says"
        return Subject(cannot_tell(area, subject, reason, fix), None, reason)
    if found.get("use_default") is False:
        keys = ", ".join(str(key) for key in found.get("include_claim_keys") or [])
        note = f"the subject is customized ({keys}), not GitHub's default"
        prefix = found.get("sub_claim_prefix")
        shown = f"{note}; prefix {prefix}" if isinstance(prefix, str) else note
        return Subject(ok(area, subject, shown), _text(prefix), note)
    prefix = _text(found.get("sub_claim_prefix"))
    if prefix is None:
        immutable = found.get("use_immutable_subject") is True
        prefix = immutable_prefix(full, repo) if immutable else f"repo:{full}"
    if prefix is None:
        note = "the subject is immutable, but the repository's ids are not visible"
        return Subject(ok(area, subject, note), None, note)
    return Subject(ok(area, subject, f"GitHub's default, {prefix}:CONTEXT"), prefix, "")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
