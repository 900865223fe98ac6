"""`lapse doctor` on MFA (PCI DSS 8.4.2): every person of the policy with 2-Step Verification
enforced and enrolled (Admin SDK Directory API), and the GitHub organization requiring 2FA.

Each failure names the person or organization and its fix; what the token may not read is
"cannot tell", never ok.
"""

# ruff: noqa: F811 - test_doctor's fixtures, used by name

from __future__ import annotations

from pathlib import Path

import pytest

from tests import setup_world as w
from tests.acceptance.test_doctor import doctor, fix_after, line_of, root, world  # noqa: F401

ALICE = "alice@example.com (@alice-ng) signs in with 2-Step Verification"
ORG_2FA = "example-org requires two-factor authentication"


def test_every_person_enforced_and_enrolled_and_the_organization_requiring_2fa_is_ok(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = doctor(root, capsys)

    assert code == 0, out
    for email in w.PEOPLE:
        assert line_of(out, f"{email} (@").split()[0] == "ok"
    assert line_of(out, ORG_2FA).split()[0] == "ok"
    assert ("GET", f"{w.DIRECTORY}/users/grace@example.com") in world.calls


def test_a_person_not_enforced_is_named_with_the_fix(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(
        f"{w.DIRECTORY}/users/alice@example.com",
        w.directory_user("alice@example.com", isEnforcedIn2Sv=False, orgUnitPath="/Contractors"),
    )

    code, out, _ = doctor(root, capsys)

    assert code == 1
    block = fix_after(out, ALICE)
    assert block.split()[0] == "wrong", block
    assert "not enforced for alice@example.com" in block
    assert "organizational unit /Contractors" in block
    assert "Enforcement 'On'" in block
    assert line_of(out, "bob@example.com (@").split()[0] == "ok"


def test_a_person_enforced_but_not_enrolled_is_named_with_the_fix(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(
        f"{w.DIRECTORY}/users/alice@example.com",
        w.directory_user("alice@example.com", isEnrolledIn2Sv=False),
    )

    code, out, _ = doctor(root, capsys)

    assert code == 1
    block = fix_after(out, ALICE)
    assert block.split()[0] == "wrong", block
    assert "has not enrolled" in block
    assert "myaccount.google.com/signinoptions/two-step-verification" in block


def test_a_person_the_directory_does_not_know_is_wrong(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.set("GET", f"{w.DIRECTORY}/users/alice@example.com", w.google_error(404, "NOT_FOUND"))

    code, out, _ = doctor(root, capsys)

    assert code == 1
    block = fix_after(out, ALICE)
    assert block.split()[0] == "wrong", block
    assert "no user of the directory" in block


def test_fields_left_out_of_the_answer_are_not_taken_as_enforced(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Google leaves out fields the caller may not see: absent is not true.
    world.get(f"{w.DIRECTORY}/users/alice@example.com", {"primaryEmail": "alice@example.com"})

    code, out, _ = doctor(root, capsys)

    assert code == 1
    assert line_of(out, ALICE).split()[0] == "wrong"


def test_without_the_directory_scope_every_person_cannot_be_told(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for email in w.PEOPLE:
        world.set(
            "GET",
            f"{w.DIRECTORY}/users/{email}",
            w.google_error(403, "PERMISSION_DENIED"),
        )

    code, out, _ = doctor(root, capsys)

    assert code == 1
    for email in w.PEOPLE:
        assert line_of(out, f"{email} (@").split()[:2] == ["cannot", "tell"]
    block = fix_after(out, ALICE)
    assert "admin.directory.user.readonly" in block
    asked = [c for c in world.calls if c[1].startswith(f"{w.DIRECTORY}/users/")]
    assert len(asked) == 1, "one refusal is enough to know"


def test_an_organization_without_the_2fa_requirement_is_wrong_with_its_fix(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.get(
        f"api.github.com/orgs/{w.OWNER}", w.organization(two_factor_requirement_enabled=False)
    )

    code, out, _ = doctor(root, capsys)

    assert code == 1
    block = fix_after(out, ORG_2FA)
    assert block.split()[0] == "wrong", block
    assert "organizations/example-org/settings/authentication_security" in block


def test_an_organization_answer_without_the_field_cannot_be_told(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GitHub names the requirement only to the organization's owners.
    body = w.organization()
    del body["two_factor_requirement_enabled"]
    world.get(f"api.github.com/orgs/{w.OWNER}", body)

    code, out, _ = doctor(root, capsys)

    assert code == 1
    block = fix_after(out, ORG_2FA)
    assert block.split()[:2] == ["cannot", "tell"], block
    assert "run lapse doctor as an owner of example-org" in block


def test_a_403_on_the_organization_cannot_be_told(
    world: w.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.set(
        "GET",
        f"api.github.com/orgs/{w.OWNER}",
        (403, {"message": "Resource not accessible by integration", "documentation_url": "x"}),
    )

    code, out, _ = doctor(root, capsys)

    assert code == 1
    assert line_of(out, ORG_2FA).split()[:2] == ["cannot", "tell"]
