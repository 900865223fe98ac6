"""Generated requests that pass validation are requests the policy allows.

`test_validator_never_raises_on_yaml_shaped_data` rarely builds a valid request by chance; here
requests are valid by construction, then one field at a time is pushed past a limit, so that
both the accepted and the refused branches are taken, and whatever is accepted is checked
against the policy directly (an oracle independent of the rule code).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.checks.validate import validate_repo
from generator.core.repo import Repo
from generator.core.times import format_utc
from tests.lanes import examples
from tests.support import NOW, make_repo

PATH = "requests/pci-prod/gen-4512-batch.yaml"
PEOPLE = ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]
GRANTS = [
    {"role": "roles/cloudsql.client", "project": "pci-prod-payments"},
    {"role": "roles/storage.objectViewer", "bucket": "settlement-exports"},
    {
        "role": "roles/secretmanager.viewer",
        "secret": "projects/pci-prod-payments/secrets/settlement-db-readonly",
    },
    {"role": "roles/bigquery.dataViewer", "dataset": "pci-prod-analytics.chargebacks"},
]
MAX_DURATION = timedelta(hours=4)
MAX_LEAD = timedelta(days=7)
ALLOWED_ROLES = {
    "roles/cloudsql.client",
    "roles/cloudsql.viewer",
    "roles/storage.objectViewer",
    "roles/secretmanager.viewer",
    "roles/bigquery.dataViewer",
    "roles/logging.viewer",
}


@st.composite
def valid_requests(draw: st.DrawFn) -> dict[str, Any]:
    lead = draw(st.integers(0, int(MAX_LEAD.total_seconds())))
    length = draw(st.integers(1, int(MAX_DURATION.total_seconds())))
    starts = NOW + timedelta(seconds=lead)
    return {
        "requester": draw(st.sampled_from(PEOPLE)),
        "reason": draw(st.sampled_from(["Investigate failed settlement batch", "Reconcile totals"]))
        + draw(st.text(alphabet="abcdefghij ", max_size=30)),
        "ticket": f"INC-{draw(st.integers(1000, 999999))}",
        "starts": format_utc(starts),
        "expires": format_utc(starts + timedelta(seconds=length)),
        "grants": draw(st.lists(st.sampled_from(GRANTS), min_size=1, max_size=3, unique_by=str)),
    }


PERTURBATIONS = {
    "longer": lambda r: {**r, "expires": _shift(r["expires"], timedelta(hours=3, seconds=1))},
    "later": lambda r: {
        **r,
        "starts": _shift(r["starts"], MAX_LEAD),
        "expires": _shift(r["expires"], MAX_LEAD),
    },
    "stranger": lambda r: {**r, "requester": "mallory@example.com"},
    "other-domain": lambda r: {**r, "requester": "alice@example.org"},
    "ticket": lambda r: {**r, "ticket": r["ticket"].replace("INC-", "CHG-")},
    "role": lambda r: {**r, "grants": [{**r["grants"][0], "role": "roles/cloudsql.admin"}]},
    "project": lambda r: {**r, "grants": [{"role": "roles/cloudsql.client", "project": "sandbox"}]},
    "past": lambda r: {
        **r,
        "starts": format_utc(NOW - timedelta(hours=2)),
        "expires": format_utc(NOW - timedelta(seconds=1)),
    },
}


def _shift(text: str, by: timedelta) -> str:
    return format_utc(datetime.fromisoformat(text.replace("Z", "+00:00")) + by)


def allowed_by_policy(data: dict[str, Any]) -> bool:
    """pci-prod's policy, restated: who, how long, how far ahead, which ticket, roles, places."""
    starts = datetime.fromisoformat(data["starts"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(data["expires"].replace("Z", "+00:00"))
    resources = {(k, v) for g in GRANTS for k, v in g.items() if k != "role"}
    return (
        data["requester"] in PEOPLE
        and expires > NOW
        and starts < expires <= starts + MAX_DURATION
        and starts - NOW <= MAX_LEAD
        and data["ticket"].startswith("INC-")
        and all(g["role"] in ALLOWED_ROLES for g in data["grants"])
        and all((k, v) in resources for g in data["grants"] for k, v in g.items() if k != "role")
    )


@pytest.fixture(scope="module")
def repo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("repo"))


def validate(root: Path, data: dict[str, Any]) -> tuple[int, int]:
    path = root / PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = validate_repo(Repo.at(root), now=NOW, time_checked={PATH})
    return len(result.requests), len(result.errors)


SETTINGS = settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(valid_requests())
def test_every_request_the_policy_allows_passes(repo_root: Path, data: dict[str, Any]) -> None:
    assert allowed_by_policy(data)
    assert validate(repo_root, data) == (1, 0)


@SETTINGS
@given(valid_requests(), st.sampled_from(sorted(PERTURBATIONS)))
def test_passed_means_allowed(repo_root: Path, data: dict[str, Any], change: str) -> None:
    changed = PERTURBATIONS[change](data)
    accepted, errors = validate(repo_root, changed)
    assert (accepted == 1) == (errors == 0)
    assert (accepted == 1) == allowed_by_policy(changed), (change, changed)
