"""A credential minted with a minted credential is still the person's, however deep."""

from __future__ import annotations

from datetime import timedelta

from msgspec.structs import replace

from generator.core.audit_event import Event
from generator.core.model import Severity
from generator.review.analysis import review_all
from generator.review.attribution import (
    Mint,
    attributed,
    binding_appeared,
    credential_for,
    handed_on,
    mint_of,
    relay_of,
)

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


# --- each credential's window, read entry by entry ---------------------------------------------

ALICE = "alice@example.com"


def test_a_use_counts_from_the_entry_after_the_minting_to_just_before_the_lifetime_ends() -> None:
    """Entries of the same second are ordered by insertId; the minting entry itself and the
    first instant past the lifetime are not the credential's use."""
    minted = mint_of(mint(ALICE, FIRST, "2026-12-01T10:00:00", "m-5"), {ALICE})
    assert minted == Mint(FIRST, at("2026-12-01T10:00:00"), "m-5", ALICE)
    held = {FIRST: [minted]}
    lifetime = timedelta(hours=1)

    def holders(when: str, insert_id: str) -> list[str]:
        use = event(at_time=when, principal=FIRST, insert_id=insert_id)
        return [e.principal for e in attributed(use, {ALICE}, held, lifetime=lifetime)]

    assert holders("2026-12-01T10:00:00", "m-4") == []
    assert holders("2026-12-01T10:00:00", "m-5") == []
    assert holders("2026-12-01T10:00:00", "m-6") == [ALICE]
    assert holders("2026-12-01T10:59:59", "z") == [ALICE]
    assert holders("2026-12-01T11:00:00", "a") == []


def test_a_persons_earliest_live_credential_gives_the_chain_whatever_the_order_given() -> None:
    direct = Mint(SECOND, at("2026-12-01T10:00:00"), "m-1", ALICE)
    relayed = Mint(SECOND, at("2026-12-01T10:01:00"), "m-2", ALICE, (FIRST,))
    use = event(at_time="2026-12-01T10:05:00", principal=SECOND, insert_id="use")
    for held in ([direct, relayed], [relayed, direct]):
        (found,) = attributed(use, {ALICE}, {SECOND: held})
        assert (found.principal, found.chain) == (ALICE, (SECOND,))


def test_an_event_that_mints_nothing_is_no_credential() -> None:
    read = secret_read(ALICE, "2026-12-01T10:00:00")
    assert mint_of(read, {ALICE}) is None
    assert relay_of(read) is None


def test_a_relay_is_read_with_its_entry_and_reaches_through_a_minting_of_the_same_second() -> None:
    relay = relay_of(mint(FIRST, SECOND, "2026-12-01T10:00:00", "m-2"))
    assert relay == Mint(SECOND, at("2026-12-01T10:00:00"), "m-2", FIRST)
    held = {FIRST: [Mint(FIRST, at("2026-12-01T10:00:00"), "m-1", ALICE)]}
    found = handed_on(held, [relay])
    assert found[SECOND] == [Mint(SECOND, at("2026-12-01T10:00:00"), "m-2", ALICE, (FIRST,))]


def test_only_a_granted_act_as_on_an_account_gives_its_credential() -> None:
    account = f"projects/-/serviceAccounts/{FIRST}"
    granted = (("iam.serviceAccounts.actAs", account, True),)
    assert credential_for(event(permissions=granted)) == FIRST
    for permissions in (
        (("iam.serviceAccounts.actAs", account, False),),
        (("iam.serviceAccounts.get", account, True),),
        (("iam.serviceAccounts.actAs", "projects/-/buckets/b", True),),
    ):
        assert credential_for(event(permissions=permissions)) == ""


def test_a_relay_counts_from_the_entry_after_the_minting_to_just_before_the_lifetime_ends() -> None:
    held = {FIRST: [Mint(FIRST, at("2026-12-01T10:00:00"), "m-5", ALICE)]}

    def reached(when: str, insert_id: str) -> bool:
        relay = Mint(SECOND, at(when), insert_id, FIRST)
        found = handed_on(held, [relay], lifetime=timedelta(hours=1))
        return SECOND in found

    assert not reached("2026-12-01T10:00:00", "m-5")
    assert reached("2026-12-01T10:00:00", "m-6")
    assert reached("2026-12-01T10:59:59", "z")
    assert not reached("2026-12-01T11:00:00", "a")


def test_a_credential_passed_over_does_not_stop_the_others_of_the_account() -> None:
    """An expired credential, or the relay's own account, listed first: the live credential
    after it is still handed on."""
    relay = Mint(SECOND, at("2026-12-01T10:30:00"), "r", FIRST)
    expired = Mint(FIRST, at("2026-12-01T08:00:00"), "old", "bob@example.com")
    own = Mint(FIRST, at("2026-12-01T10:00:00"), "own", SECOND)
    live = Mint(FIRST, at("2026-12-01T10:00:00"), "m", ALICE)
    for first in (expired, own):
        found = handed_on({FIRST: [first, live]}, [relay], lifetime=timedelta(hours=1))
        assert [(m.person, m.via) for m in found[SECOND]] == [(ALICE, (FIRST,))]


def test_a_binding_appears_only_when_the_request_member_is_added_under_its_title() -> None:
    ours = ("ADD", "user:alice@example.com", "roles/cloudsql.client")
    title = "lapse/inc-4512-settlement-batch/0"
    added = replace(event(deltas=(ours,)), delta_conditions=(title,))
    assert binding_appeared(subject(), [added]) == (added.timestamp, added.insert_id)
    for delta in (("REMOVE", *ours[1:]), ("ADD", "user:bob@example.com", ours[2])):
        other = replace(event(deltas=(delta,)), delta_conditions=(title,))
        assert binding_appeared(subject(), [other]) is None
