"""`lapse review --source bigquery:...`: each read's price on stderr, and a limit that refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import responses
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from generator import cli
from generator.commands import adapters
from tests.support import make_repo
from tests.unit.review.bigquery_rows import (
    DATASET,
    dry_run,
    dry_run_response,
    probe_response,
    query_response,
    scans,
    serve,
)

WINDOW = ["--until", "2026-12-10T00:00:00Z", "--since", "30d"]
SOURCE = ["--source", f"bigquery:{DATASET}"]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    def client(project: str) -> Any:
        return bigquery.Client(project=project, credentials=AnonymousCredentials())

    monkeypatch.setattr(adapters, "bigquery_client", client)
    return make_repo(tmp_path / "repo", with_requests=True)


def review(root: Path, *options: str) -> int:
    return cli.main(["review", *SOURCE, *WINDOW, *options, "--root", str(root)])


def test_the_read_is_priced_on_stderr_before_it_runs(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve(http, query_response(), scanned=52_428_800)
    code = review(repo, "--format", "json")
    out, err = capsys.readouterr()
    assert code in (0, 1)  # findings or none: the read ran
    assert "will scan 52,428,800 bytes (52.4 MB)" in err
    assert "52,428,800" not in out  # stdout stays the run's JSON
    assert "maximumBytesBilled" not in scans(http)[0]


def test_max_bytes_refuses_a_read_above_it_and_writes_nothing(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    dry_run(http, probe_response())
    dry_run(http, dry_run_response(300_000_000_000))
    code = review(repo, "--max-bytes", "200000000000")
    _, err = capsys.readouterr()
    assert code == 2
    assert "lapse: error: BigQuery would scan 300,000,000,000 bytes (300 GB) reading" in err
    assert "above --max-bytes 200,000,000,000: nothing was read or billed" in err
    assert not (repo / "reports").exists()
    assert scans(http) == []


def test_the_policy_sets_the_limit_and_bigquery_is_told_it(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = repo / "policy" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nreview:\n  max_bytes: 104857600\n")
    serve(http, query_response(), scanned=52_428_800)
    assert review(repo) in (0, 1)
    assert "(limit the policy's review.max_bytes 104,857,600)" in capsys.readouterr().err
    assert scans(http)[0]["maximumBytesBilled"] == "104857600"


def test_a_limit_written_as_a_whole_float_is_sent_as_an_integer(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = repo / "policy" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nreview:\n  max_bytes: 104857600.0\n")
    serve(http, query_response(), scanned=52_428_800)
    assert review(repo) in (0, 1)
    assert "(limit the policy's review.max_bytes 104,857,600)" in capsys.readouterr().err
    assert scans(http)[0]["maximumBytesBilled"] == "104857600"


def test_the_flag_overrides_the_policy(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = repo / "policy" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nreview:\n  max_bytes: 104857600\n")
    dry_run(http, probe_response())
    dry_run(http, dry_run_response(52_428_800))
    assert review(repo, "--max-bytes", "20971520") == 2
    assert "above --max-bytes 20,971,520" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--max-bytes", "1000"], "1000 is not in the range 10485760<=x<=9223372036854775807"),
        (["--max-bytes", "-5"], "is not in the range 10485760<=x<=9223372036854775807"),
        (["--max-bytes", "1e12"], "'1e12' is not a valid integer"),
        (["--max-bytes", str(2**63)], "is not in the range 10485760<=x<=9223372036854775807"),
    ],
)
def test_a_limit_bigquery_could_never_meet_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str], options: list[str], says: str
) -> None:
    assert review(repo, *options) == 2
    assert says in capsys.readouterr().err


def test_max_bytes_with_another_source_is_a_usage_error(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "audit.jsonl"
    log.write_text("")
    argv = ["review", "--source", f"file:{log}", *WINDOW, "--max-bytes", "20971520"]
    assert cli.main([*argv, "--root", str(repo)]) == 2
    assert "use it with --source bigquery:PROJECT.DATASET" in capsys.readouterr().err


def test_a_policy_limit_below_what_bigquery_bills_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = repo / "policy" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nreview:\n  max_bytes: 1000\n")
    assert review(repo) == 1
    shown = capsys.readouterr()
    assert "policy/policy.yaml:" in shown.out + shown.err
    assert "[LAPSE120] review.max_bytes: 1000 is less than the minimum of 10485760" in (
        shown.out + shown.err
    )


def test_max_bytes_with_another_source_is_refused_with_nothing_due(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path / "empty")
    argv = ["review", "--source", "logging", *WINDOW, "--max-bytes", "20971520"]
    assert cli.main([*argv, "--root", str(root)]) == 2
    assert "use it with --source bigquery:PROJECT.DATASET" in capsys.readouterr().err
