"""Notifications over incoming webhooks, at the HTTP layer: payloads as Slack and Google Chat
document them, retries with backoff, a refusal that does not fail the job, no URL anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from generator import cli
from generator.core.model import Channel
from generator.lifecycle import notifications
from generator.lifecycle.notifications import Message
from tests.support import make_repo, place

SLACK = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"
CHAT = "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=KEYsecret&token=TOKENsecret"
REQUEST = "requests/pci-prod/inc-4512-batch.yaml"
TEXT = (
    "# yaml-language-server: $schema=../../schemas/access-request.schema.json\n"
    "requester: alice@example.com\nreason: Investigate failed settlement batch\n"
    "ticket: INC-4512\nstarts: 2026-11-30T09:00:00Z\nexpires: 2026-11-30T13:00:00Z\n"
    "grants:\n  - role: roles/cloudsql.client\n    project: pci-prod-payments\n"
)
CHANNELS = (
    "notifications:\n"
    "  channels:\n"
    "    payments:\n      kind: slack\n      url_from: LAPSE_WEBHOOK_PAYMENTS\n"
    "    security:\n      kind: google_chat\n      url_from: LAPSE_WEBHOOK_SECURITY\n"
    "  security: security\n"
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo")
    text = (root / "policy/policy.yaml").read_text()
    text = text.replace("\npeople:\n", f"\n{CHANNELS}\npeople:\n", 1)
    text = text.replace(
        "    max_lead_time: 7d\n", "    max_lead_time: 7d\n    notify: payments\n", 1
    )
    place(root, "policy/policy.yaml", text)
    place(root, REQUEST, TEXT)
    monkeypatch.setenv("LAPSE_WEBHOOK_PAYMENTS", SLACK)
    monkeypatch.setenv("LAPSE_WEBHOOK_SECURITY", CHAT)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    return root


def run(repo: Path, *args: str) -> int:
    return cli.main(["notify", *args, "--root", str(repo)])


def no_url_in(*texts: str) -> None:
    for text in texts:
        for secret in ("XXXXsecretXXXX", "KEYsecret", "TOKENsecret", "hooks.slack.com", "AAAA"):
            assert secret not in text


def test_slack_gets_text_and_a_mrkdwn_section_for_an_opened_request(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    http.post(SLACK, body="ok", content_type="text/html")

    link = "https://github.com/example-org/access/pull/42"
    assert run(repo, "opened", "--request", REQUEST, "--link", link) == 0

    payload = json.loads(http.calls[0].request.body)
    assert set(payload) == {"text", "blocks"}
    (section,) = payload["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert "alice@example.com" in payload["text"]
    assert "roles/cloudsql.client on pci-prod-payments" in payload["text"]
    assert "2026-11-30T09:00:00Z until 2026-11-30T13:00:00Z" in payload["text"]
    assert f"<{link}|{link}>" in section["text"]["text"]
    out, err = capsys.readouterr()
    assert "told channel payments" in out
    no_url_in(out, err)


def test_google_chat_gets_a_text_message_for_a_control_failure(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    message = {"name": "spaces/AAAA/messages/BBBB.BBBB", "text": "x"}
    http.post(CHAT, json=message)

    assert run(repo, "control-failure", "--text", "the expire job has not run for 2 days") == 0

    assert json.loads(http.calls[0].request.body) == {
        "text": "A lapse control is failing\nthe expire job has not run for 2 days"
    }
    no_url_in(*capsys.readouterr())


def test_transient_failures_are_retried_with_backoff() -> None:
    waits: list[float] = []
    with responses.RequestsMock() as mock:
        mock.post(SLACK, status=503, body="service_unavailable")
        mock.post(SLACK, status=429, body="rate_limited")
        mock.post(SLACK, body="ok")
        delivery = notifications.send(
            Channel("payments", "slack", "HOOK"),
            Message("t"),
            environ={"HOOK": SLACK},
            sleep=waits.append,
        )
    assert delivery.ok
    assert waits == [1.0, 2.0]


@pytest.mark.parametrize(
    ("status", "body", "named"),
    [
        (400, "invalid_payload", "HTTP 400 invalid_payload"),
        (404, "no_service", "HTTP 404 no_service"),
    ],
)
def test_a_slack_refusal_does_not_fail_the_job_and_is_in_the_summary(
    repo: Path,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    status: int,
    body: str,
    named: str,
) -> None:
    http.post(SLACK, status=status, body=body, content_type="text/html")

    assert run(repo, "applied", "--request", REQUEST) == 0

    assert len(http.calls) == 1  # a 4xx is not retried
    out, err = capsys.readouterr()
    summary = (repo.parent / "summary.md").read_text()
    assert named in err and named in summary
    assert "channel `payments`" in summary
    no_url_in(out, err, summary)


def test_a_google_chat_server_error_after_every_retry_does_not_fail_the_job(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    error = {"error": {"code": 500, "message": "Internal error.", "status": "INTERNAL"}}
    http.post(CHAT, status=500, json=error)

    assert run(repo, "review-deviations", "--text", "1 HIGH finding") == 0

    assert len(http.calls) == 5
    out, err = capsys.readouterr()
    summary = (repo.parent / "summary.md").read_text()
    assert "HTTP 500 INTERNAL" in summary
    no_url_in(out, err, summary)


def test_a_connection_failure_names_no_url(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    http.post(SLACK, body=ConnectionError(f"cannot reach {SLACK}"))
    assert run(repo, "expiring", "--request", REQUEST) == 0
    out, err = capsys.readouterr()
    summary = (repo.parent / "summary.md").read_text()
    assert "no answer" in summary
    no_url_in(out, err, summary)


def test_a_url_to_another_host_is_never_posted_to(
    repo: Path,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAPSE_WEBHOOK_PAYMENTS", "https://hooks.slack.com.evil.example/services/x")
    assert run(repo, "opened", "--request", REQUEST) == 0
    assert len(http.calls) == 0
    assert "is not a slack webhook URL" in capsys.readouterr().err


def test_an_unknown_channel_is_a_located_policy_problem(repo: Path) -> None:
    text = (repo / "policy/policy.yaml").read_text().replace("notify: payments", "notify: nowhere")
    place(repo, "policy/policy.yaml", text)
    assert cli.main(["validate", "--root", str(repo)]) == 1


# --- One secret for every channel: LAPSE_WEBHOOKS ------------------------------------------------


def one_secret(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """The workflows pass LAPSE_WEBHOOKS alone; the per-channel variables are not set."""
    monkeypatch.delenv("LAPSE_WEBHOOK_PAYMENTS")
    monkeypatch.delenv("LAPSE_WEBHOOK_SECURITY")
    monkeypatch.setenv("LAPSE_WEBHOOKS", value)


@pytest.mark.parametrize(
    "value",
    [
        f"# chat webhooks\nLAPSE_WEBHOOK_PAYMENTS={SLACK}\n\n  LAPSE_WEBHOOK_SECURITY = {CHAT}\r\n",
        json.dumps({"LAPSE_WEBHOOK_PAYMENTS": SLACK, "LAPSE_WEBHOOK_SECURITY": CHAT}),
    ],
    ids=["lines", "json"],
)
def test_lapse_webhooks_gives_each_channel_its_url(
    repo: Path,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    one_secret(monkeypatch, value)
    http.post(SLACK, body="ok")
    http.post(CHAT, json={"name": "spaces/AAAA/messages/B"})

    assert run(repo, "applied", "--request", REQUEST) == 0
    assert run(repo, "control-failure", "--text", "expire failed") == 0

    assert [call.request.url for call in http.calls] == [SLACK, CHAT]
    out, err = capsys.readouterr()
    assert "told channel payments" in out and "told channel security" in out
    no_url_in(out, err)


def test_the_channels_own_variable_wins_and_an_empty_one_falls_back() -> None:
    other = "https://hooks.slack.com/services/T1/B1/other"
    table = f"LAPSE_WEBHOOK_PAYMENTS={SLACK}"
    found = notifications.webhook_url
    both = {"LAPSE_WEBHOOK_PAYMENTS": other, "LAPSE_WEBHOOKS": table}
    assert found("LAPSE_WEBHOOK_PAYMENTS", both) == (other, "")
    # An unset secret reaches a step's env: as "", which must not hide LAPSE_WEBHOOKS.
    empty = {"LAPSE_WEBHOOK_PAYMENTS": "", "LAPSE_WEBHOOKS": table}
    assert found("LAPSE_WEBHOOK_PAYMENTS", empty) == (SLACK, "")
    assert found("LAPSE_WEBHOOK_SECURITY", empty) == (
        "",
        "LAPSE_WEBHOOK_SECURITY is not set, nor named in LAPSE_WEBHOOKS",
    )
    assert found("LAPSE_WEBHOOK_PAYMENTS", {}) == (
        "",
        "LAPSE_WEBHOOK_PAYMENTS is not set, nor named in LAPSE_WEBHOOKS",
    )


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (f"LAPSE_WEBHOOK_SECURITY={CHAT}\n{SLACK}\n", "LAPSE_WEBHOOKS line 2 is not"),
        (f"lapse_webhook_payments={SLACK}\n", "LAPSE_WEBHOOKS line 1 is not"),
        (f"PAYMENTS={SLACK}\n", "LAPSE_WEBHOOKS line 1 is not"),
        ("LAPSE_WEBHOOK_PAYMENTS=\n", "LAPSE_WEBHOOKS line 1 is not"),
        (
            f"LAPSE_WEBHOOK_PAYMENTS={SLACK}\nLAPSE_WEBHOOK_PAYMENTS={SLACK}x\n",
            "LAPSE_WEBHOOKS names LAPSE_WEBHOOK_PAYMENTS twice (line 2)",
        ),
        ('{"LAPSE_WEBHOOK_PAYMENTS": "' + SLACK + '",}', "LAPSE_WEBHOOKS is not a JSON object"),
        ('{"LAPSE_WEBHOOK_PAYMENTS": ["' + SLACK + '"]}', "LAPSE_WEBHOOKS is not a JSON object"),
        ('{"' + SLACK + '": "LAPSE_WEBHOOK_PAYMENTS"}', "LAPSE_WEBHOOKS is not a JSON object"),
        (
            '{"LAPSE_WEBHOOK_PAYMENTS": "' + SLACK + '", "LAPSE_WEBHOOK_PAYMENTS": "x"}',
            "LAPSE_WEBHOOKS names LAPSE_WEBHOOK_PAYMENTS twice",
        ),
        ('{"LAPSE_WEBHOOK_PAYMENTS": ' + "[" * 100_000, "LAPSE_WEBHOOKS is not a JSON object"),
    ],
    ids=[
        "no-name",
        "lowercase",
        "short-name",
        "no-url",
        "twice",
        "json",
        "json-list",
        "json-key",
        "json-twice",
        "json-deep",
    ],
)
def test_a_malformed_lapse_webhooks_is_named_by_line_and_never_quoted(
    repo: Path,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    named: str,
) -> None:
    one_secret(monkeypatch, value)

    assert run(repo, "applied", "--request", REQUEST) == 0

    assert len(http.calls) == 0
    out, err = capsys.readouterr()
    summary = (repo.parent / "summary.md").read_text()
    assert named in err and named in summary
    no_url_in(out, err, summary)


def test_a_url_from_lapse_webhooks_must_be_on_the_services_host(
    repo: Path,
    http: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one_secret(
        monkeypatch, "LAPSE_WEBHOOK_PAYMENTS=https://hooks.slack.com.evil.example/services/x"
    )
    assert run(repo, "opened", "--request", REQUEST) == 0
    assert len(http.calls) == 0
    assert "LAPSE_WEBHOOK_PAYMENTS is not a slack webhook URL" in capsys.readouterr().err


# --- Expiring: the requests whose window ends soon -----------------------------------------------

LATER = TEXT.replace("inc-4512", "inc-4513").replace("INC-4512", "INC-4513")


def test_expiring_within_tells_of_each_request_ending_in_that_time(
    repo: Path, http: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    place(repo, "requests/pci-prod/inc-4513-later.yaml", LATER.replace("T13:00", "T15:00"))
    http.post(SLACK, body="ok")

    # 12:30: the first ends at 13:00 (within the hour), the second at 15:00 (not yet).
    args = ("expiring", "--expiring-within", "1h", "--now", "2026-11-30T12:30:00Z")
    assert run(repo, *args) == 0

    (call,) = http.calls
    text = json.loads(call.request.body)["text"]
    assert "Access expiring soon" in text and "INC-4512" in text and "INC-4513" not in text
    assert run(repo, "expiring", "--expiring-within", "1h", "--now", "2026-11-30T13:00:00Z") == 0
    assert "expiring: no request ends within 1h" in capsys.readouterr().out
    assert len(http.calls) == 1


@pytest.mark.parametrize(
    "args",
    [
        ("applied", "--expiring-within", "1h"),
        ("expiring", "--expiring-within", "1h", "--request", REQUEST),
    ],
)
def test_expiring_within_selects_for_expiring_only(
    repo: Path, http: responses.RequestsMock, args: tuple[str, ...]
) -> None:
    assert run(repo, *args) == 2
    assert len(http.calls) == 0
