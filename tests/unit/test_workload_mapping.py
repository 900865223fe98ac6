"""The provider's `attribute.context` mapping, evaluated as Google does: a CEL expression over the
token's claims (cel-python), on the claims GitHub's OIDC tokens carry for each kind of job."""

from __future__ import annotations

from typing import Any

import celpy
import pytest

from generator.gcp.workload_trust import ATTRIBUTE_MAPPING, CONTEXT_MAPPING
from tests.support import REPO

# Claims as GitHub documents them for an Actions OIDC token (the ones the mapping may read).
COMMON = {
    "repository": "octo-org/access",
    "repository_id": "123456789",
    "repository_owner_id": "4242",
    "workflow_ref": "octo-org/access/.github/workflows/apply.yml@refs/heads/main",
}


def context(claims: dict[str, Any]) -> str:
    env = celpy.Environment()
    program = env.program(env.compile(CONTEXT_MAPPING))
    return str(program.evaluate({"assertion": celpy.json_to_cel(claims)}))


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (
            {"event_name": "push", "ref": "refs/heads/main", "environment": "production"},
            "environment:production",
        ),
        ({"event_name": "pull_request", "ref": "refs/pull/7/merge"}, "pull_request"),
        ({"event_name": "schedule", "ref": "refs/heads/main"}, "ref:refs/heads/main"),
        ({"event_name": "push", "ref": "refs/heads/main"}, "ref:refs/heads/main"),
        # A pull request's job bound to an environment is that environment's, as GitHub's
        # default subject says too: the environment's own protection rules decide who runs it.
        (
            {"event_name": "pull_request", "ref": "refs/pull/7/merge", "environment": "plan"},
            "environment:plan",
        ),
    ],
)
def test_the_mapping_gives_the_context_githubs_default_subject_ends_with(
    claims: dict[str, str], expected: str
) -> None:
    assert context({**COMMON, **claims}) == expected


def test_a_branch_named_like_an_environment_does_not_read_as_one() -> None:
    claims = {**COMMON, "event_name": "push", "ref": "refs/heads/environment:production"}
    assert context(claims) == "ref:refs/heads/environment:production"
    assert context(claims) != "environment:production"


def test_the_setup_checklist_creates_the_provider_with_exactly_this_mapping() -> None:
    readme = (REPO / "docs" / "setup.md").read_text(encoding="utf-8")
    assert f'--attribute-mapping "{ATTRIBUTE_MAPPING}"' in readme
    mapped = dict(part.split("=", 1) for part in ATTRIBUTE_MAPPING.split(",attribute."))
    assert "context" in mapped and mapped["context"] == CONTEXT_MAPPING
