"""Builders shared by the post-access review tests: requests, subjects, fixture entries."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from generator.core.audit_event import Event
from generator.core.model import Grant, Request, Window
from generator.review.analysis import ReviewSubject
from generator.review.events import normalize

DATA = Path(__file__).resolve().parents[2] / "data" / "audit"
GRACE = timedelta(minutes=10)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def load_entry(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return data


def fixture_event(name: str) -> Event:
    event = normalize(load_entry(name))
    assert event is not None
    return event


def roles_lock() -> dict[str, frozenset[str]]:
    raw = json.loads((DATA / "roles.lock.json").read_text())
    return {role: frozenset(permissions) for role, permissions in raw.items()}


def request(
    *,
    id: str = "inc-4512-settlement-batch",
    requester: str = "alice@example.com",
    starts: str | None = "2026-12-01T09:00:00",
    expires: str = "2026-12-01T13:00:00",
    grants: tuple[Grant, ...] = (
        Grant("roles/cloudsql.client", "project", "pci-prod-payments"),
        Grant("roles/storage.objectViewer", "bucket", "settlement-exports"),
    ),
    target: str = "pci-prod",
    reason: str = "Investigate failed settlement batch for merchant 4411",
) -> Request:
    return Request(
        id=id,
        target=target,
        path=f"archive/{target}/{expires[:7]}/{id}.yaml",
        requester=requester,
        reason=reason,
        ticket="INC-4512",
        window=Window(at(starts) if starts else None, at(expires)),
        grants=grants,
    )


def subject(req: Request | None = None, **options: Any) -> ReviewSubject:
    options.setdefault("archived", True)
    options.setdefault("permissions_by_role", roles_lock())
    options.setdefault("project_of", {"settlement-exports": "pci-prod-payments"})
    options.setdefault("project_numbers", {"318305520187": "pci-prod-payments"})
    return ReviewSubject(request=req or request(), **options)


def event(
    *,
    at_time: str = "2026-12-01T09:30:00",
    principal: str = "alice@example.com",
    method: str = "storage.objects.get",
    resource: str = "projects/_/buckets/settlement-exports/objects/a.csv",
    permissions: tuple[tuple[str, str, bool], ...] | None = None,
    status: int = 0,
    insert_id: str = "id-1",
    service: str = "storage.googleapis.com",
    log_name: str = "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Fdata_access",
    deltas: tuple[tuple[str, str, str], ...] = (),
) -> Event:
    if permissions is None:
        permissions = ((method, resource, status == 0),)
    return Event(
        insert_id=insert_id,
        timestamp=at(at_time),
        log_name=log_name,
        principal=principal,
        service=service,
        method=method,
        resource_name=resource,
        status_code=status,
        permissions=permissions,
        binding_deltas=deltas,
    )


@pytest.fixture
def write_lines(tmp_path: Path) -> Callable[[list[Any]], Path]:
    def write(entries: list[Any]) -> Path:
        path = tmp_path / "export.jsonl"
        path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries))
        return path

    return write


SCENARIO = Path(__file__).resolve().parents[2] / "data" / "audit_scenario" / "scenario.jsonl"


def scenario_subject() -> ReviewSubject:
    """The grant the lined-up scenario of real entries (tests/data/audit_scenario/) is read against.

    No project numbers are given: the entries' own labels name the project.
    """
    return ReviewSubject(
        request=request(
            grants=(
                Grant("roles/cloudsql.client", "project", "pci-prod-payments"),
                Grant("roles/storage.objectViewer", "bucket", "settlement-exports"),
            )
        ),
        archived=True,
        permissions_by_role=roles_lock(),
        project_of={"settlement-exports": "pci-prod-payments"},
    )
