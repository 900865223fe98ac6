"""GitHub's rate limits, waited out as GitHub documents them, on an injected clock.

Each test answers at the HTTP layer as GitHub does (403 or 429, its headers, its messages) and
records every wait instead of sleeping: `retry-after` is honoured, `x-ratelimit-reset` is waited
for, a secondary limit without `retry-after` waits a minute and then longer, and one budget per
run ends in a ServiceError (exit 3) that names the limit.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import responses
import yaml

from generator import cli
from generator.commands import adapters
from generator.core.errors import ServiceError
from generator.github.client import GitHubClient
from generator.github.rate_limits import BUDGET_SECONDS, RateLimitExhausted
from tests.github_fake import API, shape
from tests.support import REPO as CHECKOUT

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
LABEL = f"{API}/repos/example-org/access/labels/lapse-review"
SECONDARY = shape("error_secondary_rate_limit")
PRIMARY = {
    "message": "API rate limit exceeded for installation ID 4182.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
}


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(waits: list[float]) -> GitHubClient:
    return GitHubClient("example-org/access", "t", sleep=waits.append, clock=lambda: NOW)


def limited(http: responses.RequestsMock, status: int, body: object, **headers: str) -> None:
    """A rate-limited answer, with the x-ratelimit headers GitHub sends with every answer."""
    remaining = "0" if body is PRIMARY else "4990"
    sent = {"x-ratelimit-remaining": remaining, "x-ratelimit-reset": str(int(NOW) + 3600)}
    http.add(responses.GET, LABEL, json=body, status=status, headers={**sent, **headers})


def answered(http: responses.RequestsMock) -> None:
    http.add(responses.GET, LABEL, json=shape("label", name="lapse-review"))


def read(client: GitHubClient) -> object:
    return client.read_json("/repos/example-org/access/labels/lapse-review")


def test_retry_after_is_waited_for_in_full(
    http: responses.RequestsMock, client: GitHubClient, waits: list[float]
) -> None:
    limited(http, 403, SECONDARY, **{"retry-after": "60"})
    answered(http)

    assert read(client) == shape("label", name="lapse-review")
    assert waits == [60.0]


def test_a_429_with_retry_after_is_waited_for_too(
    http: responses.RequestsMock, client: GitHubClient, waits: list[float]
) -> None:
    limited(http, 429, PRIMARY, **{"Retry-After": "17"})
    answered(http)

    read(client)
    assert waits == [17.0]


def test_secondary_limit_without_retry_after_waits_a_minute_then_longer(
    http: responses.RequestsMock, client: GitHubClient, waits: list[float]
) -> None:
    for _ in range(3):
        limited(http, 403, SECONDARY)
    answered(http)

    read(client)
    assert waits[0] >= 60.0
    assert waits == [60.0, 120.0, 240.0]


def test_the_exponential_wait_starts_again_after_an_answer(
    http: responses.RequestsMock, client: GitHubClient, waits: list[float]
) -> None:
    limited(http, 403, SECONDARY)
    answered(http)
    limited(http, 403, SECONDARY)
    answered(http)

    read(client)
    read(client)
    assert waits == [60.0, 60.0]


def test_an_exhausted_primary_limit_waits_until_its_reset(
    http: responses.RequestsMock, client: GitHubClient, waits: list[float]
) -> None:
    reset = str(int(NOW) + 300)
    limited(
        http,
        403,
        PRIMARY,
        **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset, "x-ratelimit-limit": "5000"},
    )
    answered(http)

    read(client)
    assert waits == [301.0]  # until the reset, and a second for clocks that differ


def test_a_reset_already_past_waits_a_second_not_a_negative_time(
    http: responses.RequestsMock, client: GitHubClient, waits: list[float]
) -> None:
    past = str(int(NOW) - 90)
    limited(http, 403, PRIMARY, **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": past})
    answered(http)

    read(client)
    assert waits == [1.0]


def test_a_limit_past_the_budget_ends_in_exit_3_naming_it(
    http: responses.RequestsMock, client: GitHubClient, waits: list[float]
) -> None:
    reset = str(int(NOW) + 3 * 3600)
    limited(http, 403, PRIMARY, **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})

    with pytest.raises(ServiceError) as caught:
        read(client)

    assert caught.value.exit_code == 3
    assert isinstance(caught.value.__cause__, RateLimitExhausted)
    assert "primary rate limit (core)" in str(caught.value)
    assert f"budget of {BUDGET_SECONDS} s" in str(caught.value)
    assert waits == []


def test_the_budget_is_one_for_the_whole_run(
    http: responses.RequestsMock, client: GitHubClient, waits: list[float]
) -> None:
    # 60 + 120 + 240 = 420 s waited; the next, 480 s, would pass 600 s.
    for _ in range(4):
        limited(http, 403, SECONDARY)

    with pytest.raises(ServiceError, match="secondary rate limit: waiting 480 s"):
        read(client)
    assert waits == [60.0, 120.0, 240.0]
    assert sum(waits) <= BUDGET_SECONDS


def test_a_forbidden_call_is_no_rate_limit_and_is_not_waited_for(
    http: responses.RequestsMock, client: GitHubClient, waits: list[float]
) -> None:
    limited(
        http,
        403,
        {"message": "Resource not accessible by integration", "documentation_url": "x"},
        **{"x-ratelimit-remaining": "4999"},
    )

    with pytest.raises(ServiceError, match="lacks permission"):
        read(client)
    assert waits == []


def test_a_command_stopped_by_a_rate_limit_exits_3_and_names_it(
    http: responses.RequestsMock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.support import make_repo

    root = make_repo(tmp_path / "repo")
    shutil.copytree(CHECKOUT / ".github" / "workflows", root / ".github" / "workflows")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_REPOSITORY", "example-org/access")
    monkeypatch.setattr(
        adapters,
        "github",
        lambda *_: GitHubClient(
            "example-org/access", "t", sleep=lambda _s: None, clock=lambda: NOW
        ),
    )
    reset = str(int(NOW) + 3600)
    http.add(
        responses.GET,
        f"{API}/repos/example-org/access",
        json=PRIMARY,
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
    )

    code = cli.main(["doctor", "--root", str(root)])

    assert code == 3
    assert "primary rate limit (core)" in capsys.readouterr().err


def test_the_budget_fits_every_job_that_runs_lapse_against_github() -> None:
    """Half of the shortest timeout of a job that runs lapse stays for its work."""
    timeouts = []
    for workflow in sorted((CHECKOUT / ".github" / "workflows").glob("*.yml")):
        jobs = yaml.safe_load(workflow.read_text())["jobs"]
        for name, job in jobs.items():
            runs = " ".join(str(step.get("run", "")) for step in job.get("steps", []))
            if re.search(r"\blapse (expire|review|drift|verify-|emergency|withdraw)", runs):
                assert "timeout-minutes" in job, f"{workflow.name}: job {name}"
                timeouts.append(int(job["timeout-minutes"]))
    assert timeouts, "no job runs lapse against GitHub: the pattern above is stale"
    assert min(timeouts) * 60 / 2 >= BUDGET_SECONDS


@pytest.mark.parametrize("header", ["nan", "-5", "1e999", "soon", ""])
def test_a_retry_after_that_is_no_number_of_seconds_waits_as_a_secondary_limit(
    http: responses.RequestsMock, client: GitHubClient, waits: list[float], header: str
) -> None:
    limited(http, 403, SECONDARY, **{"retry-after": header})
    answered(http)

    read(client)
    assert waits == [60.0]


def test_a_retry_after_past_the_budget_ends_at_once(
    http: responses.RequestsMock, client: GitHubClient, waits: list[float]
) -> None:
    limited(http, 403, SECONDARY, **{"retry-after": "86400"})

    with pytest.raises(ServiceError, match=r"secondary rate limit \(retry-after\)"):
        read(client)
    assert waits == []
