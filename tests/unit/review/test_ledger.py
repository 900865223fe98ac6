"""The ledger's rows are the actions counted one by one, however often they were merged."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.review import ledger as ledger_module
from generator.review.ledger import ActionLedger, Key, Row
from tests.lanes import examples

START = datetime(2026, 11, 1, tzinfo=UTC)
keys = st.tuples(
    st.sampled_from([0, 1]),
    st.booleans(),
    st.just("storage.googleapis.com"),
    st.sampled_from(["storage.objects.get", "storage.objects.list"]),
    st.sampled_from(["", "projects/_/buckets/b", "projects/_/buckets/b/objects/a"]),
)
actions = st.lists(
    st.tuples(
        keys,
        st.booleans(),
        st.integers(-(10**12), 10**12).map(lambda n: START + timedelta(microseconds=n)),
    ),
    max_size=30,
)


def counted_one_by_one(done: list[tuple[Key, bool, datetime]], grant: int, after: bool) -> set[Row]:
    rows: dict[tuple[str, str, str], Row] = {}
    for (key_grant, key_after, service, method, resource), denied, at in done:
        if (key_grant, key_after) != (grant, after):
            continue
        _, _, _, count, refused, first, last = rows.get(
            (service, method, resource), (service, method, resource, 0, 0, at, at)
        )
        rows[service, method, resource] = (
            service,
            method,
            resource,
            count + 1,
            refused + denied,
            min(first, at),
            max(last, at),
        )
    return set(rows.values())


@settings(max_examples=examples(300), derandomize=True, database=None, deadline=None)
@given(done=actions, held=st.sampled_from([2, 3, 8192]))
def test_rows_are_the_actions_counted_one_by_one(
    done: list[tuple[Key, bool, datetime]], held: int
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger_module, "HELD", held)
        ledger = ActionLedger()
        for key, denied, at in done:
            ledger.add(key, denied, at)
        for grant in (0, 1):
            for after in (False, True):
                assert set(ledger.rows(grant, after)) == counted_one_by_one(done, grant, after)


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.tuples(texts, texts, texts, st.integers(1, 3)),
        max_size=25,
    )
)
def test_rows_come_busiest_first_as_the_review_orders_actions(
    done: list[tuple[str, str, str, int]],
) -> None:
    """The ledger sorts in SQLite (text as UTF-8 bytes); the review lists actions as
    `_busiest` sorts them in Python (code points): the two orders are one."""
    from generator.review.analysis import ActionCount, _busiest

    ledger = ActionLedger()
    for service, method, resource, times in done:
        for _ in range(times):
            ledger.add((0, False, service, method, resource), False, START)
    rows = [ActionCount(*row) for row in ledger.rows(0, False)]
    assert rows == list(_busiest(rows))


def _ledger(done: list[tuple[Key, bool, datetime]]) -> ActionLedger:
    ledger = ActionLedger()
    for key, denied, at in done:
        ledger.add(key, denied, at)
        if not key[1]:
            ledger.add_time(key[0], at)
    return ledger


def _everything(ledger: ActionLedger) -> tuple[object, ...]:
    return tuple(
        (list(ledger.listing(grant, after)), ledger.times(grant))
        for grant in (0, 1)
        for after in (False, True)
    )


@settings(max_examples=examples(200), derandomize=True, database=None, deadline=None)
@given(
    done=actions,
    cuts=st.lists(st.integers(0, 30), max_size=4),
    attached=st.sampled_from([1, 2, 8]),
)
def test_a_ledger_with_others_absorbed_lists_what_one_ledger_of_every_action_does(
    done: list[tuple[Key, bool, datetime]], cuts: list[int], attached: int
) -> None:
    """Another process's ledger is attached, not merged (`absorb`): its rows are added up
    with these where they are listed; past `ATTACHED` files, or when the whole is `stored`,
    the attached are merged in. Either way the rows and the instants are those of one ledger
    that took every action, in the order they came."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger_module, "HELD", 3)
        patch.setattr(ledger_module, "ATTACHED", attached)
        bounds = [0, *sorted(cuts), len(done)]
        slices = [done[a:b] for a, b in itertools.pairwise(bounds)]
        whole, others = _ledger(slices[0]), [_ledger(part) for part in slices[1:]]
        for other in others:
            stored = other.stored()
            if stored is not None:
                whole.absorb(stored)
                assert not stored.exists()  # moved beside `whole`'s file, which now owns it
        expected = _everything(_ledger(done))
        assert _everything(whole) == expected
        folder = whole.stored()
        assert _everything(whole) == expected
        if folder is not None:  # one file, every part merged into it and removed
            assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]
