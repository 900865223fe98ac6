"""Whose events are whose, and when each binding really appeared. Pure functions.

An event belongs to a person when they appear anywhere in it: its caller or any link of its
delegation chain (`events.actor` reads both; a Google-managed first party in front of the
person, as Cloud SQL's connector writes it, hides nobody), or when it is a service account's
activity while a credential the
person minted for that account was alive (GenerateAccessToken, SignJwt, SignBlob,
GenerateIdToken, or a granted `iam.serviceAccounts.actAs` / `getAccessToken`). Such an event is
handed to the person with the account put in front of its chain, so reports show the chain.
A credential minted with a minted credential is the person's too (`handed_on`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from msgspec.structs import replace

from generator.core.audit_event import Event
from generator.review.sources import minted_account
from generator.review.subjects import ReviewSubject

# An access token lives one hour unless the minting asked for longer (up to 12 hours, which
# needs an organization policy exception): the longer bound is taken, so no use is missed.
TOKEN_LIFETIME = timedelta(hours=12)
_ACT_AS = frozenset({"iam.serviceAccounts.actAs", "iam.serviceAccounts.getAccessToken"})
_ACCOUNT_MARKER = "serviceAccounts/"


@dataclass(frozen=True, slots=True)
class Mint:
    """A credential for `account` that `person` obtained at `at` (entry `insert_id`), through
    the accounts `via` when it was minted with another account's credential."""

    account: str
    at: datetime
    insert_id: str
    person: str
    via: tuple[str, ...] = ()


def named(event: Event, wanted: Collection[str]) -> list[str]:
    """The wanted people the event names, as its caller or as a link of its chain."""
    if not event.chain:  # most events: the caller alone
        caller = event.principal.lower()
        return [caller] if caller in wanted else []
    return [
        who
        for who in dict.fromkeys(n.lower() for n in (event.principal, *event.chain))
        if who in wanted
    ]


def mint_of(event: Event, wanted: Collection[str]) -> Mint | None:
    """The credential a wanted person's event obtained, if any."""
    people = named(event, wanted)
    if not people:
        return None
    account = credential_for(event)
    return Mint(account, event.timestamp, event.insert_id, people[0]) if account else None


def relay_of(event: Event) -> Mint | None:
    """The credential another principal's event obtained: `person` is that principal."""
    account = credential_for(event)
    return (
        Mint(account, event.timestamp, event.insert_id, event.principal.lower())
        if account
        else None
    )


def handed_on(
    mints: Mapping[str, Sequence[Mint]],
    relays: Sequence[Mint],
    *,
    lifetime: timedelta = TOKEN_LIFETIME,
) -> dict[str, list[Mint]]:
    """`mints` and every credential minted with one of them, however many accounts deep.

    Whoever held X's credential when X minted Y's holds Y's too, from that minting on: a
    person cannot step out of the review by minting through a second service account.
    """
    found = {account: list(held) for account, held in mints.items()}
    known = {(m.account, m.insert_id, m.person) for held in found.values() for m in held}
    grown = True
    while grown:
        grown = False
        for relay in relays:
            for held in list(found.get(relay.person, ())):
                alive = (held.at, held.insert_id) < (relay.at, relay.insert_id)
                if not alive or relay.at >= held.at + lifetime:
                    continue
                key = (relay.account, relay.insert_id, held.person)
                if key in known or relay.account == held.person:
                    continue
                known.add(key)
                via = (*held.via, relay.person)
                found.setdefault(relay.account, []).append(
                    Mint(relay.account, relay.at, relay.insert_id, held.person, via)
                )
                grown = True
    return found


def attributed(
    event: Event,
    wanted: Collection[str],
    mints: Mapping[str, Sequence[Mint]],
    *,
    lifetime: timedelta = TOKEN_LIFETIME,
) -> list[Event]:
    """The event as each wanted person's it is: theirs, or their minted credential's use.

    A credential counts from its minting entry on (in (time, insertId) order, as the entries
    are read sorted) for `lifetime`, so the events may come in any order.
    """
    person = event.principal.lower()
    people = named(event, wanted)
    if people:
        # Named anywhere in it (behind a Google-managed first party, say): the event is each
        # named person's, through the links that follow them.
        links = [n.lower() for n in (event.principal, *event.chain)]
        return [
            event
            if who == person
            else replace(event, principal=who, chain=event.chain[links.index(who) :])
            for who in people
        ]
    moment = (event.timestamp, event.insert_id)
    holders: dict[str, tuple[str, ...]] = {}
    for mint in sorted(mints.get(person, ()), key=lambda m: (m.at, m.insert_id)):
        if (mint.at, mint.insert_id) < moment and event.timestamp < mint.at + lifetime:
            holders.setdefault(mint.person, mint.via)
    return [
        replace(event, principal=holder, chain=(*via, event.principal, *event.chain))
        for holder, via in sorted(holders.items())
    ]


def credential_for(event: Event) -> str:
    """The service account whose credentials (or identity) the event gave its caller."""
    minted = minted_account(event)
    if minted:
        return minted
    for permission, resource, granted in event.permissions:
        if granted and permission in _ACT_AS and _ACCOUNT_MARKER in resource:
            return resource[resource.index(_ACCOUNT_MARKER) + len(_ACCOUNT_MARKER) :].lower()
    return ""


def binding_appeared(
    subject: ReviewSubject, events: Iterable[Event]
) -> tuple[datetime, str] | None:
    """(when, insertId) of the first successful SetIamPolicy adding this request's binding.

    Ours is recognised by member and condition title (`lapse/<id>/...`), whoever applied it.
    """
    member = f"user:{subject.principal}"
    prefix = f"lapse/{subject.request.id}/"
    found = [
        (event.timestamp, event.insert_id)
        for event in events
        if event.status_code == 0
        and any(
            action.upper() == "ADD" and who.lower() == member and title.startswith(prefix)
            for (action, who, _), title in zip(
                event.binding_deltas, event.delta_conditions, strict=False
            )
        )
    ]
    return min(found) if found else None
