"""`account_event` keeps exactly the events `concerns` says are read for a review."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from generator.review.sources import GapRecord, concerns
from tests.lanes import examples

from .conftest import at, event

people = st.sampled_from(["alice@example.com", "ALICE@example.com", "bob@example.com", ""])


@settings(max_examples=examples(300), derandomize=True, database=None, deadline=None)
@given(
    principal=people,
    chain=st.lists(people, max_size=2).map(tuple),
    titles=st.lists(st.sampled_from(["lapse/inc-1/x", "other", ""]), max_size=2).map(tuple),
    wanted=st.sets(st.sampled_from(["alice@example.com", "carol@example.com"])),
)
def test_an_event_is_kept_when_concerns_says_it_is_read(
    principal: str, chain: tuple[str, ...], titles: tuple[str, ...], wanted: set[str]
) -> None:
    read = replace(event(principal=principal), chain=chain, delta_conditions=titles)
    record = GapRecord()
    start = at("2026-12-01T00:00:00")
    kept = record.account_event(read, set(wanted), start, start + timedelta(days=1))
    assert (kept is read) is concerns(principal, chain, titles, wanted)
    assert record.accounting.events + record.accounting.other_principals == 1
