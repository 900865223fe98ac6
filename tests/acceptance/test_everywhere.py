"""Item: lapse behaves the same from any folder, says as much as asked, in colour for people."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.acceptance.cli import lapse
from tests.support import make_repo, place

AT = "--at 2026-11-29T12:00:00Z"
BAD = (
    "requester: zed@example.com\n"
    "reason: Investigate failed settlement batch for merchant 4411\n"
    "ticket: INC-4512\n"
    "starts: 2026-11-30T08:00:00Z\n"
    "expires: 2026-11-30T10:00:00Z\n"
    "grants:\n"
    "  - role: roles/cloudsql.client\n"
    "    project: pci-prod-payments\n"
)


def test_from_a_subfolder_like_git(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    deep = root / "requests" / "pci-prod"

    whole = lapse(f"validate {AT}", cwd=deep)
    named = lapse(f"validate {AT} inc-4512-settlement-batch.yaml", cwd=deep)

    assert whole.code == 0, whole.err
    assert whole.out.endswith("7 files checked: no errors (0 warnings, 0 notes)\n")
    assert named.code == 0 and "1 file checked: no errors" in named.out


def test_dash_c_runs_as_if_started_there(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    run = lapse(f"-C {root / 'terraform'} validate {AT}", cwd=tmp_path)
    assert run.code == 0, run.err
    assert "7 files checked" in run.out


def test_outside_any_repository_says_so(tmp_path: Path) -> None:
    run = lapse("validate", cwd=tmp_path)
    assert run.code == 2
    assert "is not inside a lapse repository" in run.err and "-C PATH" in run.err


def test_quiet_prints_problems_only_and_verbose_each_file(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    place(root, "requests/pci-prod/inc-4599-bad.yaml", BAD)

    quiet = lapse(f"-q validate {AT}", cwd=root)
    verbose = lapse(f"-v validate {AT}", cwd=root)

    assert quiet.code == verbose.code == 1
    assert quiet.out.splitlines()[0].startswith("requests/pci-prod/inc-4599-bad.yaml:1:12: error")
    assert "checked" not in quiet.out
    assert "checked requests/pci-prod/inc-4599-bad.yaml" in verbose.out
    assert "checked policy/policy.yaml" in verbose.out
    assert lapse(f"-q -v validate {AT}", cwd=root).code == 2


def test_plurals() -> None:
    from generator.checks.problem_formats import to_text
    from generator.core.model import Problem

    one = Problem("requests/t/a.yaml", 1, 1, "LAPSE201", "error", "x")
    warn = Problem("requests/t/a.yaml", 2, 1, "LAPSE201", "warning", "y")
    assert to_text([one], checked=1).endswith(
        "1 file checked: 1 error in 1 file (0 warnings, 0 notes)\n"
    )
    assert to_text([warn], checked=2).endswith("2 files checked: no errors (1 warning, 0 notes)\n")


def _in_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run lapse with stdout on a pseudo-terminal, as a person sees it."""
    leader, follower = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=cwd,
        env=env,
        stdout=follower,
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert done.returncode == 1, done.stderr
    return b"".join(chunks).decode()


def test_colour_in_a_terminal_none_with_no_color_or_in_ci(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "access", with_requests=True)
    place(root, "requests/pci-prod/inc-4599-bad.yaml", BAD)
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI", "GITHUB_ACTIONS")}
    args = ["validate", "--at", "2026-11-29T12:00:00Z"]

    coloured = _in_a_terminal(args, root, base)
    no_color = _in_a_terminal(args, root, {**base, "NO_COLOR": "1"})
    in_ci = _in_a_terminal(args, root, {**base, "CI": "true"})
    piped = lapse(f"validate {AT}", cwd=root)

    assert "\x1b[31m" in coloured and "error" in coloured
    for plain in (no_color, in_ci, piped.out):
        assert "\x1b[" not in plain
        assert "error [LAPSE201]" in plain


def test_help_lists_environment_variables() -> None:
    run = lapse("--help", cwd=Path.cwd())
    assert run.code == 0
    for name in ("NO_COLOR", "GITHUB_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "LAPSE_DEBUG", "TZ"):
        assert name in run.out
