"""`lapse review` from an exported audit log, like the scheduled workflow runs it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from generator import cli
from generator.commands import adapters
from generator.commands import review as review_command
from tests.acceptance.cli import lapse
from tests.support import export_manifest, make_repo

UNTIL = "--until 2026-12-10T00:00:00Z --since 30d"
LOG = "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Fdata_access"


def entry(
    insert_id: str,
    at: str,
    principal: str = "alice@example.com",
    method: str = "cloudsql.instances.connect",
) -> dict[str, object]:
    resource = "projects/pci-prod-payments/instances/settlement-db"
    return {
        "insertId": insert_id,
        "logName": LOG,
        "timestamp": at,
        "resource": {"type": "cloudsql_database", "labels": {"project_id": "pci-prod-payments"}},
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "serviceName": "cloudsql.googleapis.com",
            "methodName": method,
            "resourceName": resource,
            "authenticationInfo": {"principalEmail": principal},
            "authorizationInfo": [{"resource": resource, "permission": method, "granted": True}],
        },
    }


def export(path: Path, entries: list[dict[str, object]], extra: str = "") -> Path:
    """An export of all the sample projects' logs for 2026, and its manifest saying so."""
    path.write_text("".join(json.dumps(e) + "\n" for e in entries) + extra)
    export_manifest(path)
    return path


