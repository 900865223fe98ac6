"""Building throwaway lapse repositories for tests, from this repository's own files."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import responses

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def make_repo(root: Path, *, with_requests: bool = False) -> Path:
    """A copy of this repository's policy, schemas and Terraform root module under `root`."""
    for folder in ("policy", "schemas"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "terraform" / "grants").mkdir(parents=True)
    for tf in (REPO / "terraform").glob("*.tf"):
        shutil.copy(tf, root / "terraform" / tf.name)
    shutil.copy(REPO / "terraform" / "grants" / "_module.tf", root / "terraform" / "grants")
    if with_requests:
        shutil.copytree(REPO / "requests", root / "requests")
    else:
        (root / "requests").mkdir()
    return root


# Every project, folder and organization the sample requests reach.
SAMPLE_SCOPE = {
    "projects": ["pci-prod-payments", "pci-prod-analytics", "stg-payments"],
    "folders": ["204518736091", "381920475512"],
    "organizations": ["618305524870"],
}


def export_manifest(
    export: Path,
    *,
    start: str = "2026-01-01T00:00:00Z",
    end: str = "2027-01-01T00:00:00Z",
    scope: dict[str, list[str]] | None = None,
) -> Path:
    """The manifest stating what the export at `export` (a file or a folder) holds."""
    target = export / "manifest.json" if export.is_dir() else Path(f"{export}.manifest.json")
    data = {"start": start, "end": end, **(SAMPLE_SCOPE if scope is None else scope)}
    target.write_text(json.dumps(data, indent=2) + "\n")
    return target


def place(root: Path, relative: str, data: bytes | str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def answers_may_go_unused(http: responses.RequestsMock, why: str) -> None:
    """Let this test end with registered answers unused; `why` says which fake needs it.

    Only for fakes that answer every route a command might take (a stateful GitHub, a healthy
    cloud); a test of one call registers exactly the answers it expects to be asked for.
    """
    assert why.strip(), "say why answers may go unused"
    http.assert_all_requests_are_fired = False


def serve_empty_policies(http: responses.RequestsMock) -> None:
    """Answer every IAM read not registered before with an empty version-3 policy."""
    answers_may_go_unused(http, "a healthy cloud answers every service a command may read")
    empty = {"version": 3, "etag": "BwYbH9aE6Kc=", "bindings": []}
    http.add(
        responses.POST, re.compile(r"https://cloudresourcemanager\.googleapis\.com/.*"), json=empty
    )
    http.add(responses.GET, re.compile(r"https://storage\.googleapis\.com/.*"), json=empty)
    http.add(responses.GET, re.compile(r"https://secretmanager\.googleapis\.com/.*"), json=empty)
    http.add(responses.POST, re.compile(r"https://iam\.googleapis\.com/.*"), json=empty)
    dataset = {"kind": "bigquery#dataset", "etag": "AAAA", "access": []}
    http.add(responses.GET, re.compile(r"https://bigquery\.googleapis\.com/.*"), json=dataset)


def archive_of(path: str, month: str) -> str:
    """`requests/<t>/[emergency/]<id>.yaml` -> where expiry files it for a window that ended
    in `month` (YYYY-MM): `archive/<t>/[emergency/]<month>/<id>.yaml`."""
    folder, _, name = path.replace("requests/", "archive/", 1).rpartition("/")
    return f"{folder}/{month}/{name}"
