"""The generated CODEOWNERS section, judged with GitHub's last-match-wins rule."""

from __future__ import annotations

import subprocess
from pathlib import Path

from generator.checks.validate import validate_repo
from generator.core.model import Policy
from generator.core.repo import Repo
from generator.github import codeowners
from tests.acceptance.cli import lapse
from tests.support import REPO, make_repo, place


def _policy() -> Policy:
    policy = validate_repo(Repo.at(REPO), now=None).policy
    assert policy is not None
    return policy


def test_committed_codeowners_is_current_and_nothing_overrides_it() -> None:
    text = (REPO / ".github" / "CODEOWNERS").read_text()
    policy = _policy()
    assert codeowners.updated(text, policy) == text
    assert codeowners.shadowed(text, policy) == []


def test_each_target_folder_belongs_to_its_approvers_by_last_match() -> None:
    policy = _policy()
    text = codeowners.updated("* @example-org/everyone\n/requests/ @example-org/sre\n", policy)
    assert codeowners.owners_of(text, "requests/pci-prod/inc-1.yaml")[1] == (
        "@example-org/pci-access-approvers",
    )
    assert codeowners.owners_of(text, "reports/staging/2026-12/x.md")[1] == (
        "@example-org/platform-leads",
    )
    assert codeowners.owners_of(text, "policy/policy.yaml")[1] == ("@example-org/security",)
    assert codeowners.owners_of(text, "terraform/audit_logging.tf")[1] == ("@example-org/security",)
    # archive/ is append-only and the security owners': no target's approvers own a record.
    for archived in (
        "archive/pci-prod/inc-1.yaml",
        "archive/pci-prod/2026-11/inc-1.yaml",
        "archive/pci-prod/emergency/2026-11/inc-1.yaml",
        "archive/staging/2026-11/chg-1.yaml",
    ):
        assert codeowners.owners_of(text, archived)[1] == ("@example-org/security",), archived
    # A request's rendered grant file travels with it: its target's approvers own it.
    assert codeowners.owners_of(text, "terraform/grants/pci-prod.inc-1.tf")[1] == (
        "@example-org/pci-access-approvers",
    )
    assert codeowners.owners_of(text, "terraform/grants/staging.chg-1.tf")[1] == (
        "@example-org/platform-leads",
    )
    for path in (
        "terraform/grants/_module.tf",
        "terraform/grants/inc-1.tf",
        "terraform/grants/pci-prod.inc-1.tf.json",
        "terraform/grants/pci-prod.inc-1_override.tf.json",
        "setup.py",
    ):
        assert codeowners.owners_of(text, path)[1] == ("@example-org/security",), path


def test_every_path_has_an_owner_and_the_catch_all_comes_first() -> None:
    """A root setup.py, a pip/ folder, pyproject.toml, a hand-written grant: none unowned."""
    policy = _policy()
    text = codeowners.section(policy)
    assert text.splitlines()[1] == "* @example-org/security"
    for path in (
        "setup.py",
        "pip/__init__.py",
        "pyproject.toml",
        "terraform/grants/evil.tf",
        "docs/x.md",
        "requests/README.md",
        "requests/unknown-target/x.yaml",
    ):
        assert codeowners.owners_of(text, path)[1] == ("@example-org/security",), path


def test_a_narrow_line_after_the_section_is_caught() -> None:
    policy = _policy()
    text = codeowners.updated("", policy) + "/requests/pci-prod/inc-9.yaml @mallory\n"
    taken = codeowners.shadowed(text, policy)
    assert any("/requests/pci-prod/inc-9.yaml follows the generated section" in t for t in taken)


def test_check_refuses_a_narrow_line_after_the_section(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, ".github/CODEOWNERS", "")
    assert lapse("codeowners", cwd=root).code == 0
    with (root / ".github/CODEOWNERS").open("a") as handle:
        handle.write("/policy/policy.yaml @mallory\n")
    run = lapse("codeowners --check", cwd=root)
    assert run.code == 1
    assert "line 13: /policy/policy.yaml follows the generated section" in run.err


def test_a_later_line_that_steals_a_folder_is_caught() -> None:
    policy = _policy()
    text = codeowners.updated("", policy) + "*.yaml @mallory\n"
    taken = codeowners.shadowed(text, policy)
    assert any(
        t.startswith("requests/pci-prod/probe.yaml: line ") and "@mallory" in t for t in taken
    )


def test_lines_outside_the_section_survive_an_update() -> None:
    policy = _policy()
    before = "# ours\n/docs/ @example-org/writers\n"
    first = codeowners.updated(before, policy)
    assert first.startswith(before)
    changed = first.replace("@example-org/platform-leads", "@example-org/old-team")
    assert codeowners.updated(changed, policy) == first


def test_check_exits_1_with_a_diff_when_stale(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, ".github/CODEOWNERS", "/docs/ @example-org/writers\n")
    stale = lapse("codeowners --check", cwd=root)
    assert stale.code == 1
    assert "+/requests/pci-prod/ @example-org/pci-access-approvers" in stale.out

    assert lapse("codeowners", cwd=root).code == 0
    assert lapse("codeowners --check", cwd=root).code == 0
    assert (root / ".github/CODEOWNERS").read_text().startswith("/docs/ @example-org/writers\n")


def test_every_committed_path_has_its_owner() -> None:
    """Invariant 9: target folders and a target's rendered grant files belong to the target's
    approvers, every other path to the security owners."""
    policy = _policy()
    text = (REPO / ".github" / "CODEOWNERS").read_text()
    listed = subprocess.run(
        ["git", "ls-files"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split()
    assert listed
    for path in listed:
        top, _, rest = path.partition("/")
        target = rest.split("/", 1)[0]
        grant_target = path.removeprefix("terraform/grants/").split(".", 1)[0]
        if top in codeowners.TARGET_FOLDERS and target in policy.targets:
            wanted = policy.targets[target].approvers
        elif path.startswith("terraform/grants/") and grant_target in policy.targets:
            wanted = policy.targets[grant_target].approvers
        else:
            wanted = policy.security_owners
        found = codeowners.owners_of(text, path)
        assert found is not None and found[1] == wanted, path


def test_no_line_above_the_section_gives_the_archive_to_a_target() -> None:
    policy = _policy()
    above = "/archive/pci-prod/emergency/ @example-org/payments-oncall\n"
    text = codeowners.updated(above, policy)
    found = codeowners.owners_of(text, "archive/pci-prod/emergency/2026-11/inc-7001.yaml")
    assert found is not None and found[1] == ("@example-org/security",)
    assert codeowners.shadowed(text, policy) == []
    below = codeowners.updated("", policy) + above
    assert any("follows the generated section" in t for t in codeowners.shadowed(below, policy))
