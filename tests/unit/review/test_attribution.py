"""A credential minted with a minted credential is still the person's, however deep."""

from __future__ import annotations

from datetime import timedelta

from generator.core.model import Event, Severity
from generator.review.analysis import review_all
from generator.review.attribution import Mint, handed_on

from .conftest import GRACE, at, event, subject

FIRST = "relay-1@pci-prod-payments.iam.gserviceaccount.com"
SECOND = "relay-2@pci-prod-payments.iam.gserviceaccount.com"
SECRET = "projects/pci-prod-payments/secrets/bank-api-key"


def mint(by: str, account: str, when: str, insert_id: str) -> Event:
    resource = f"projects/-/serviceAccounts/{account}"
    return event(
        at_time=when,
        principal=by,
        method="GenerateAccessToken",
        service="iamcredentials.googleapis.com",
        resource=resource,
        permissions=(("iam.serviceAccounts.getAccessToken", resource, True),),
        insert_id=insert_id,
    )


def secret_read(by: str, when: str) -> Event:
    return event(
        at_time=when,
        principal=by,
        method="google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion",
        service="secretmanager.googleapis.com",
        resource=f"{SECRET}/versions/1",
        permissions=(("secretmanager.versions.access", f"{SECRET}/versions/1", True),),
        insert_id="read",
    )


def test_a_token_minted_through_a_second_account_is_the_persons() -> None:
    events = [
        mint("alice@example.com", FIRST, "2026-12-01T10:00:00", "mint-1"),
        mint(FIRST, SECOND, "2026-12-01T10:02:00", "mint-2"),
        secret_read(SECOND, "2026-12-01T10:05:00"),
    ]

    review = review_all([subject()], events, grace=GRACE)[0]

    found = {(f.severity, f.kind): f.message for f in review.findings if "read" in f.evidence}
    assert set(found) == {(Severity.HIGH, "unexplained"), (Severity.INFO, "delegation")}
    assert "secretmanager.versions.access" in found[Severity.HIGH, "unexplained"]
    assert (
        found[Severity.INFO, "delegation"]
        == f"acted through alice@example.com -> {FIRST} -> {SECOND}"
    )


def test_a_relay_before_the_persons_minting_or_after_its_token_is_not_theirs() -> None:
    held = {FIRST: [Mint(FIRST, at("2026-12-01T10:00:00"), "mint-1", "alice@example.com")]}
    relays = [
        Mint(SECOND, at("2026-12-01T09:59:00"), "early", FIRST),
        Mint(SECOND, at("2026-12-01T23:00:00"), "late", FIRST),
        Mint(SECOND, at("2026-12-01T10:30:00"), "in-time", FIRST),
        Mint("third@p.iam.gserviceaccount.com", at("2026-12-01T10:40:00"), "deeper", SECOND),
        Mint("alice@example.com", at("2026-12-01T10:41:00"), "back", SECOND),
    ]

    found = handed_on(held, relays, lifetime=timedelta(hours=12))

    assert [(m.insert_id, m.person, m.via) for m in found[SECOND]] == [
        ("in-time", "alice@example.com", (FIRST,))
    ]
    assert [(m.insert_id, m.via) for m in found["third@p.iam.gserviceaccount.com"]] == [
        ("deeper", (FIRST, SECOND))
    ]
    assert "alice@example.com" not in found


def test_relays_read_newest_first_still_reach_the_person() -> None:
    """A source may hand the entries in any order: a minting read before the one whose
    credential it used is still the person's once that one is known, however deep."""
    third = "relay-3@pci-prod-payments.iam.gserviceaccount.com"
    events = [
        secret_read(third, "2026-12-01T10:05:00"),
        mint(SECOND, third, "2026-12-01T10:03:00", "mint-3"),
        mint(FIRST, SECOND, "2026-12-01T10:02:00", "mint-2"),
        mint("alice@example.com", FIRST, "2026-12-01T10:00:00", "mint-1"),
    ]

    review = review_all([subject()], events, grace=GRACE)[0]

    delegations = [f.message for f in review.findings if f.kind == "delegation"]
    assert f"acted through alice@example.com -> {FIRST} -> {SECOND} -> {third}" in delegations
