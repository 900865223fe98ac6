"""Item: no file under archive/ or reports/ makes a command fail; each is named where it goes wrong.

Every command that reads the tree runs over one repository holding the whole hostile corpus
(tests/corpus/hostile/, its README says what each file tries), next to the sample requests,
which each command still handles. Services are faked at the HTTP layer, as elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import responses

from generator import cli
from generator.commands import adapters
from tests.acceptance.cli import lapse
from tests.plans import git, plan
from tests.support import export_manifest, make_repo, place, serve_empty_policies

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "hostile"
ARCHIVED = sorted(p.name for p in (CORPUS / "archive").iterdir())
REPORTS = sorted(p.name for p in (CORPUS / "reports").iterdir())
MONTH = "archive/pci-prod/2026-12"
EMERGENCY = "archive/pci-prod/emergency/2026-12"
# A few are also placed where requests live, next to the samples.
REQUESTED = ["binary.yaml", "far-offset.yaml", "note.yaml", "year-one.yaml"]
# Where the sample grants' reports go: each holds one hostile report.
REPORT_PATHS = [
    "reports/pci-prod/2026-12/inc-4512-settlement-batch.json",
    "reports/pci-prod/2026-12/inc-4530-secret-metadata.json",
    "reports/pci-prod/2026-12/inc-4533-chargeback-query.json",
    "reports/staging/2026-12/chg-1207-folder-review.json",
    "reports/staging/2026-12/chg-1210-batch-runner.json",
]
AT = "2026-12-10T00:00:00Z"
GITHUB = "https://api.github.com:443/repos/example-org/access"


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    code: int  # 1 findings; 2 where the command refuses a repository that does not validate
    emergency_only: bool = False  # reads only archive/<target>/emergency/*.yaml
    reads_reports: bool = False
    reads_requests: bool = True


COMMANDS = {
    "validate": Command(("validate", "--at", AT), 1),
    "render": Command(("render",), 1),
    "render-check": Command(("render", "--check"), 1),
    "status": Command(("status", "--at", AT), 1),
    "simulate": Command(("simulate", "--at", "2026-12-01T10:00:00Z"), 1, reads_requests=False),
    "review": Command(
        ("review", "--source", "file:{log}", "--until", AT, "--since", "30d"),
        1,
        reads_reports=True,
    ),
    "drift": Command(("drift", "--at", "2026-12-01T10:00:00Z"), 1),
    "expire": Command(("expire", "--dry-run", "--at", AT), 2),
    "withdraw": Command(
        (
            "withdraw",
            "inc-4533-chargeback-query",
            "--reason",
            "the incident was closed early",
            "--dry-run",
            "--at",
            "2026-12-02T00:00:00Z",
        ),
        2,
    ),
    "emergency-check": Command(("emergency", "check", "--at", AT), 1, emergency_only=True),
    "verify-approvals": Command(("verify-approvals", "--commit", "{head}"), 1, emergency_only=True),
    "verify-plan": Command(("verify-plan", "{plan}"), 1, emergency_only=True),
    "recertify": Command(("recertify", "--dry-run", "--at", AT), 1, reads_reports=True),
    "evidence": Command(
        ("evidence", "--from", "2026-11-01", "--to", AT, "{out}"), 1, reads_reports=True
    ),
}


def hostile_repo(root: Path) -> Path:
    make_repo(root, with_requests=True)
    assert cli.main(["render", "--root", str(root)]) == 0
    for name in ARCHIVED:
        data = (CORPUS / "archive" / name).read_bytes()
        place(root, f"{MONTH}/{name}", data)
        place(root, f"{EMERGENCY}/{name}", data)
    for name in REQUESTED:
        place(root, f"requests/pci-prod/{name}", (CORPUS / "archive" / name).read_bytes())
    for name, path in zip(REPORTS, REPORT_PATHS, strict=True):
        place(root, path, (CORPUS / "reports" / name).read_bytes())
    git(root, "init", "-q", "-b", "main")  # as merged: the files are on main
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a hostile archive")
    return root


def named(path: str, text: str) -> bool:
    """Whether `text` names `path` at a line and column, with a rule id."""
    where = rf"{re.escape(path)}:\d+:\d+: (?:(?:error|warning|info) \[)?LAPSE\d{{3}}"
    return re.search(where, text) is not None


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_names_every_hostile_file_and_goes_on(
    name: str,
    tmp_path: Path,
    http: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    command = COMMANDS[name]
    root = hostile_repo(tmp_path / "repo")
    log = tmp_path / "audit.jsonl"
    log.write_text("")
    export_manifest(log)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan())
    head = git(root, "rev-parse", "HEAD")  # the merge verify-approvals is asked about
    monkeypatch.setattr(adapters, "build_session", requests.Session)
    if name == "drift":
        serve_empty_policies(http)
    if name == "verify-approvals":
        monkeypatch.setenv("GITHUB_TOKEN", "t")
        monkeypatch.setenv("GITHUB_REPOSITORY", "example-org/access")
        http.add(responses.GET, f"{GITHUB}/commits/{head}/pulls", json=[])
    capsys.readouterr()
    out = tmp_path / "pack"
    argv = [arg.format(log=log, plan=plan_file, head=head, out=out) for arg in command.argv]

    code = cli.main([*argv, "--root", str(root)])

    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text and "internal error" not in text, text
    assert code == command.code, text
    if command.emergency_only:  # the emergency records: `.yaml` files (validate refuses others)
        read = [f"{EMERGENCY}/{n}" for n in ARCHIVED if n.endswith(".yaml")]
    else:
        read = [f"{folder}/{n}" for folder in (MONTH, EMERGENCY) for n in ARCHIVED]
    if command.reads_requests and not command.emergency_only:
        read += [f"requests/pci-prod/{n}" for n in REQUESTED]
    assert [path for path in read if not named(path, text)] == [], text
    if command.reads_reports:
        assert [path for path in REPORT_PATHS if not named(path, text)] == [], text
    if name == "review":  # each grant whose report is unreadable is reviewed again
        assert "5 grants reviewed, 0 reports already on disk" in text


def test_the_corpus_says_what_each_file_tries() -> None:
    readme = (CORPUS / "README.md").read_text()
    listed = set(re.findall(r"^- `([^`]+)`", readme, re.MULTILINE))
    assert listed == {f"archive/{n}" for n in ARCHIVED} | {f"reports/{n}" for n in REPORTS}


# --- the reproductions, as a person runs them ---------------------------------------------

REVIEW = f"review --source file:{{log}} --until {AT} --since 30d"
FAR = (
    "requester: alice@example.com\n"
    "reason: Investigate failed settlement batch for merchant 4411\n"
    "ticket: INC-4600\n"
    "starts: 2026-12-01T09:00:00Z\n"
    "expires: 9999-12-31T23:59:59-23:59\n"
    "grants:\n"
    "  - role: roles/cloudsql.client\n"
    "    project: pci-prod-payments\n"
)


def _sample_repo(tmp_path: Path) -> tuple[Path, Path]:
    root = make_repo(tmp_path / "repo", with_requests=True)
    assert lapse("render", cwd=root).code == 0
    log = tmp_path / "audit.jsonl"
    log.write_text("")
    export_manifest(log)
    return root, log


@pytest.mark.parametrize(
    "line",
    [
        "validate --at 2026-11-29T12:00:00Z",
        "status --at 2026-11-29T12:00:00Z",
        "simulate --at 2026-11-29T12:00:00Z",
        REVIEW,
    ],
)
def test_a_stray_note_in_the_archive_is_named_by_every_command(tmp_path: Path, line: str) -> None:
    root, log = _sample_repo(tmp_path)
    place(
        root, "archive/pci-prod/2026-11/_note.yaml", "note: hello\nexpires: 2026-11-20T00:00:00Z\n"
    )

    run = lapse(line.format(log=log), cwd=root)

    text = run.out + run.err
    assert run.code == 1, text
    assert named("archive/pci-prod/2026-11/_note.yaml", text), text
    assert "unknown key 'note'" in text
    if line == REVIEW:
        assert "5 grants reviewed" in text  # the rest is still reviewed


@pytest.mark.parametrize(
    "line",
    [
        "validate --at 2026-11-29T12:00:00Z",
        "status --at 2026-11-29T12:00:00Z",
        "simulate --at 2026-11-29T12:00:00Z",
        REVIEW,
        "render",
    ],
)
def test_an_archived_far_offset_is_a_located_problem(tmp_path: Path, line: str) -> None:
    root, log = _sample_repo(tmp_path)
    place(root, "archive/pci-prod/2026-12/inc-4600-far.yaml", FAR)

    run = lapse(line.format(log=log), cwd=root)

    text = run.out + run.err
    assert "internal error" not in text and "OverflowError" not in text, text
    assert run.code == 1, text
    assert re.search(r"archive/pci-prod/2026-12/inc-4600-far\.yaml:5:10: (error \[)?LAPSE305", text)
    assert "outside the years lapse computes with" in text
