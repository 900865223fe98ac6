"""A tally judges each kind of event once: what it remembers is what `event_evidence` says."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from generator.core.audit_event import Event
from generator.core.model import Grant
from generator.review import tally as tally_module
from generator.review.analysis import collect, review_collected
from generator.review.copies import UNKNOWN
from generator.review.ledger import ActionLedger
from generator.review.subjects import ReviewSubject
from generator.review.tally import Tally, event_evidence
from generator.review.verdicts import Observation
from tests.lanes import examples

from .conftest import GRACE, at, event, request, subject
from .test_scope import (
    ACCOUNT,
    DATASET,
    FOLDER,
    ORGANIZATION,
    PROJECT,
    SECRET,
    logs,
    reach_segments,
)
from .test_scope import BUCKET as BUCKET_GRANT

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
        # Each in a bucket of its own: no two of one shape (`Tally._shape`).
        counting.add(event(resource=f"projects/_/buckets/b-{n}/objects/a.csv", insert_id=f"e-{n}"))
        held.append(len(counting._judged))
    assert max(held) == 8


# Grants of every reach, and a `below` one read deeper than four segments.
TABLE = Grant(
    "roles/bigquery.dataViewer", "dataset", "projects/pci-prod-analytics/datasets/chargebacks"
)
PERMISSIONS = st.sampled_from(
    [
        "storage.objects.get",
        "storage.objects.delete",
        "cloudsql.instances.connect",
        "secretmanager.versions.access",
        "bigquery.tables.getData",
        "iam.serviceAccounts.get",
        "resourcemanager.projects.get",
    ]
)
METHODS = st.sampled_from(
    [
        "storage.objects.get",
        "v1.compute.instances.stop",
        "cloudsql.instances.connect",
        "SetIamPolicy",
        "storage.objects.rewrite",
        "v1.compute.snapshots.insert",
        "google.iam.admin.v1.CreateServiceAccountKey",
        "jobservice.jobcompleted",
    ]
)
START = at("2026-12-01T09:00:00")
CHANGEABLE = [
    "insert_id",
    "timestamp",
    "log_name",
    "service",
    "method",
    "resource_name",
    "status_code",
    "permissions",
    "binding_deltas",
    "chain",
    "copied_to",
    "principal",
    "delta_conditions",
]


@st.composite
def events_of_a_person(draw: st.DrawFn, stem: list[str]) -> Event:
    """An event of alice's whose names share `stem` in part, so many share a reach key."""

    def name() -> str:
        length = draw(st.integers(0, len(stem)))
        return "/".join(stem[:length] + draw(st.lists(reach_segments, max_size=2)))

    resource = name()
    permissions = draw(
        st.lists(
            st.tuples(
                PERMISSIONS, st.sampled_from(["", resource]) | st.builds(name), st.booleans()
            ),
            max_size=2,
        )
    )
    return Event(
        insert_id=draw(st.sampled_from(["a", "b"])),
        # In the window, in the grace period, after it (the window is 09:00 to 13:00).
        timestamp=START + timedelta(minutes=draw(st.sampled_from([30, 239, 245, 250, 300]))),
        log_name=draw(logs),
        principal=draw(st.sampled_from(["alice@example.com", "Alice@example.com"])),
        service=draw(st.sampled_from(["storage.googleapis.com", "compute.googleapis.com"])),
        method=draw(METHODS),
        resource_name=resource,
        status_code=draw(st.sampled_from([0, 0, 7, 3])),
        permissions=tuple(permissions),
        binding_deltas=draw(st.sampled_from([(), (("ADD", "user:m@example.com", "roles/owner"),)])),
        chain=draw(st.sampled_from([(), ("deployer@p.iam.gserviceaccount.com",)])),
        delta_conditions=draw(st.sampled_from([(), ("lapse/inc-1/x",)])),
        copied_to=draw(
            st.sampled_from(
                ["", UNKNOWN, "gs://settlement-exports/x", "gs://out", "datasets/chargebacks/t"]
            )
        ),
    )


@st.composite
def judged_in_turn(draw: st.DrawFn) -> tuple[list[Grant], list[Event]]:
    grants = draw(
        st.lists(
            st.sampled_from(
                [PROJECT, BUCKET_GRANT, SECRET, DATASET, FOLDER, ORGANIZATION, ACCOUNT, TABLE]
            ),
            min_size=1,
            max_size=3,
        )
    )
    stem = draw(st.lists(reach_segments, max_size=7))
    # Events that differ from one another in a field or two: what a key leaves out shows.
    first, *others = draw(st.lists(events_of_a_person(stem), min_size=3, max_size=3))
    changes = st.lists(st.tuples(st.sampled_from(others), st.sampled_from(CHANGEABLE)), max_size=2)
    events = [
        replace(first, **{f: getattr(other, f) for other, f in changed})
        for changed in draw(st.lists(changes, min_size=1, max_size=16))
    ]
    return grants, events


@pytest.mark.slow
@settings(max_examples=examples(1000), derandomize=True, database=None, deadline=None)
@given(judged_in_turn())
def test_a_verdict_remembered_by_shape_is_the_one_judged_afresh(
    case: tuple[list[Grant], list[Event]],
) -> None:
    """An event judged from what the tally remembers, by its own key or by its shape (names
    as far as the grants' reaches read them), is evidence of what `event_evidence` says."""
    grants, events = case
    alone = subject(
        request(grants=tuple(grants)),
        folder_of={"stg-payments": "folders/204518736091"},
        project_of={"settlement-exports": "pci-prod-payments", "b": "stg-payments"},
    )
    tally = Tally(alone, GRACE, ActionLedger(), 0)
    for item in events * 2:
        assert tally._judge(item) == event_evidence(alone, item, GRACE), item


def test_objects_of_one_bucket_are_judged_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clean use of many objects of a granted bucket is judged once, by its shape; a
    finding names its object, so each out-of-window use is judged on its own."""
    judged: list[Event] = []

    def counted(judging: ReviewSubject, item: Event, grace: timedelta) -> list[Observation]:
        judged.append(item)
        return event_evidence(judging, item, grace)

    monkeypatch.setattr(tally_module, "event_evidence", counted)
    counting = Tally(subject(), GRACE, ActionLedger(), 0)
    for n in range(20):
        counting.add(event(resource=f"{BUCKET}/{n}.csv", insert_id=f"e-{n}"))
    assert len(judged) == 1
    for n in range(3):
        late = event(resource=f"{BUCKET}/{n}.csv", insert_id=f"l-{n}", at_time="2026-12-01T14:00")
        counting.add(late)
    assert len(judged) == 4
    late_uses = [f for f in counting.findings() if f.kind == "binding-not-expired"]
    assert [f.evidence for f in late_uses] == [("l-0",), ("l-1",), ("l-2",)]
