"""Item: who had what then (archive included), a person's requests, and ending a grant early."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.acceptance.cli import lapse
from tests.acceptance.test_safe_local_runs import checkout, git
from tests.support import place

DURING_ALICE = "--at 2026-12-01T10:00:00Z"
CAROL = "requests/pci-prod/inc-4533-chargeback-query.yaml"
BEFORE_CAROL = "--at 2026-12-03T15:00:00Z"  # carol's window: 2026-12-03T14:00Z to 17:00Z


def test_simulate_in_the_past_counts_archived_requests(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    assert lapse("expire --at 2026-12-02T00:00:00Z", cwd=root).code == 0
    assert not (root / "terraform/grants/pci-prod.inc-4512-settlement-batch.tf").exists()

    everyone = lapse(f"simulate {DURING_ALICE} --format json", cwd=root)
    alice = lapse(f"simulate {DURING_ALICE} --principal alice-ng", cwd=root)

    held = [b for b in json.loads(everyone.out)["bindings"] if b["active"]]
    assert {(b["member"], b["source"]) for b in held} >= {
        ("user:alice@example.com", "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml")
    }
    assert alice.code == 0
    assert "2 of 2 active at 2026-12-01T10:00:00Z" in alice.out
    assert "roles/storage.objectViewer" in alice.out


def test_simulate_says_when_a_person_holds_nothing(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    run = lapse(f"simulate {DURING_ALICE} --principal grace-hopkins", cwd=root)
    assert run.code == 0
    assert "user:grace@example.com holds no binding" in run.err


def test_status_mine_lists_pending_active_in_review_and_recently_expired(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    assert lapse("expire --at 2026-12-02T00:00:00Z", cwd=root).code == 0
    git(root, "config", "user.email", "alice@example.com")
    git(root, "switch", "-q", "-c", "access/inc-4600")
    place(
        root,
        "requests/pci-prod/inc-4600-next.yaml",
        "requester: alice@example.com\nreason: Investigate failed settlement batch again\n"
        "ticket: INC-4600\nstarts: 2026-12-02T09:00:00Z\nexpires: 2026-12-02T10:00:00Z\n"
        "grants:\n  - role: roles/cloudsql.client\n    project: pci-prod-payments\n",
    )

    run = lapse("status --mine --at 2026-12-02T08:00:00Z", cwd=root)

    assert run.code == 0, run.err
    rows = {line.split("  ")[0]: line for line in run.out.splitlines()[2:-1]}
    assert "archive/pci-prod/2026-12/inc-4512-settlement-batch.yaml" in rows["expired"]
    assert "requests/pci-prod/inc-4600-next.yaml" in rows["in review"]
    assert "bob@example.com" not in run.out
    assert run.out.splitlines()[-1] == "2 requests for alice@example.com at 2026-12-02T08:00:00Z"


def test_withdraw_archives_like_expiry_and_records_why(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    git(root, "config", "user.email", "carol@example.com")

    run = lapse(
        f"withdraw inc-4533-chargeback-query {BEFORE_CAROL} "
        "--reason 'Chargeback totals reconciled'",
        cwd=root,
    )

    assert run.code == 0, run.err
    assert "switched to a new branch withdraw/inc-4533-chargeback-query" in run.out
    assert f"  delete {CAROL}" in run.out
    changed = git(root, "show", "--no-renames", "--name-status", "--format=", "HEAD").split("\n")
    assert sorted(line for line in changed if line) == [
        "A\tarchive/pci-prod/2026-12/inc-4533-chargeback-query.yaml",
        f"D\t{CAROL}",
        "D\tterraform/grants/pci-prod.inc-4533-chargeback-query.tf",
    ]
    message = git(root, "log", "-1", "--format=%B")
    assert "Reason: Chargeback totals reconciled" in message
    assert "Withdrawn by: carol@example.com at 2026-12-03T15:00:00Z" in message
    archived = git(root, "show", "HEAD:archive/pci-prod/2026-12/inc-4533-chargeback-query.yaml")
    assert archived == git(root, "show", f"main:{CAROL}"), "archived byte for byte"
    assert git(root, "rev-list", "--count", "main").strip() == "1", "main untouched"
    assert lapse("render --check", cwd=root).code == 0


def test_withdraw_refuses_what_it_cannot_end(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    reason = "--reason 'Chargeback totals reconciled'"

    typo = lapse(f"withdraw inc-4533-chargeback-qurey {BEFORE_CAROL} {reason}", cwd=root)
    ended = lapse(
        f"withdraw inc-4533-chargeback-query --at 2026-12-04T00:00:00Z {reason}", cwd=root
    )
    terse = lapse(f"withdraw inc-4533-chargeback-query {BEFORE_CAROL} --reason done", cwd=root)

    assert typo.code == ended.code == terse.code == 2
    assert "did you mean 'inc-4533-chargeback-query'?" in typo.err
    assert "already expired" in ended.err and "lapse expire" in ended.err
    assert "--reason" in terse.err
    assert (
        subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
        ).stdout
        == ""
    )
