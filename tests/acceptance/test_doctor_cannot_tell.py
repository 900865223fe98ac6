"""`lapse doctor` where GitHub shows less than everything, and where the subject format changed.

What doctor could not read (a 403, a ruleset without `bypass_actors`, a listing whose pages do
not add up) is "cannot tell" and exit 1, never "ok"; every listing is read to its last page; an
immutable OIDC subject against identities bound on the old subject is named with its fix.
"""

# ruff: noqa: F811 - test_doctor's fixtures, used by name

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import setup_world as w
from tests.acceptance.test_doctor import doctor, fix_after, line_of, root, world  # noqa: F401

IMMUTABLE = {
    "use_default": True,
    "use_immutable_subject": True,
    "sub_claim_prefix": f"repo:{w.OWNER}@96123483/{w.NAME}@731642993",
}
FORBIDDEN = (
    403,
    {
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest",
        "status": "403",
    },
)


def bind_on_subjects(world: w.World, prefix: str) -> None:
    """The identities as docs/setup.md bound them before: on `attribute.subject/PREFIX:CONTEXT`."""
    for name, contexts in (
        ("plan", ["pull_request", "environment:lapse-automation"]),
        ("apply", ["environment:production"]),
        ("review", ["environment:lapse-automation"]),
    ):
        members = [
            f"principalSet://iam.googleapis.com/{w.POOL}/attribute.subject/{prefix}:{context}"
            for context in contexts
        ]
        world.policy(
            f"serviceAccounts/{w.IDENTITIES[name]}",
            w.policy([{"role": "roles/iam.workloadIdentityUser", "members": members}]),
        )


