"""`lapse simulate --at` a past instant dates a window without `starts` as the review does."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.acceptance.cli import lapse
from tests.acceptance.test_safe_local_runs import checkout
from tests.support import place

FRANK = "requests/pci-prod/inc-4700-ledger-check.yaml"
FRANK_TEXT = (
    "requester: bob@example.com\n"
    "reason: Check the ledger totals after the settlement fix\n"
    "ticket: INC-4700\n"
    "expires: 2026-12-20T18:00:00Z\n"
    "grants:\n"
    "  - role: roles/cloudsql.client\n"
    "    project: pci-prod-payments\n"
)
MERGED = "2026-12-18T09:00:00+00:00"


def _commit_at(root: Path, when: str, message: str) -> None:
    dated = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    for args in (["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", *args], cwd=root, env=dated, check=True, capture_output=True)


def _bob(root: Path, at: str) -> list[dict[str, object]]:
    run = lapse(f"simulate --at {at} --format json", cwd=root)
    assert run.code == 0, run.err
    found = json.loads(run.out)["bindings"]
    return [b for b in found if "inc-4700" in str(b["source"])]


def test_a_window_without_starts_begins_at_its_merge_on_main(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    place(root, FRANK, FRANK_TEXT)
    assert lapse("render", cwd=root).code == 0
    _commit_at(root, MERGED, "Ledger check")

    before = _bob(root, "2026-12-15T12:00:00Z")
    after = _bob(root, "2026-12-18T10:00:00Z")

    assert [b["active"] for b in before] == [False]
    assert [b["active"] for b in after] == [True]
    assert after[0]["starts"] == "2026-12-18T09:00:00Z"


def test_a_request_main_does_not_hold_was_never_active_in_the_past(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    place(root, FRANK, FRANK_TEXT.replace("2026-12-20", "2099-12-20"))
    assert lapse("render", cwd=root).code == 0  # rendered today, not committed

    past = _bob(root, "2026-11-01T12:00:00Z")

    assert [b["active"] for b in past] == [False]


def test_an_archived_window_without_starts_is_dated_from_its_merge(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    place(root, FRANK, FRANK_TEXT)
    assert lapse("render", cwd=root).code == 0
    _commit_at(root, MERGED, "Ledger check")
    assert lapse("expire --at 2026-12-21T00:00:00Z", cwd=root).code == 0
    assert (root / "archive/pci-prod/2026-12/inc-4700-ledger-check.yaml").is_file()

    before = _bob(root, "2026-12-15T12:00:00Z")
    during = _bob(root, "2026-12-19T12:00:00Z")

    assert [b["active"] for b in before] == []  # archived bindings are listed while active
    assert [b["active"] for b in during] == [True]


def test_an_unrendered_request_is_named(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    place(root, FRANK, FRANK_TEXT)

    run = lapse("simulate --at 2026-12-19T12:00:00Z", cwd=root)

    assert run.code == 0, run.err
    assert f"{FRANK}: no grant file in terraform/grants/" in run.err
    assert "run `lapse render`" in run.err
