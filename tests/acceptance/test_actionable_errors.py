"""Item: errors people can act on: credentials, the line with a caret, did-you-mean, explain."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.cli import lapse
from tests.support import make_repo, place

AT = "--at 2026-11-29T12:00:00Z"
NO_GOOGLE = {
    "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json",
    "NO_GCE_CHECK": "True",  # google-auth: do not probe the metadata server
    "CLOUDSDK_CONFIG": "/nonexistent/gcloud",
}
LOGIN = "gcloud auth application-default login"


@pytest.mark.parametrize(
    "line",
    [
        "roles sync --role roles/cloudsql.client",
        "review --source logging --project pci-prod-payments --at 2026-12-10T00:00:00Z --since 30d",
    ],
)
def test_missing_google_credentials_name_the_login_command(tmp_path: Path, line: str) -> None:
    root = make_repo(tmp_path, with_requests=True)
    run = lapse(line, cwd=root, env={**NO_GOOGLE, "HOME": str(tmp_path)})
    assert run.code == 2, run.err
    assert LOGIN in run.err
    assert "internal error" not in run.err and "DefaultCredentialsError" not in run.err


TYPOS = (
    "requester: alice@exmaple.com\n"
    "reason: Investigate failed settlement batch for merchant 4411\n"
    "ticket: INC-4512\n"
    "starts: 2026-11-30T08:00:00Z\n"
    "expires: 2026-11-30T10:00:00Z\n"
    "grants:\n"
    "  - role: roles/cloudsql.clien\n"
    "    project: pci-prod-paymnts\n"
)


def test_the_source_line_with_a_caret_under_the_column(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "requests/pci-prod/inc-4512-typos.yaml", TYPOS)

    run = lapse(f"validate {AT}", cwd=root)

    lines = run.out.splitlines()
    at = lines.index(
        "requests/pci-prod/inc-4512-typos.yaml:1:12: error [LAPSE201] "
        "'alice@exmaple.com' is not a person in policy/policy.yaml"
    )
    assert lines[at + 1] == "  1 | requester: alice@exmaple.com"
    assert lines[at + 2] == "    |            ^"


def test_did_you_mean_for_people_roles_resources_and_targets(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(root, "requests/pci-prod/inc-4512-typos.yaml", TYPOS)
    place(root, "requests/pci-prd/inc-4513-target.yaml", TYPOS)

    run = lapse(f"validate {AT}", cwd=root)

    assert run.code == 1
    assert "hint: did you mean 'alice@example.com'?" in run.out
    assert "hint: did you mean 'roles/cloudsql.client'?" in run.out
    assert "hint: did you mean 'pci-prod-payments'?" in run.out
    assert "hint: did you mean 'pci-prod'?" in run.out


def test_simulate_did_you_mean_for_a_person(tmp_path: Path) -> None:
    root = make_repo(tmp_path, with_requests=True)
    run = lapse("simulate --principal alice-gn", cwd=root)
    assert run.code == 2
    assert "'alice-gn' matches nobody" in run.err and "did you mean 'alice-ng'?" in run.err


def test_explain_prints_the_meaning_and_the_fix() -> None:
    run = lapse("explain LAPSE302", cwd=Path.cwd())
    assert run.code == 0
    assert run.out.startswith("LAPSE302 (error; checks each request against its target)")
    assert "The window is no longer than the target's max_duration." in run.out
    assert "Fix: Ask for less time" in run.out


def test_explain_an_unknown_rule() -> None:
    run = lapse("explain LAPSE3020", cwd=Path.cwd())
    assert run.code == 2
    assert "did you mean 'LAPSE302'?" in run.err


def test_every_rule_has_a_fix_to_explain() -> None:
    from generator.checks.rules import load_all

    rules = load_all()
    assert rules
    assert all(r.fix.strip() for r in rules.values()), [r.id for r in rules.values() if not r.fix]


def test_no_suggestion_for_a_stranger_who_shares_the_domain(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    place(
        root, "requests/pci-prod/inc-4512-typos.yaml", TYPOS.replace("alice@exmaple", "zed@example")
    )
    run = lapse(f"validate {AT}", cwd=root)
    assert "'zed@example.com' is not a person" in run.out
    assert "did you mean 'erin@example.com'" not in run.out


def test_a_long_line_is_quoted_around_its_column(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    long_reason = "x" * 600
    place(
        root,
        "requests/pci-prod/inc-4512-long.yaml",
        TYPOS.replace("alice@exmaple", "alice@example").replace(
            "Investigate failed settlement batch for merchant 4411", long_reason
        ),
    )
    run = lapse(f"validate {AT}", cwd=root)
    quoted = [line for line in run.out.splitlines() if line.startswith("  2 | ")]
    assert quoted and all(len(line) <= 170 for line in quoted)


def test_explain_knows_every_rule() -> None:
    from generator import cli
    from generator.checks.rules import load_all

    assert all(cli.main(["explain", rule_id]) == 0 for rule_id in load_all())