def test_use_after_expiry_is_critical_and_reports_are_written(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    log = export(
        tmp_path / "audit.jsonl",
        [
            entry("in-window", "2026-12-01T10:00:00.123456789Z"),
            entry("after-expiry", "2026-12-01T15:00:00Z"),
            entry("someone-else", "2026-12-01T15:00:00Z", principal="mallory@example.com"),
        ],
    )

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert run.code == 1
    assert "inc-4512-settlement-batch: CRITICAL, complete" in run.out
    report = json.loads(
        (root / "reports/pci-prod/2026-12/inc-4512-settlement-batch.json").read_text()
    )
    findings = {(f["severity"], tuple(f["evidence"])) for f in report["findings"]}
    assert ("CRITICAL", ("after-expiry",)) in findings
    markdown = (root / "reports/pci-prod/2026-12/inc-4512-settlement-batch.md").read_text()
    assert "```mermaid\ngantt" in markdown
    assert (root / "reports/summary/2026-12-10.md").exists()

    again = lapse(f"review --source file:{log} {UNTIL}", cwd=root)
    # Not reviewed twice, but the findings on disk are shown again and still fail the run.
    assert again.code == 1
    assert "0 grants reviewed, 5 reports already on disk" in again.out
    assert (
        "inc-4512-settlement-batch: CRITICAL, complete -> "
        "reports/pci-prod/2026-12/inc-4512-settlement-batch.md (reported earlier" in again.out
    )
    assert "  CRITICAL binding-not-expired: " in again.out

    forced = lapse(f"review --source file:{log} {UNTIL} --force", cwd=root)
    assert forced.code == 1
    assert "5 grants reviewed, 0 reports already on disk" in forced.out


def test_incomplete_logs_say_so_and_exit_non_zero(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    log = export(
        tmp_path / "audit.jsonl",
        [entry("ok", "2026-12-01T10:00:00Z")],
        extra='{"insertId": "cut", "timestamp": "2026-12-01T11:00:00Z", "protoPa\n',
    )

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert run.code == 1
    assert "INCOMPLETE" in run.out
    report = (root / "reports/staging/2026-12/chg-1210-batch-runner.md").read_text()
    assert report.splitlines()[2].startswith("**INCOMPLETE**")


def test_missing_data_access_logs_make_the_review_incomplete(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    audit = root / "terraform/audit_logging.tf"
    text = audit.read_text()
    start = text.index('resource "google_project_iam_audit_config" "stg_payments_cloudsql"')
    end = text.index('resource "google_project_iam_audit_config" "stg_payments_iam"')
    audit.write_text(text[:start] + text[end:])
    log = export(tmp_path / "audit.jsonl", [])

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert run.code == 1
    assert "chg-1210-batch-runner: INFO, INCOMPLETE" in run.out
    report = (root / "reports/staging/2026-12/chg-1210-batch-runner.md").read_text()
    assert "Data Access logs are off at project stg-payments for cloudsql.googleapis.com" in report


@dataclass
class FakeGitHub:
    """Records the publishing calls; their idempotency is tested against GitHub's API."""

    commits: list[dict[str, bytes | None]] = field(default_factory=list)
    pulls: list[str] = field(default_factory=list)
    issues: dict[str, str] = field(default_factory=dict)

    def commit_changes(
        self,
        branch: str,
        base: str,
        files: dict[str, bytes | None],
        message: str,
        *,
        accumulate: bool = False,
    ) -> str:
        assert accumulate, "reports accumulate on the branch until merged"
        self.commits.append(files)
        return "0" * 40

    def ensure_pull_request(
        self, branch: str, base: str, title: str, body: str, labels: list[str]
    ) -> object:
        self.pulls.append(body)
        return type("Pull", (), {"html_url": "https://github.com/example-org/access/pull/7"})()

    def ensure_issue(self, key: str, title: str, body: str, labels: list[str]) -> int:
        self.issues.setdefault(key, body)
        return list(self.issues).index(key) + 1


def test_publishing_opens_one_pr_and_one_issue_per_deviating_grant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    log = export(tmp_path / "audit.jsonl", [entry("after-expiry", "2026-12-01T15:00:00Z")])
    fake = FakeGitHub()
    monkeypatch.setattr(adapters, "github", lambda: fake)

    code = cli.main(
        [
            "review",
            "--source",
            f"file:{log}",
            "--until",
            "2026-12-10T00:00:00Z",
            "--since",
            "30d",
            "--open-pr",
            "--open-issues",
            "--root",
            str(root),
        ]
    )

    assert code == 1
    (files,) = fake.commits
    assert "reports/pci-prod/2026-12/inc-4512-settlement-batch.md" in files
    assert "Post-access reviews of 5 grants" in fake.pulls[0]
    assert list(fake.issues) == ["review-inc-4512-settlement-batch"]
    assert "12.10" in fake.issues["review-inc-4512-settlement-batch"]


def test_progress_is_plain_lines_in_ci_and_a_bar_in_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [object()] * 100_001
    monkeypatch.setenv("CI", "true")
    assert list(review_command.track(iter(events))) == events  # type: ignore[arg-type]
    assert capsys.readouterr().err.splitlines() == [
        "read 100,000 matching events",
        "read 100,001 matching events",
    ]

    monkeypatch.delenv("CI")
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert list(review_command.track(iter(events[:3]))) == events[:3]  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert not any(line.startswith("read ") for line in err.splitlines()), "no log lines"


def test_a_medium_deviation_alone_fails_the_run_and_json_lists_the_findings(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    denied = entry("denied-read", "2026-12-01T10:00:00Z")
    denied["protoPayload"]["authorizationInfo"][0]["granted"] = False  # type: ignore[index]
    denied["protoPayload"]["status"] = {"code": 7}  # type: ignore[index]
    log = export(tmp_path / "audit.jsonl", [denied])

    run = lapse(f"review --source file:{log} {UNTIL} --format json", cwd=root)

    assert run.code == 1
    data = json.loads(run.out)
    (alice,) = [r for r in data["reviews"] if r["id"] == "inc-4512-settlement-batch"]
    assert alice["worst"] == "MEDIUM"
    assert [(f["severity"], f["evidence"]) for f in alice["findings"] if f["kind"] == "denied"] == [
        ("MEDIUM", ["denied-read"])
    ]
    books = data["accounting"]
    assert books["read"] == 1 and books["events"] == 1
    assert data["exit_code"] == 1

    text = lapse(f"review --source file:{log} {UNTIL} --force", cwd=root)
    assert "  MEDIUM denied: cloudsql.instances.connect on " in text.out
    assert "1 entry read = 1 of the reviewed people + 0 of other principals" in text.out


def test_a_malformed_archive_file_is_a_located_problem_and_the_rest_is_reviewed(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    broken = root / "archive/pci-prod/inc-4000-broken.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"requester: alice@example.com\nexpires: [2026-12-01\n")
    log = export(tmp_path / "audit.jsonl", [entry("ok", "2026-12-01T10:00:00Z")])

    run = lapse(f"review --source file:{log} {UNTIL}", cwd=root)

    assert run.code == 1
    assert "archive/pci-prod/inc-4000-broken.yaml:3:1: LAPSE101" in run.out
    assert "5 grants reviewed" in run.out


def test_a_review_read_in_parts_is_the_review_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole command, its export cut in three parts (each read by a process of its own) or
    read whole: the same run text, the same count of events read, the same reports."""
    from generator.review import shards

    entries = [
        entry(f"e-{n}", f"2026-12-01T{9 + n % 8:02d}:{n % 60:02d}:00Z", principal=who)
        for n in range(90)
        for who in ("alice@example.com", "svc@pci-prod-payments.iam.gserviceaccount.com")
    ]
    log = export(tmp_path / "audit.jsonl", entries, extra="not json\n")
    monkeypatch.setenv("CI", "true")
    outcomes = []
    taken: list[int] = []
    real_result = shards._Child.result

    def result(child: shards._Child) -> object:
        handed = real_result(child)
        taken.append(0 if handed is None else handed.events)
        return handed

    monkeypatch.setattr(shards._Child, "result", result)
    for name, parts in (("whole", 1), ("cut", 3)):
        monkeypatch.setattr(shards, "processors", lambda parts=parts: parts)
        monkeypatch.setattr("generator.review.file_parts.PART_BYTES", 1)
        root = make_repo(tmp_path / name, with_requests=True)
        code = cli.main(["review", "--source", f"file:{log}", *UNTIL.split(), "--root", str(root)])
        out, err = capsys.readouterr()
        reports = {
            str(p.relative_to(root)): p.read_text()
            for p in sorted((root / "reports").rglob("*"))
            if p.is_file()
        }
        outcomes.append((code, out.replace(str(root), "ROOT"), err.splitlines()[-1:], reports))
    assert outcomes[0] == outcomes[1]
    assert len(taken) == 2 and all(taken)  # both children's parts were taken
    assert outcomes[0][2] == ["read 90 matching events"]
    assert len(outcomes[0][3]) > 4
