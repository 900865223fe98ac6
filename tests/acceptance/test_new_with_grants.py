"""Item: `lapse new` writes several grants, tries without writing, and says what comes next."""

from __future__ import annotations

import os
import pty
import select
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from tests.acceptance.cli import lapse
from tests.support import make_repo, place

AT = "--at 2026-11-29T12:00:00Z"
ALICE = (
    f"new {AT} --target pci-prod --ticket INC-4512 --requester alice@example.com "
    "--reason 'Investigate failed settlement batch for merchant 4411' "
)
TWO = (
    "--grant roles/cloudsql.client=project:pci-prod-payments "
    "--grant roles/storage.objectViewer=bucket:settlement-exports "
)
WRITTEN = "requests/pci-prod/inc-4512-investigate-failed-settlement-batch.yaml"


def test_two_grants_in_one_request(tmp_path: Path) -> None:
    root = make_repo(tmp_path)

    run = lapse(ALICE + TWO + "--duration 1h30m", cwd=root, env={"TZ": "Asia/Kolkata"})

    assert run.code == 0, run.err
    data = yaml.safe_load((root / WRITTEN).read_text())
    assert data["grants"] == [
        {"role": "roles/cloudsql.client", "project": "pci-prod-payments"},
        {"role": "roles/storage.objectViewer", "bucket": "settlement-exports"},
    ]
    assert "alice@example.com, 2 grants on pci-prod:" in run.out
    assert "until 2026-11-29T13:30:00Z (2026-11-29 19:00:00 IST), at most 1h30m" in run.out
    assert lapse(f"validate {AT} {WRITTEN}", cwd=root).code == 0


def test_the_window_is_in_whole_seconds(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    line = ALICE.replace(AT, "--at 2026-11-29T12:00:00.654321Z") + TWO + "--duration 2h"

    run = lapse(line, cwd=root)

    assert run.code == 0, run.err
    assert "expires: 2026-11-29T14:00:00Z\n" in (root / WRITTEN).read_text()
    assert ".654321" not in run.out


def test_dry_run_prints_the_file_and_writes_nothing(tmp_path: Path) -> None:
    root = make_repo(tmp_path)

    run = lapse(ALICE + TWO + "--starts +1h --expires +3h --dry-run", cwd=root)

    assert run.code == 0, run.err
    assert f"would write {WRITTEN}:" in run.out
    assert "starts: 2026-11-29T13:00:00Z\nexpires: 2026-11-29T15:00:00Z\n" in run.out
    assert "nothing written (--dry-run)" in run.out
    assert not list((root / "requests").rglob("*.yaml"))


def test_next_steps_name_render_commit_push_and_the_pull_request(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_gh = bin_dir / "gh"
    fake_gh.write_text("#!/bin/sh\nexit 0\n")
    fake_gh.chmod(fake_gh.stat().st_mode | stat.S_IEXEC)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"

    with_gh = lapse(ALICE + TWO + "--duration 1h", cwd=root, env={"PATH": path})

    steps = with_gh.out.split("next steps", 1)[1]
    for step in (
        "lapse render",
        f"git add {WRITTEN} terraform/grants/pci-prod.{WRITTEN.rsplit('/', 1)[1][:-5]}.tf",
        "git commit -m",
        "git push",
    ):
        assert step in steps
    assert "gh pr create" in steps
    assert steps.index("lapse render") < steps.index("git add") < steps.index("git push")


def test_the_person_limit_blames_the_new_request(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    for n in range(3):  # alice's three active requests, all starting later than the new one
        place(
            root,
            f"requests/pci-prod/inc-450{n}-earlier.yaml",
            "requester: alice@example.com\nreason: Investigate failed settlement batch\n"
            f"ticket: INC-450{n}\nstarts: 2026-11-29T2{n}:00:00Z\nexpires: 2026-11-29T2{n}:30:00Z\n"
            "grants:\n  - role: roles/cloudsql.client\n    project: pci-prod-payments\n",
        )

    run = lapse(ALICE + TWO + "--duration 1h", cwd=root)

    assert run.code == 1
    assert f"{WRITTEN}:2:12: error [LAPSE240]" in run.err
    assert '  2 | requester: "alice@example.com"' in run.err
    assert "earlier.yaml" not in run.err
    assert not (root / WRITTEN).exists()
    assert lapse(f"validate {AT}", cwd=root).code == 0, "nothing left behind"


def test_a_repeated_role_flag_is_refused_not_dropped(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    run = lapse(
        ALICE + "--role roles/cloudsql.client --role roles/storage.objectViewer "
        "--project pci-prod-payments --duration 1h",
        cwd=root,
    )
    assert run.code == 2
    assert "--grant" in run.err
    assert not list((root / "requests").rglob("*.yaml"))


def test_a_malformed_grant_is_a_usage_error(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    run = lapse(ALICE + "--grant roles/cloudsql.client=projekt:x --duration 1h", cwd=root)
    assert run.code == 2
    assert "'projekt' is not a resource kind" in run.err


def test_a_terminal_is_asked_for_grants(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", *shlex.split(ALICE + "--duration 1h")],
        cwd=root,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    os.write(leader, b"roles/cloudsql.client=project:pci-prod-payments\nnot a grant\n")
    os.write(leader, b"roles/storage.objectViewer=bucket:settlement-exports\n\n")
    seen = b""
    while select.select([leader], [], [], 30)[0]:  # a prompt that never ends fails, not hangs
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    process.wait(timeout=60)
    os.close(leader)

    assert process.returncode == 0, seen.decode()
    assert b"grant 1 as ROLE=KIND:NAME" in seen
    assert b"'not a grant' is not a grant" in seen
    grants = yaml.safe_load((root / WRITTEN).read_text())["grants"]
    assert [g["role"] for g in grants] == ["roles/cloudsql.client", "roles/storage.objectViewer"]
