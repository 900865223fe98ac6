"""A tally judges each kind of event once: what it remembers is what `event_evidence` says."""

from __future__ import annotations

from dataclasses import replace

import pytest

from generator.review.analysis import collect, review_collected
from generator.review.ledger import ActionLedger
from generator.review.tally import Tally, event_evidence

from .conftest import GRACE, event, request, subject

BUCKET = "projects/_/buckets/settlement-exports/objects"
SQL = "projects/pci-prod-payments/instances/settlement-db"
OTHER_LOG = "projects/pci-prod-analytics/logs/cloudaudit.googleapis.com%2Fdata_access"


def variants() -> list[object]:
    """One event, then the same with each field a verdict reads changed, one at a time."""
    base = event(method="cloudsql.instances.connect", resource="instances/settlement-db")
    base = replace(base, service="cloudsql.googleapis.com")
    return [
        base,
        replace(base, insert_id="id-2", timestamp=event(at_time="2026-12-01T10:30:00").timestamp),
        replace(base, timestamp=event(at_time="2026-12-01T13:05:00").timestamp),  # grace
        replace(base, timestamp=event(at_time="2026-12-01T14:00:00").timestamp),  # after
        replace(base, log_name=OTHER_LOG),  # the same relative name, another project
        replace(
            base,
            resource_name="projects/pci-prod-analytics/instances/settlement-db",
            permissions=(("cloudsql.instances.connect", "", True),),  # the entry's resource
        ),
        replace(base, permissions=(("cloudsql.instances.connect", SQL, False),)),
        replace(base, permissions=(("cloudsql.instances.delete", SQL, True),)),
        replace(base, status_code=7),
        replace(base, chain=("deployer@pci-prod-payments.iam.gserviceaccount.com",)),
        replace(base, principal="bob@example.com", chain=("deployer@example.com",)),
        replace(base, method="cloudsql.instances.export", copied_to="gs://elsewhere/dump.sql"),
        replace(base, copied_to="gs://elsewhere/dump.sql"),
        replace(base, service="sqladmin.googleapis.com"),
        replace(base, method="SetIamPolicy", permissions=()),
        replace(
            base,
            method="SetIamPolicy",
            permissions=(),
            binding_deltas=(("ADD", "user:mallory@example.com", "roles/owner"),),
        ),
        replace(
            base,
            method="SetIamPolicy",
            permissions=(),
            binding_deltas=(("ADD", "user:mallory@example.com", "roles/owner"),),
            delta_conditions=("lapse/inc-1/x",),
        ),
    ]


def test_every_remembered_verdict_is_the_one_judged_afresh() -> None:
    alone = subject(request())
    assert not alone.others  # else each event is judged afresh anyway
    tally = Tally(alone, GRACE, ActionLedger(), 0)
    for item in variants() * 2:  # the second round reads what the first remembered
        assert tally._judge(item) == event_evidence(alone, item, GRACE), item


def test_the_verdicts_tell_the_variants_apart() -> None:
    """Each field a verdict reads changes what the event is evidence of in one variant, so a
    verdict remembered without that field would be wrong for it."""
    alone = subject(request())
    judged = [event_evidence(alone, item, GRACE) for item in variants()]
    same = [index for index, found in enumerate(judged) if found == judged[0]]
    # Another instant or entry in the window, the grace period, another service's name for the
    # same call: the same verdict; so is a condition title on the same delta (the last two).
    assert same == [0, 1, 2, 13]
    assert judged[-1] == judged[-2]
    assert len({repr(found) for found in judged}) == len(judged) - 4


def test_the_tallies_of_one_read_share_a_bounded_memory_of_verdicts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from generator.review import tally

    monkeypatch.setattr(tally, "JUDGED", 8)
    people = ["alice@example.com", "bob@example.com", "carol@example.com"]
    subjects = [
        subject(request(id=f"inc-{4600 + n}-x", requester=who)) for n, who in enumerate(people)
    ]
    events = [
        event(principal=who, resource=f"{BUCKET}/{n}.csv", insert_id=f"{who}-{n}")
        for n in range(50)
        for who in people
    ]
    collected = collect(subjects, events, grace=GRACE, keep_events=False)
    remembered = {id(t._judged) for t in collected.tallies}
    assert len(remembered) == 1
    assert 0 < len(collected.tallies[0]._judged) <= 8
    reviews = review_collected(collected)
    assert [r.count_in_window for r in reviews] == [50, 50, 50]
    assert [sum(a.count for a in r.actions) for r in reviews] == [50, 50, 50]


def test_the_memory_of_verdicts_never_holds_more_than_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from generator.review import tally

    monkeypatch.setattr(tally, "JUDGED", 8)
    counting = Tally(subject(), GRACE, ActionLedger(), 0)
    held = []
    for n in range(20):
        counting.add(event(resource=f"{BUCKET}/{n}.csv", insert_id=f"e-{n}"))
        held.append(len(counting._judged))
    assert max(held) == 8
