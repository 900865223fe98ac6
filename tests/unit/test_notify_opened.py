"""`lapse notify opened --pending`: main's code tells each open pull request's request files to
their channel once, reading them at the pull request's head; GitHub and the webhooks at the HTTP
layer, GitHub's answers shaped like its own."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from generator import cli
from generator.github.records import ChangedFile
from generator.lifecycle.opened import MARKER, request_files
from tests.github_fake import shape
from tests.support import make_repo, place
from tests.unit.test_notifications import CHANNELS, CHAT, SLACK, TEXT, no_url_in

API = "https://api.github.com:443"
REPO = f"{API}/repos/example-org/access"
PULLS = f"{REPO}/pulls"
REQUEST = "requests/pci-prod/inc-4512-batch.yaml"
HEAD = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
OTHER_HEAD = "0b1f9e3d7c5a2e8f4b6d0c9a1e3f5b7d9c2a4e6f"
BOT = "lapse-example[bot]"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo")
    text = (root / "policy/policy.yaml").read_text()
    text = text.replace("\npeople:\n", f"\n{CHANNELS}\npeople:\n", 1)
    text = text.replace(
        "    max_lead_time: 7d\n", "    max_lead_time: 7d\n    notify: payments\n", 1
    )
    place(root, "policy/policy.yaml", text)
    monkeypatch.setenv("LAPSE_WEBHOOKS", f"LAPSE_WEBHOOK_PAYMENTS={SLACK}\n")
    monkeypatch.delenv("LAPSE_WEBHOOK_PAYMENTS", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.setenv("LAPSE_GITHUB_LOGIN", BOT)
    monkeypatch.setenv("GITHUB_REPOSITORY", "example-org/access")
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    return root


def run(repo: Path) -> int:
    return cli.main(["notify", "opened", "--pending", "--root", str(repo)])


def pull(number: int, head: str, author: str = "alice-ng") -> dict[str, Any]:
    data = shape(
        "pull",
        number=number,
        url=f"https://api.github.com/repos/example-org/access/pulls/{number}",
        html_url=f"https://github.com/example-org/access/pull/{number}",
        issue_url=f"https://api.github.com/repos/example-org/access/issues/{number}",
    )
    data["head"] = {**data["head"], "sha": head}
    data["user"] = {**data["user"], "login": author}
    return data


def changed(filename: str, status: str = "added") -> dict[str, Any]:
    return shape("pull_file", filename=filename, status=status)


def serve_pulls(http: responses.RequestsMock, *pages: list[dict[str, Any]]) -> None:
    for index, page in enumerate(pages, start=1):
        query = {"state": "open", "per_page": "100", **({"page": str(index)} if index > 1 else {})}
        url = PULLS if index == 1 else f"{API}/repositories/731205566/pulls"
        following = (
            "https://api.github.com/repositories/731205566/pulls"
            f"?state=open&per_page=100&page={index + 1}"
        )
        link = {"Link": f'<{following}>; rel="next"'} if index < len(pages) else {}
        http.add(
            responses.GET,
            url,
            json=page,
            headers=link,
            match=[matchers.query_param_matcher(query)],
        )


def serve_files(http: responses.RequestsMock, number: int, *files: dict[str, Any]) -> None:
    http.add(responses.GET, f"{PULLS}/{number}/files", json=list(files))


def serve_text(http: responses.RequestsMock, path: str, text: str, ref: str) -> None:
    encoded = base64.b64encode(text.encode()).decode()
    data = shape("content_file", path=path, name=path.rsplit("/", 1)[1], content=encoded)
    http.add(
        responses.GET,
        f"{REPO}/contents/{path}",
        json=data,
        match=[matchers.query_param_matcher({"ref": ref})],
    )


def comment(author: str, body: str) -> dict[str, Any]:
    data = shape("issue_comment", body=body)
    data["user"] = {**data["user"], "login": author}
    return data


def serve_comments(
    http: responses.RequestsMock, number: int, existing: list[dict[str, Any]]
) -> None:
    http.add(responses.GET, f"{REPO}/issues/{number}/comments", json=existing)


def serve_marking(http: responses.RequestsMock, number: int) -> None:
    http.add(
        responses.POST, f"{REPO}/issues/{number}/comments", json=shape("issue_comment"), status=201
    )


def posted(http: responses.RequestsMock, url: str) -> list[Any]:
    return [
        json.loads(call.request.body or b"{}")
        for call in http.calls
        if call.request.method == "POST" and (call.request.url or "").split("?")[0] == url
    ]


def test_two_open_pulls_over_two_pages_tell_only_the_one_adding_a_request(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_pulls(http, [pull(7, HEAD)], [pull(8, OTHER_HEAD, "bob-okafor")])
    serve_files(http, 7, changed(REQUEST), changed("README.md", "modified"))
    serve_files(http, 8, changed("README.md", "modified"))
    serve_text(http, REQUEST, TEXT, HEAD)
    serve_comments(http, 7, [])
    serve_marking(http, 7)
    http.post(SLACK, body="ok", content_type="text/html")

    assert run(repo) == 0

    (marking,) = posted(http, f"{REPO}/issues/7/comments")
    assert f"<!-- lapse:{MARKER} -->" in marking["body"]
    assert "`payments`" in marking["body"]
    order = [call.request.url or "" for call in http.calls]
    marked = next(i for i, url in enumerate(order) if url.endswith("/issues/7/comments"))
    assert marked < next(i for i, url in enumerate(order) if url.startswith(SLACK))
    (payload,) = posted(http, SLACK)
    text = payload["text"]
    assert "Access request awaiting approval" in text
    assert "Pull request #7 by alice-ng" in text
    assert "Requester: alice@example.com (INC-4512)" in text
    assert "roles/cloudsql.client on pci-prod-payments" in text
    assert "https://github.com/example-org/access/pull/7" in text
    assert "#8" not in text and not posted(http, f"{REPO}/issues/8/comments")
    out, err = capsys.readouterr()
    assert "#7: told channel payments" in out
    no_url_in(out, err)
    assert not (repo.parent / "summary.md").exists()


def test_a_pull_already_marked_is_not_told_again(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_pulls(http, [pull(7, HEAD)])
    serve_files(http, 7, changed(REQUEST))
    serve_text(http, REQUEST, TEXT, HEAD)
    earlier = comment(BOT, f"lapse told the channel.\n\n<!-- lapse:{MARKER} -->")
    serve_comments(http, 7, [earlier])

    assert run(repo) == 0

    assert not posted(http, f"{REPO}/issues/7/comments")
    assert not [c for c in http.calls if (c.request.url or "").startswith(SLACK)]
    assert "#7: told by an earlier run" in capsys.readouterr().out


def test_the_marker_written_by_anyone_else_does_not_silence_it(
    repo: Path, http: responses.RequestsMock
) -> None:
    serve_pulls(http, [pull(7, HEAD)])
    serve_files(http, 7, changed(REQUEST))
    serve_text(http, REQUEST, TEXT, HEAD)
    serve_comments(http, 7, [comment("alice-ng", f"<!-- lapse:{MARKER} -->")])
    serve_marking(http, 7)
    http.post(SLACK, body="ok", content_type="text/html")

    assert run(repo) == 0

    assert len(posted(http, f"{REPO}/issues/7/comments")) == 1
    assert len(posted(http, SLACK)) == 1


def test_an_invalid_request_is_told_as_not_readable_yet(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_pulls(http, [pull(7, HEAD)])
    serve_files(http, 7, changed(REQUEST))
    serve_text(http, REQUEST, "requester: [alice@example.com\nreason: {\n", HEAD)
    serve_comments(http, 7, [])
    serve_marking(http, 7)
    http.post(SLACK, body="ok", content_type="text/html")

    assert run(repo) == 0

    (payload,) = posted(http, SLACK)
    assert f"{REQUEST}: not readable yet (" in payload["text"]
    assert "Traceback" not in payload["text"]
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "#7: told channel payments" in out


def test_a_failed_webhook_does_not_fail_the_command_and_is_in_the_summary(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_pulls(http, [pull(7, HEAD)])
    serve_files(http, 7, changed(REQUEST))
    serve_text(http, REQUEST, TEXT, HEAD)
    serve_comments(http, 7, [])
    serve_marking(http, 7)
    http.post(SLACK, status=404, body="no_service")

    assert run(repo) == 0

    summary = (repo.parent / "summary.md").read_text()
    assert "- channel `payments`: " in summary and "HTTP 404 no_service" in summary
    out, err = capsys.readouterr()
    assert "#7: not delivered to channel payments: " in err and "HTTP 404" in err
    no_url_in(out, err, summary)


def test_a_fork_pull_is_told_with_its_text_escaped(
    repo: Path, http: responses.RequestsMock
) -> None:
    serve_pulls(http, [pull(9, HEAD, "mallory")])
    serve_files(http, 9, changed(REQUEST))
    text = TEXT.replace("Investigate failed settlement batch", "<!channel> <https://evil|x>")
    text = text.replace("requester: alice@example.com", "requester: alice@example.com")
    serve_text(http, REQUEST, text, HEAD)
    serve_comments(http, 9, [])
    serve_marking(http, 9)
    http.post(SLACK, body="ok", content_type="text/html")

    assert run(repo) == 0

    (payload,) = posted(http, SLACK)
    assert "<!channel>" not in json.dumps(payload)
    assert "Pull request #9 by mallory" in payload["text"]


def test_request_files_are_added_or_changed_files_under_requests() -> None:
    files = [
        ChangedFile("requests/pci-prod/a.yaml", "added", None),
        ChangedFile("requests/pci-prod/b.yml", "modified", None),
        ChangedFile("requests/pci-prod/emergency/c.yaml", "added", None),
        ChangedFile("requests/pci-prod/gone.yaml", "removed", None),
        ChangedFile("archive/pci-prod/2026-11/d.yaml", "renamed", "requests/pci-prod/d.yaml"),
        ChangedFile("requests/pci-prod/notes.md", "added", None),
        ChangedFile("README.md", "modified", None),
    ]
    assert request_files(files) == [
        "requests/pci-prod/a.yaml",
        "requests/pci-prod/b.yml",
        "requests/pci-prod/emergency/c.yaml",
    ]


def test_a_target_the_policy_does_not_name_tells_the_security_channel(
    repo: Path, http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "LAPSE_WEBHOOKS", f"LAPSE_WEBHOOK_PAYMENTS={SLACK}\nLAPSE_WEBHOOK_SECURITY={CHAT}\n"
    )
    unknown = "requests/shadow-prod/inc-1.yaml"
    serve_pulls(http, [pull(7, HEAD)])
    serve_files(http, 7, changed(unknown))
    serve_text(http, unknown, TEXT, HEAD)
    serve_comments(http, 7, [])
    serve_marking(http, 7)
    http.post(CHAT, json={"name": "spaces/AAAA/messages/BBBB.BBBB", "text": "x"})

    assert run(repo) == 0

    (payload,) = posted(http, CHAT.split("?")[0])
    assert f"{unknown}:" in payload["text"]


def test_github_refusing_the_listing_fails_no_job_and_is_in_the_summary(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    http.add(responses.GET, PULLS, status=403, json=shape("error_403"))

    assert run(repo) == 0

    summary = (repo.parent / "summary.md").read_text()
    assert "opened: " in summary and "403" in summary
    out, err = capsys.readouterr()
    assert "open pull requests not read" in err
    no_url_in(out, err, summary)


@pytest.mark.parametrize(
    "args",
    [
        ["expiring", "--pending"],
        ["opened", "--pending", "--request", REQUEST],
        ["opened", "--pending", "--link", "https://example.com/"],
    ],
)
def test_pending_is_for_opened_alone(repo: Path, args: list[str]) -> None:
    assert cli.main(["notify", *args, "--root", str(repo)]) == 2
