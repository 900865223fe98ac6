"""Whose events are whose, and when each binding really appeared. Pure functions.

An event belongs to a person when they are its caller, the first party of its delegation chain
(`events.actor` reads both), or when it is a service account's activity while a credential the
person minted for that account was alive (GenerateAccessToken, SignJwt, SignBlob,
GenerateIdToken, or a granted `iam.serviceAccounts.actAs` / `getAccessToken`). Such an event is
handed to the person with the account put in front of its chain, so reports show the chain.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from generator.core.model import Event
from generator.review.sources import minted_account
from generator.review.subjects import ReviewSubject

# An access token lives one hour unless the minting asked for longer (up to 12 hours, which
# needs an organization policy exception): the longer bound is taken, so no use is missed.
TOKEN_LIFETIME = timedelta(hours=12)
_ACT_AS = frozenset({"iam.serviceAccounts.actAs", "iam.serviceAccounts.getAccessToken"})
_ACCOUNT_MARKER = "serviceAccounts/"


@dataclass(frozen=True, slots=True)
class Mint:
    """A credential for `account` that `person` obtained at `at` (entry `insert_id`)."""

    account: str
    at: datetime
    insert_id: str
    person: str


def mint_of(event: Event, wanted: Collection[str]) -> Mint | None:
    """The credential a wanted person's event obtained, if any."""
    person = event.principal.lower()
    if person not in wanted:
        return None
    account = credential_for(event)
    return Mint(account, event.timestamp, event.insert_id, person) if account else None


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
    if person in wanted:
        return [event]
    moment = (event.timestamp, event.insert_id)
    holders = sorted(
        {
            m.person
            for m in mints.get(person, ())
            if (m.at, m.insert_id) < moment and event.timestamp < m.at + lifetime
        }
    )
    chain = (event.principal, *event.chain)
    return [replace(event, principal=holder, chain=chain) for holder in holders]


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
