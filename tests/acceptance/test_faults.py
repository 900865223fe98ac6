"""Fault injection across every adapter, through the commands that use them.

Each service answers with a fault once, then normally: the command retries and ends as it
would have without the fault. Or the fault persists: the command ends with exit 3 and a
message naming the call (or, for a review, a report that says INCOMPLETE), and a re-run once
the service is healthy converges on the same outcome as a clean run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials

from generator import cli
from generator.commands import adapters
from generator.review.logging_source import logging_client
from tests.github_contract import CUT_IN_TRANSIT
from tests.support import answers_may_go_unused, make_repo

Fault = dict[str, Any]
DATA = Path(__file__).resolve().parent.parent / "data"


def _google(code: int, message: str, status: str) -> Fault:
    """Google's JSON error envelope, as Resource Manager and Cloud Logging write it."""
    return {"status": code, "json": {"error": {"code": code, "message": message, "status": status}}}


GOOGLE_FAULTS: dict[str, Fault] = {
    "429": _google(429, "Quota exceeded for quota metric 'Read requests'", "RESOURCE_EXHAUSTED"),
    "500": _google(500, "Internal error encountered.", "INTERNAL"),
}
# GitHub's REST API writes `message` and `documentation_url`, never Google's envelope.
GITHUB_FAULTS: dict[str, Fault] = {
    "429": {
        "status": 429,
        # GitHub's x-ratelimit headers come with every answer; retry-after goes first.
        "headers": {"Retry-After": "1", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"},
        "json": {
            "message": "API rate limit exceeded for installation ID 4182.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        },
    },
    "500": {"status": 500, "json": json.loads((DATA / "github" / "error_5xx.json").read_text())},
}
SHARED_FAULTS: dict[str, Fault] = {
    "502": {
        "status": 502,
        "body": "<html><body>502 Bad Gateway</body></html>",
        "content_type": "text/html",
    },
    "timeout": {"body": requests.exceptions.ReadTimeout("read timed out")},
}
TRUNCATED = {
    "github": '[{"url": "https://api.github.com/repos/example-org/access/pulls/42", "numb',
    "iam": '{"bindings": [{"role": "roles/clo',
    "logging": '{"entries": [{"insertId": "1x3f',
}
FAULT_NAMES = ("429", "500", "502", "timeout", "truncated")
MERGE = "e5bd3914e2e596debea16f433f57875b5b90bcd6"
GITHUB = f"https://api.github.com:443/repos/example-org/access/commits/{MERGE}/pulls"
IAM = "https://cloudresourcemanager.googleapis.com/v1/projects/pci-prod-payments:getIamPolicy"
LOGGING = "https://logging.googleapis.com/v2/entries:list"


def fault(adapter: str, name: str) -> Fault:
    if name == "truncated":
        return {
            "status": 200,
            "body": TRUNCATED[adapter],
            "content_type": "application/json",
            "headers": {CUT_IN_TRANSIT: "body cut short"},
        }
    if name in SHARED_FAULTS:
        return SHARED_FAULTS[name]
    return (GITHUB_FAULTS if adapter == "github" else GOOGLE_FAULTS)[name]


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr("generator.core.retry.time.sleep", waits.append)
    return waits


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = make_repo(tmp_path / "repo", with_requests=True)
    assert cli.main(["render", "--root", str(repo)]) == 0
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_REPOSITORY", "example-org/access")
    monkeypatch.setattr(adapters, "build_session", requests.Session)
    monkeypatch.setattr(
        adapters, "logging_client", lambda project: logging_client(project, AnonymousCredentials())
    )
    return repo


# The healthy answers hold data that changes the outcome, so that a fault swallowed as "no data"
# cannot pass for a recovery: an approved merge, an orphan binding, a use after expiry.
def _github(http: responses.RequestsMock) -> None:
    from tests.unit.test_approvals import review, serve

    serve(http, reviews=[review("carol-diaz")])


def _iam(http: responses.RequestsMock) -> None:
    answers_may_go_unused(http, "a healthy Google Cloud answers every service drift may read")
    orphan = json.loads((DATA / "drift" / "project_orphan_v3.json").read_text())
    http.add(responses.POST, IAM, json=orphan)
    healthy = {"version": 3, "etag": "BwYbH9aE6Kc=", "bindings": []}
    http.add(
        responses.POST,
        re.compile(r"https://cloudresourcemanager\.googleapis\.com/.*"),
        json=healthy,
    )
    http.add(
        responses.GET,
        re.compile(r"https://storage\.googleapis\.com/.*"),
        json={**healthy, "kind": "storage#policy"},
    )
    for pattern in (
        r"https://secretmanager\.googleapis\.com/.*",
        r"https://iam\.googleapis\.com/.*",
    ):
        http.add(responses.GET, re.compile(pattern), json=healthy)
        http.add(responses.POST, re.compile(pattern), json=healthy)
    # BigQuery has no getIamPolicy for datasets: datasets.get answers with the access list.
    http.add(
        responses.GET,
        re.compile(r"https://bigquery\.googleapis\.com/.*"),
        json={"kind": "bigquery#dataset", "etag": "BwYbH9aE6Kc=", "access": []},
    )


def _logging(http: responses.RequestsMock) -> None:
    late = json.loads((DATA / "audit" / "cloudsql_connect.json").read_text())
    late["timestamp"] = "2026-12-01T15:20:41.905528Z"  # two hours after the grant expired
    late["receiveTimestamp"] = "2026-12-01T15:20:42.105528Z"
    http.add(responses.POST, LOGGING, json={"entries": [late]})
    # The sample folder grant's projects, listed through Resource Manager.
    from tests.acceptance.test_folder_review import serve_tree

    serve_tree(http)


@dataclass(frozen=True)
class Adapter:
    method: str
    url: str
    healthy: Callable[[responses.RequestsMock], None]
    line: list[str]
    clean: int  # exit code of a healthy run
    proof: str  # printed only when the healthy data was read


ADAPTERS: dict[str, Adapter] = {
    "github": Adapter(
        responses.GET, GITHUB, _github, ["verify-approvals", "--commit", MERGE], 0, "carol-diaz"
    ),
    "iam": Adapter(
        responses.POST,
        IAM,
        _iam,
        ["drift", "--now", "2026-12-10T00:00:00Z"],
        1,
        "inc-4498-hand-made",
    ),
    "logging": Adapter(
        responses.POST,
        LOGGING,
        _logging,
        [
            "review",
            "--source",
            "logging",
            "--until",
            "2026-12-10T00:00:00Z",
            "--since",
            "30d",
            "--project",
            "pci-prod-payments",
        ],
        1,
        "inc-4512-settlement-batch: CRITICAL",
    ),
}


def _run(root: Path, line: list[str]) -> int:
    return cli.main([*line, "--root", str(root)])


def _clean_run(root: Path, adapter: Adapter, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run(root, adapter.line)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert code == adapter.clean, captured.out + captured.err
    assert adapter.proof in captured.out + captured.err, "the healthy data was not read"
    assert "INCOMPLETE" not in captured.out


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_an_empty_answer_is_told_apart_from_the_healthy_one(
    root: Path, http: responses.RequestsMock, adapter: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # What a fault swallowed as "no data" would look like: the proof is missing.
    chosen = ADAPTERS[adapter]
    if adapter == "github":
        http.add(chosen.method, chosen.url, json=[])
    elif adapter == "iam":
        empty_dataset = {"kind": "bigquery#dataset", "etag": "BwYbH9aE6Kc=", "access": []}
        http.add(
            responses.GET, re.compile(r"https://bigquery\.googleapis\.com/.*"), json=empty_dataset
        )
        others = re.compile(r"https://(?!bigquery\.).*")
        http.add(chosen.method, others, json={"version": 3, "bindings": []})
        http.add(responses.GET, others, json={"version": 3, "bindings": []})
    else:
        http.add(chosen.method, chosen.url, json={"entries": []})

    _run(root, chosen.line)

    captured = capsys.readouterr()
    assert chosen.proof not in captured.out + captured.err


@pytest.mark.parametrize("name", FAULT_NAMES)
@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_one_fault_then_recovery(
    root: Path,
    http: responses.RequestsMock,
    adapter: str,
    name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chosen = ADAPTERS[adapter]
    http.add(chosen.method, chosen.url, **fault(adapter, name))  # answered first, once
    chosen.healthy(http)

    _clean_run(root, chosen, capsys)

    faulted = [c for c in http.calls if (c.request.url or "").split("?")[0] == chosen.url]
    assert len(faulted) >= 2, "the faulted call was tried again"


@pytest.mark.parametrize("name", FAULT_NAMES)
@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_persistent_fault_ends_clearly(
    root: Path,
    http: responses.RequestsMock,
    adapter: str,
    name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chosen = ADAPTERS[adapter]
    for _ in range(6):
        http.add(chosen.method, chosen.url, **fault(adapter, name))

    code = _run(root, chosen.line)

    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert chosen.proof not in captured.out + captured.err
    if adapter == "logging":  # a review never fails silently: it says INCOMPLETE
        assert code == 1
        assert "INCOMPLETE" in captured.out
        reports = sorted((root / "reports").rglob("*.md"))
        assert reports and all(
            "INCOMPLETE" in r.read_text() for r in reports if "summary" not in r.parts
        )
    else:
        assert code == 3
        assert "lapse: error:" in captured.err and "failed" in captured.err

    http.reset()
    chosen.healthy(http)
    _clean_run(root, chosen, capsys)  # healthy again: the same outcome as a clean run
    if adapter == "logging":
        assert not any(
            "INCOMPLETE" in r.read_text()
            for r in (root / "reports").rglob("*.md")
            if "summary" not in r.parts
        )


def test_logging_pagination_that_repeats_a_token(
    root: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    answers_may_go_unused(http, "the loop must be cut before every repeated page is read")
    for _ in range(12):
        http.add(responses.POST, LOGGING, json={"entries": [], "nextPageToken": "same"})

    code = _run(root, ADAPTERS["logging"].line)

    assert code == 1
    assert "INCOMPLETE" in capsys.readouterr().out
    assert len(http.calls) < 12 * 4, "the loop was cut, not followed"


def test_github_pagination_that_repeats_a_page(
    root: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    pull = json.loads((DATA / "github" / "pull.json").read_text())
    link = {"Link": f'<{GITHUB.replace(":443", "")}?page=2>; rel="next"'}  # as GitHub writes it
    http.add(responses.GET, GITHUB, json=[pull], headers=link)
    answers_may_go_unused(http, "the loop must be cut before every repeated page is read")
    for _ in range(3):
        http.add(responses.GET, f"{GITHUB}?page=2", json=[pull], headers=link)

    code = _run(root, ADAPTERS["github"].line)

    assert code == 3
    assert "pages loop" in capsys.readouterr().err


def test_roles_sync_retries_the_iam_api_then_gives_up_clearly(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from google.cloud.iam_admin_v1 import types

    answers: list[Exception | types.Role] = [
        api_exceptions.ServiceUnavailable("unavailable"),
        api_exceptions.TooManyRequests("quota"),
        types.Role(
            name="roles/logging.viewer",
            title="Logs Viewer",
            stage="GA",
            included_permissions=["logging.logEntries.list"],
        ),
    ]

    class FlakyIAM:
        def get_role(self, *, name: str) -> types.Role:
            answer = answers.pop(0) if answers else api_exceptions.DeadlineExceeded("slow")
            if isinstance(answer, Exception):
                raise answer
            return answer

    monkeypatch.setattr(adapters, "build_iam_client", FlakyIAM)
    line = ["roles", "sync", "--role", "roles/logging.viewer"]
    assert _run(root, line) == 0
    assert "roles/logging.viewer: -" in capsys.readouterr().out
    before = (root / "policy/roles.lock.json").read_bytes()
    assert _run(root, line) == 3
    assert "roles/logging.viewer" in capsys.readouterr().err
    assert (root / "policy/roles.lock.json").read_bytes() == before
