"""The review streams: same findings and reports as reading everything at once, bounded memory.

tests/data/review_streaming/ holds the reports the review wrote when it kept every event in
memory, for the scenario fixture and for the generated log below (`python -m
tests.unit.review.test_streaming` writes them again). The streaming review must write the same
bytes, whatever order the events come in, while holding a bounded number of events.
"""

from __future__ import annotations

import gc
import json
import random
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from generator.core.audit_event import Event
from generator.review.analysis import Review, ReviewSubject, review_all
from generator.review.file_source import FileSource
from generator.review.report import json_report, markdown_report, summary_report
from tests.unit.review.conftest import (
    GRACE,
    SCENARIO,
    at,
    event,
    request,
    scenario_subject,
    subject,
)

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "data" / "review_streaming"
ACCOUNT = "deployer@pci-prod-payments.iam.gserviceaccount.com"
BUCKET = "projects/_/buckets/settlement-exports/objects"


def scenario_reviews() -> list[Review]:
    scenario = scenario_subject()
    source = FileSource(SCENARIO)
    events = source.events(
        [scenario.principal], at("2026-12-01T00:00:00"), at("2026-12-02T00:00:00")
    )
    return review_all([scenario], events, grace=GRACE)


def generated_subjects() -> list[ReviewSubject]:
    """Alice with two overlapping grants, Bob with one, Carol with one she never uses."""
    return [
        subject(request()),
        subject(
            request(
                id="inc-4600-follow-up", starts="2026-12-01T12:00:00", expires="2026-12-01T15:00:00"
            )
        ),
        subject(request(id="inc-4601-bob", requester="bob@example.com")),
        subject(request(id="inc-4602-carol", requester="carol@example.com")),
    ]


def generated_events(count: int = 800, seed: int = 4512) -> list[Event]:
    """A shuffled log: in and out of scope, denied, late, delegated, minted-token use, others."""
    rng = random.Random(seed)
    start = at("2026-12-01T08:30:00")
    found = [
        event(
            at_time="2026-12-01T09:05:00",
            principal="bob@example.com",
            method="GenerateAccessToken",
            service="iamcredentials.googleapis.com",
            resource=f"projects/-/serviceAccounts/{ACCOUNT}",
            permissions=(),
            insert_id="mint",
        )
    ]
    for number in range(count):
        moment = start + timedelta(seconds=rng.randrange(8 * 3600))
        who = rng.choice(["alice@example.com", "bob@example.com", "Alice@Example.com", ACCOUNT])
        who = who if rng.random() < 0.8 else f"person-{rng.randrange(20)}@example.com"
        kind = rng.random()
        if kind < 0.5:
            method, resource = "storage.objects.get", f"{BUCKET}/batch-{rng.randrange(40)}.csv"
        elif kind < 0.7:
            method, resource = "storage.objects.delete", f"{BUCKET}/batch-{rng.randrange(5)}.csv"
        elif kind < 0.85:
            method, resource = "storage.objects.get", f"projects/_/buckets/other/objects/{number}"
        else:
            method, resource = "cloudsql.instances.connect", "instances/settlement-db"
        status = 7 if rng.random() < 0.05 else 0
        item = event(
            at_time=moment.strftime("%Y-%m-%dT%H:%M:%S"),
            principal=who,
            method=method,
            service=method.split(".")[0] + ".googleapis.com",
            resource=resource,
            status=status,
            insert_id=f"g{number:05d}",
        )
        if rng.random() < 0.05:
            item = Event(**{**_fields(item), "chain": (ACCOUNT,)})
        found.append(item)
    rng.shuffle(found)
    return found


def _fields(item: Event) -> dict[str, Any]:
    return {name: getattr(item, name) for name in Event.__struct_fields__}


def reports(reviews: list[Review]) -> dict[str, Any]:
    """Everything a run publishes about the reviews, and which events each one saw."""
    summary_md, summary_json = summary_report(
        reviews, at("2026-11-01T00:00:00"), at("2027-01-01T00:00:00")
    )
    return {
        "reviews": {
            r.subject.request.id: {
                "json": json_report(r),
                "markdown": markdown_report(r),
                "in_window": [e.insert_id for e in r.events_in_window],
                "after": [e.insert_id for e in r.events_after],
            }
            for r in reviews
        },
        "summary": [summary_md, summary_json],
    }


def golden(name: str) -> Any:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def test_the_scenario_reports_are_the_same_as_before() -> None:
    assert reports(scenario_reviews()) == golden("scenario")


def test_the_generated_log_reports_are_the_same_as_before() -> None:
    events = generated_events()
    assert reports(review_all(generated_subjects(), events, grace=GRACE)) == golden("generated")


def test_the_order_events_arrive_in_changes_nothing() -> None:
    events = generated_events()
    expected = reports(review_all(generated_subjects(), events, grace=GRACE))
    assert reports(review_all(generated_subjects(), events[::-1], grace=GRACE)) == expected


def live_events() -> int:
    gc.collect()
    return sum(isinstance(o, Event) for o in gc.get_objects())


def test_the_events_held_at_once_are_bounded_whatever_the_log_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """20,000 events of one grantee pass through; at no point are many alive at once."""
    from generator.review.tally import Tally  # here: the module also runs on the old review

    samples: list[int] = []
    tallied = 0
    add = Tally.add

    def counted(self: Tally, item: Event) -> None:  # the second pass, over the spool
        nonlocal tallied
        tallied += 1
        if tallied % 2500 == 0:
            samples.append(live_events())
        add(self, item)

    monkeypatch.setattr(Tally, "add", counted)

    def stream(count: int) -> Iterator[Event]:
        for number in range(count):
            if number % 2500 == 0:
                samples.append(live_events())
            yield event(
                at_time=f"2026-12-01T{9 + number * 5 // 20_000:02d}:{number % 60:02d}:00",
                resource=f"{BUCKET}/batch-{number}.csv",
                insert_id=f"n{number:06d}",
            )

    (result,) = review_all([subject()], stream(20_000), grace=GRACE)
    assert len(samples) == 16  # 8 while reading, 8 while tallying
    assert result.count_in_window + result.count_after == 20_000
    assert result.spool is not None and result.spool.peak_held <= 1024
    assert max(samples) < 2000, samples  # the stream's whole length would be 20,000
    samples.append(live_events())  # the finished review holds counts, not events
    assert samples[-1] < 100, samples
    assert sum(a.count for a in result.actions) + sum(a.count for a in result.actions_after) == (
        20_000
    )


def write_golden() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    generated = review_all(generated_subjects(), generated_events(), grace=GRACE)
    for name, reviews in (("scenario", scenario_reviews()), ("generated", generated)):
        text = json.dumps(reports(reviews), indent=1, sort_keys=True) + "\n"
        (GOLDEN / f"{name}.json").write_text(text)


def test_the_run_text_data_leaves_out_only_the_rows_per_resource() -> None:
    from generator.review.report import review_data

    for item in review_all(generated_subjects(), generated_events(), grace=GRACE)[:3]:
        full, slim = review_data(item), review_data(item, actions=False)
        assert full["actions"] and set(full) - set(slim) == {"actions", "actions_after"}
        assert {k: full[k] for k in slim} == slim


if __name__ == "__main__":
    write_golden()
    sys.exit(0)