def test_an_immutable_subject_against_the_old_binding_is_named_with_its_fix(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(f"{w.REPO}/actions/oidc/customization/sub", IMMUTABLE)
    bind_on_subjects(world, f"repo:{w.OWNER}/{w.NAME}")

    code, out, _ = doctor(root, capsys)

    assert code == 1
    block = fix_after(out, "lapse-apply trusts environment:production")
    assert block.split()[0] == "wrong", block
    issued = "repo:example-org@96123483/access@731642993:environment:production"
    assert f"GitHub issues {issued}" in block
    assert "attribute.context/environment:production" in block
    assert "docs/setup.md, 6. Service accounts and their roles" in block


def test_an_immutable_subject_with_the_readme_binding_is_ok(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(f"{w.REPO}/actions/oidc/customization/sub", IMMUTABLE)

    code, out, _ = doctor(root, capsys)

    assert code == 0, out
    assert "lapse-apply trusts environment:production: bound on attribute.context" in out


def test_the_immutable_prefix_is_built_from_the_ids_when_github_sends_none(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(
        f"{w.REPO}/actions/oidc/customization/sub",
        {"use_default": True, "use_immutable_subject": True},
    )
    bind_on_subjects(world, f"repo:{w.OWNER}/{w.NAME}")

    code, out, _ = doctor(root, capsys)

    assert code == 1
    assert "GitHub issues repo:example-org@96123483/access@731642993:pull_request" in out


def test_a_binding_on_the_current_subject_still_counts(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(f"{w.REPO}/actions/oidc/customization/sub", IMMUTABLE)
    bind_on_subjects(world, IMMUTABLE["sub_claim_prefix"])

    code, out, _ = doctor(root, capsys)

    assert code == 0, out


def test_a_customized_subject_with_the_old_binding_cannot_be_told(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(
        f"{w.REPO}/actions/oidc/customization/sub",
        {"use_default": False, "include_claim_keys": ["repository_owner_id", "context"]},
    )
    bind_on_subjects(world, f"repo:{w.OWNER}/{w.NAME}")

    code, out, _ = doctor(root, capsys)

    assert code == 1
    assert line_of(out, "lapse-review trusts environment:lapse-automation").split()[0] == "cannot"


def test_a_provider_that_does_not_map_the_context_is_wrong(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = world.answers[("GET", f"{w.IAM}/{w.PROVIDER}")]
    assert isinstance(answer, tuple)
    answer[1]["attributeMapping"]["attribute.context"] = "assertion.environment"

    code, out, _ = doctor(root, capsys)

    assert code == 1
    block = fix_after(out, "Workload Identity provider")
    assert block.split()[0] == "wrong"
    assert "--attribute-mapping" in block
    assert "docs/setup.md, 5. Workload Identity Federation" in block


def test_a_ruleset_without_bypass_actors_cannot_be_told(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hidden = {k: v for k, v in w.ruleset(42, "lapse-main", "Repository").items()}
    del hidden["bypass_actors"]
    world.get(f"{w.REPO}/rulesets/42", hidden)

    code, out, _ = doctor(root, capsys)

    assert code == 1
    line = line_of(out, "nobody bypasses them")
    assert line.split()[:2] == ["cannot", "tell"], line
    assert "ruleset 42" in line and "bypass_actors" in line


def test_a_403_on_the_rules_cannot_be_told_and_is_not_ok(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.set("GET", f"{w.REPO}/rules/branches/main", FORBIDDEN)

    code, out, _ = doctor(root, capsys)

    assert code == 1
    for subject in ("code-owner review required", "required check `plan`", "nobody bypasses"):
        assert line_of(out, subject).split()[0] == "cannot", subject


def test_a_403_on_the_app_installations_names_the_owner_token(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.set("GET", f"api.github.com/orgs/{w.OWNER}/installations", FORBIDDEN)

    code, out, _ = doctor(root, capsys)

    assert code == 1
    block = fix_after(out, "GitHub App permissions")
    assert block.split()[0] == "cannot" and "organization owner" in block


def _variables(names: list[str], total: int) -> dict[str, Any]:
    return {
        "total_count": total,
        "variables": [
            {
                "name": name,
                "value": w.VARIABLES.get(name, "x"),
                "created_at": "2026-11-01T10:00:00Z",
                "updated_at": "2026-11-01T10:00:00Z",
            }
            for name in names
        ],
    }


def test_every_page_of_a_listing_is_read(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    filler = [f"OTHER_{i:03}" for i in range(100)]
    total = len(filler) + len(w.VARIABLES)
    world.get(f"{w.REPO}/actions/variables", _variables(filler, total))
    world.get(f"{w.REPO}/actions/variables?page=2", _variables(list(w.VARIABLES), total))

    code, out, _ = doctor(root, capsys)

    assert code == 0, out
    assert ("GET", f"{w.REPO}/actions/variables?page=2") in world.calls


def test_a_listing_whose_pages_do_not_add_up_cannot_be_told(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(f"{w.REPO}/actions/variables", _variables(["TF_STATE_BUCKET"], 6))

    code, out, _ = doctor(root, capsys)

    assert code == 1
    line = line_of(out, "variables: WIF_PROVIDER")
    assert line.split()[0] == "cannot" and "says 6 items but its pages hold 1" in line


@pytest.mark.parametrize(
    ("parameters", "subject"),
    [
        ({"require_last_push_approval": False}, "the last pusher cannot approve their own push"),
        ({"required_approving_review_count": 0}, "at least one approval required"),
    ],
)
def test_the_pull_request_rules_the_setup_asks_for_are_checked(
    parameters: dict[str, Any],
    subject: str,
    world: w.World,
    root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world.get(
        f"{w.REPO}/rules/branches/main",
        [w.pull_request_rule(**parameters), w.checks_rule("validate", "plan", "ci")],
    )

    code, out, _ = doctor(root, capsys)

    assert code == 1
    assert line_of(out, subject).split()[0] == "wrong"
    assert "docs/setup.md, 13. Protect the default branch" in out


def test_checks_must_be_strict_and_bound_to_github_actions(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = w.checks_rule("validate", "plan", "ci")
    rule["parameters"]["strict_required_status_checks_policy"] = False
    del rule["parameters"]["required_status_checks"][1]["integration_id"]  # any source
    world.get(f"{w.REPO}/rules/branches/main", [w.pull_request_rule(), rule])

    code, out, _ = doctor(root, capsys)

    assert code == 1
    assert line_of(out, "up-to-date branch").split()[0] == "wrong"
    assert "not bound to GitHub Actions" in line_of(out, "required check `plan`")
    assert line_of(out, "required check `ci`").split()[0] == "ok"


def test_the_emergency_team_is_checked_like_every_code_owner(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(
        f"api.github.com/orgs/{w.OWNER}/teams/payments-oncall",
        w.shape("team", slug="payments-oncall", name="oncall", privacy="secret"),
    )

    code, out, _ = doctor(root, capsys)

    assert code == 1
    assert line_of(out, "@example-org/payments-oncall").split()[0] == "wrong"


@pytest.mark.parametrize(
    ("condition", "said"),
    [
        ("assertion.repository_id=='731642993'", None),
        ("assertion.repository_id == \"731642993\" && assertion.ref == 'refs/heads/main'", None),
        (
            "assertion.repository_id=='731205566'",
            "pins repository id 731205566, but this repository's id is 731642993",
        ),
        ("assertion.repository_id=='731642993' || true", "has an alternative"),
        (
            "assertion.repository_id=='731642993' ? true : true",
            "has an alternative",
        ),
        ("assertion.repository=='example-org/access'", "does not pin assertion.repository_id"),
        ("assertion.repository_id!='1'", "does not pin assertion.repository_id"),
        (
            "assertion.repository_id=='731642993' && assertion.repository_id=='1'",
            "pins repository id 1, 731642993",
        ),
    ],
    ids=["readme", "spaced", "other id", "or", "ternary", "by name", "negated", "two ids"],
)
def test_the_provider_condition_must_pin_this_repositorys_id(
    world: w.World,
    root: Path,
    capsys: pytest.CaptureFixture[str],
    condition: str,
    said: str | None,
) -> None:
    answer = world.answers[("GET", f"{w.IAM}/{w.PROVIDER}")]
    assert isinstance(answer, tuple)
    answer[1]["attributeCondition"] = condition

    code, out, _ = doctor(root, capsys)

    block = fix_after(out, "Workload Identity provider")
    if said is None:
        assert code == 0, out
        assert block.split()[0] == "ok", block
    else:
        assert code == 1
        assert block.split()[0] == "wrong" and said in block, block
        assert "--attribute-condition \"assertion.repository_id=='731642993'\"" in block, block
