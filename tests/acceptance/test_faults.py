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
from tests.support import make_repo

Fault = dict[str, Any]
FAULTS: dict[str, Fault] = {
    "429": {
        "status": 429,
        "json": {
            "error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}
        },
    },
    "500": {
        "status": 500,
        "json": {"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}},
    },
    "502": {
        "status": 502,
        "body": "<html><body>502 Bad Gateway</body></html>",
        "content_type": "text/html",
    },
    "timeout": {"body": requests.exceptions.ReadTimeout("read timed out")},
    "truncated": {
        "status": 200,
        "body": '{"bindings": [{"role": "roles/clo',
        "content_type": "application/json",
    },
}
MERGE = "e5bd3914e2e596debea16f433f57875b5b90bcd6"
GITHUB = f"https://api.github.com:443/repos/example-org/access/commits/{MERGE}/pulls"
IAM = "https://cloudresourcemanager.googleapis.com/v1/projects/pci-prod-payments:getIamPolicy"
LOGGING = "https://logging.googleapis.com/v2/entries:list"


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


def _github(http: responses.RequestsMock) -> None:
    http.add(responses.GET, GITHUB, json=[])


def _iam(http: responses.RequestsMock) -> None:
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
        r"https://bigquery\.googleapis\.com/.*",
        r"https://iam\.googleapis\.com/.*",
    ):
        http.add(responses.GET, re.compile(pattern), json=healthy)
        http.add(responses.POST, re.compile(pattern), json=healthy)


def _logging(http: responses.RequestsMock) -> None:
    http.add(responses.POST, LOGGING, json={"entries": []})


# adapter -> (faulted URL and method, healthy answers, command line, exit code when healthy)
ADAPTERS: dict[str, tuple[str, str, Callable[[responses.RequestsMock], None], list[str], int]] = {
    "github": (responses.GET, GITHUB, _github, ["verify-approvals", "--commit", MERGE], 1),
    "iam": (responses.POST, IAM, _iam, ["drift", "--now", "2026-12-10T00:00:00Z"], 0),
    "logging": (
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
        0,
    ),
}


def _run(root: Path, line: list[str]) -> int:
    return cli.main([*line, "--root", str(root)])


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_one_fault_then_recovery(
    root: Path,
    http: responses.RequestsMock,
    adapter: str,
    fault: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    method, url, healthy, line, clean = ADAPTERS[adapter]
    http.add(method, url, **FAULTS[fault])  # answered first, once
    healthy(http)

    code = _run(root, line)

    assert "Traceback" not in capsys.readouterr().err
    assert code == clean
    assert len(http.calls) >= 2, "the faulted call was tried again"


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_persistent_fault_ends_clearly(
    root: Path,
    http: responses.RequestsMock,
    adapter: str,
    fault: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    method, url, healthy, line, clean = ADAPTERS[adapter]
    for _ in range(6):
        http.add(method, url, **FAULTS[fault])

    code = _run(root, line)

    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
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
    healthy(http)
    assert _run(root, line) == clean  # healthy again: the same outcome as a clean run
    if adapter == "logging":
        assert not any(
            "INCOMPLETE" in r.read_text()
            for r in (root / "reports").rglob("*.md")
            if "summary" not in r.parts
        )


def test_logging_pagination_that_repeats_a_token(
    root: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(12):
        http.add(responses.POST, LOGGING, json={"entries": [], "nextPageToken": "same"})

    code = _run(root, ADAPTERS["logging"][3])

    assert code == 1
    assert "INCOMPLETE" in capsys.readouterr().out
    assert len(http.calls) < 12 * 4, "the loop was cut, not followed"


def test_github_pagination_that_repeats_a_page(
    root: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    data = Path(__file__).resolve().parent.parent / "data" / "github"
    pull = json.loads((data / "pull.json").read_text())
    link = {"Link": f'<{GITHUB.replace(":443", "")}?page=2>; rel="next"'}  # as GitHub writes it
    http.add(responses.GET, GITHUB, json=[pull], headers=link)
    for _ in range(3):
        http.add(responses.GET, f"{GITHUB}?page=2", json=[pull], headers=link)

    code = _run(root, ADAPTERS["github"][3])

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
