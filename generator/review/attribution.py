"""Whose events are whose, and when each binding really appeared. Pure functions.

An event belongs to a person when they are its caller, the first party of its delegation chain
(`events.actor` reads both), or when it is a service account's activity while a credential the
person minted for that account was alive (GenerateAccessToken, SignJwt, SignBlob,
GenerateIdToken, or a granted `iam.serviceAccounts.actAs` / `getAccessToken`). Such an event is
handed to the person with the account put in front of its chain, so reports show the chain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from generator.core.model import Event
from generator.review.sources import minted_account
from generator.review.subjects import ReviewSubject

# An access token lives one hour unless the minting asked for longer (up to 12 hours, which
# needs an organization policy exception): the longer bound is taken, so no use is missed.
TOKEN_LIFETIME = timedelta(hours=12)
_ACT_AS = frozenset({"iam.serviceAccounts.actAs", "iam.serviceAccounts.getAccessToken"})
_ACCOUNT_MARKER = "serviceAccounts/"


def events_by_person(
    events: Iterable[Event], people: Iterable[str], *, lifetime: timedelta = TOKEN_LIFETIME
) -> dict[str, list[Event]]:
    """Each wanted person's events, their delegated and minted-credential activity included."""
    wanted = {p.lower() for p in people}
    ordered = sorted(events, key=lambda e: (e.timestamp, e.insert_id))
    tokens: dict[str, list[tuple[datetime, str]]] = defaultdict(list)  # account -> (at, person)
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in ordered:
        person = event.principal.lower()
        if person in wanted:
            grouped[person].append(event)
            account = credential_for(event)
            if account:
                tokens[account].append((event.timestamp, person))
            continue
        for holder in _token_holders(tokens.get(person, ()), event.timestamp, lifetime):
            grouped[holder].append(
                replace(event, principal=holder, chain=(event.principal, *event.chain))
            )
    return dict(grouped)


def credential_for(event: Event) -> str:
    """The service account whose credentials (or identity) the event gave its caller."""
    minted = minted_account(event)
    if minted:
        return minted
    for permission, resource, granted in event.permissions:
        if granted and permission in _ACT_AS and _ACCOUNT_MARKER in resource:
            return resource[resource.index(_ACCOUNT_MARKER) + len(_ACCOUNT_MARKER) :].lower()
    return ""


def _token_holders(
    minted: Sequence[tuple[datetime, str]], at: datetime, lifetime: timedelta
) -> list[str]:
    return sorted({person for when, person in minted if when <= at < when + lifetime})


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
