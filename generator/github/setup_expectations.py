"""What lapse expects of a repository's GitHub settings: the ruleset, the labels, and how to
read the rules GitHub reports (rulesets and classic branch protection alike)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from generator.core.checklist import CheckItem, cannot_tell, ok, wrong

GITHUB_ACTIONS_APP_ID = 15368  # pins a required check to GitHub Actions


@dataclass(frozen=True, slots=True)
class Label:
    name: str
    color: str
    description: str


# The labels lapse and its workflows put on what they open; issue de-duplication searches by
# them, so they must exist. The workflows create them too (`gh label create --force`).
LABELS = (
    Label("lapse-expire", "0e8a16", "Archives expired access requests (opened by lapse expire)"),
    Label("lapse-review", "1d76db", "Post-access review reports and their incidents"),
    Label("lapse-drift", "fbca04", "Live IAM differs from the repository (lapse drift)"),
    Label("lapse-emergency", "d93f0b", "Emergency access for the target's approvers to sign off"),
    Label(
        "security-incident",
        "b60205",
        "A deviation from approved access: handle as a security incident",
    ),
    Label("lapse-alert", "b60205", "A lapse workflow failed: production access may be out of date"),
)


def ruleset_body(checks: Sequence[str]) -> dict[str, Any]:
    """The ruleset for the default branch, in the shape `POST /repos/{o}/{r}/rulesets` accepts."""
    return {
        "name": "lapse-main",
        "target": "branch",
        "enforcement": "active",
        "bypass_actors": [],
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
        "rules": [
            {"type": "deletion"},
            {"type": "non_fast_forward"},
            {
                "type": "pull_request",
                "parameters": {
                    "required_approving_review_count": 1,
                    "dismiss_stale_reviews_on_push": True,
                    "require_code_owner_review": True,
                    "require_last_push_approval": True,
                    "required_review_thread_resolution": True,
                },
            },
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": True,
                    "required_status_checks": [
                        {"context": check, "integration_id": GITHUB_ACTIONS_APP_ID}
                        for check in checks
                    ],
                },
            },
        ],
    }


def merge_methods(repository: str, settings: dict[str, Any]) -> CheckItem:
    """Merge commits and squash merges only: `verify-plan` finds a request's pull request by the
    commit that merged it, and a rebase merge writes commits no pull request merged."""
    subject = "pull requests merge as merge commits or squashes, never rebased"
    fix = (
        f"gh api -X PATCH repos/{repository} -F allow_rebase_merge=false -F allow_merge_commit=true"
        "  (docs/setup.md, 12. GitHub Actions settings)"
    )
    known = [settings.get(key) for key in ("allow_rebase_merge", "allow_merge_commit")]
    if any(value is None for value in known) or settings.get("allow_squash_merge") is None:
        return cannot_tell(
            "merging", subject, "the merge settings are not visible to this token", fix
        )
    if settings["allow_rebase_merge"]:
        return wrong("merging", subject, "rebase merging is allowed", fix)
    if not (settings["allow_merge_commit"] or settings["allow_squash_merge"]):
        return wrong("merging", subject, "neither merge commits nor squash merges are allowed", fix)
    return ok("merging", subject)
