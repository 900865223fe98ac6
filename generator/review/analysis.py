"""What a grantee did with a grant, compared with what was approved. Pure functions.

Each of the grantee's events from the window start on (see `attribution` for whose events are
whose) is put in one phase — in the window, in the grace period after expiry (IAM takes minutes
to apply a condition's end), or after — and judged by `verdicts`; a window with no event at all
is an INFO finding. An event inside another grant of the same person counts in both reviews;
each report says so, and an action this grant does not explain but the other one does is named
as such (INFO) rather than as a deviation.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from generator.core.model import Event, Finding, Severity
from generator.review.attribution import binding_appeared, events_by_person
from generator.review.subjects import ReviewSubject
from generator.review.verdicts import PERMISSION_DENIED, Phase, event_findings

__all__ = ["ActionCount", "Phase", "Review", "ReviewSubject", "review", "review_all"]

SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.INFO)
NO_ACTIVITY = "No activity in the window: was the grant needed?"


@dataclass(frozen=True, slots=True)
class ActionCount:
    service: str
    method: str
    resource: str
    count: int
    denied: int
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class Review:
    subject: ReviewSubject
    window_start: datetime | None
    window_end: datetime
    grace: timedelta
    events_in_window: tuple[Event, ...]
    events_after: tuple[Event, ...]
    actions: tuple[ActionCount, ...]
    actions_after: tuple[ActionCount, ...]
    findings: tuple[Finding, ...]
    gaps: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.gaps

    @property
    def worst(self) -> Severity | None:
        return min((f.severity for f in self.findings), key=SEVERITY_ORDER.index, default=None)


def review(
    subject: ReviewSubject,
    events: Iterable[Event],
    *,
    grace: timedelta,
    gaps: Sequence[str] = (),
) -> Review:
    """The review of one request from the grantee's events (other principals' are ignored)."""
    mine = sorted(_relevant(subject, events), key=lambda e: (e.timestamp, e.insert_id))
    expires = subject.request.window.expires
    in_window = tuple(e for e in mine if e.timestamp < expires)
    after = tuple(e for e in mine if e.timestamp >= expires)
    return Review(
        subject=subject,
        window_start=subject.window_start,
        window_end=expires,
        grace=grace,
        events_in_window=in_window,
        events_after=after,
        actions=action_counts(in_window),
        actions_after=action_counts(after),
        findings=classify(subject, mine, grace=grace),
        gaps=tuple(gaps),
    )


def review_all(
    subjects: Iterable[ReviewSubject],
    events: Iterable[Event],
    *,
    grace: timedelta,
    gaps: Sequence[str] = (),
    principal_gaps: Mapping[str, Sequence[str]] | None = None,
) -> list[Review]:
    """One review per subject from one stream of events.

    The sources' `gaps` apply to every review, `principal_gaps` to the named person's only.
    """
    events = list(events)
    subjects = link_windows(with_binding_times(subjects, events))
    by_person = events_by_person(events, {s.principal for s in subjects})
    personal = principal_gaps or {}
    return [
        review(
            s,
            by_person.get(s.principal, ()),
            grace=grace,
            gaps=(*gaps, *personal.get(s.principal, ())),
        )
        for s in subjects
    ]


def with_binding_times(
    subjects: Iterable[ReviewSubject], events: Sequence[Event]
) -> list[ReviewSubject]:
    """The subjects, each with the time its binding appeared when the logs show it."""
    policy_changes = [e for e in events if e.delta_conditions]
    found = []
    for s in subjects:
        appeared = binding_appeared(s, policy_changes)
        found.append(
            replace(s, binding_at=appeared[0], binding_entry=appeared[1]) if appeared else s
        )
    return found


def link_windows(subjects: Iterable[ReviewSubject]) -> list[ReviewSubject]:
    """The subjects, each told about the other grants of the same person."""
    subjects = [replace(s, others=()) for s in subjects]
    by_person: dict[str, list[ReviewSubject]] = defaultdict(list)
    for s in subjects:
        by_person[s.principal].append(s)
    return [
        replace(
            s,
            others=tuple(o for o in by_person[s.principal] if o.request.id != s.request.id),
        )
        for s in subjects
    ]


def fetch_window(
    subjects: Iterable[ReviewSubject], *, until: datetime, longest: timedelta = timedelta(days=1)
) -> tuple[frozenset[str], datetime, datetime]:
    """Principals and [start, until) to read so that every subject's window is covered.

    A window with no known start is read from `longest` (the policy's longest duration) before
    its expiry.
    """
    subjects = list(subjects)
    if not subjects:
        return frozenset(), until, until
    starts = [s.window_start or s.request.window.expires - longest for s in subjects]
    return frozenset(s.principal for s in subjects), min(starts), until


def action_counts(events: Iterable[Event]) -> tuple[ActionCount, ...]:
    """Events grouped by (service, method, resource), busiest first."""
    groups: dict[tuple[str, str, str], list[Event]] = defaultdict(list)
    for event in events:
        groups[(event.service, event.method, _resource_of(event))].append(event)
    counts = [
        ActionCount(
            *key, len(group), sum(map(_denied, group)), group[0].timestamp, group[-1].timestamp
        )
        for key, group in groups.items()
    ]
    return tuple(sorted(counts, key=lambda a: (-a.count, a.service, a.method, a.resource)))


def classify(
    subject: ReviewSubject, events: Sequence[Event], *, grace: timedelta
) -> tuple[Finding, ...]:
    """The deviations the events show, most severe first, each with its evidence."""
    expires = subject.request.window.expires
    evidence: dict[tuple[Severity, str, str], list[str]] = defaultdict(list)
    for event in events:
        phase = _phase(event.timestamp, expires, grace)
        for found in event_findings(subject, event, phase):
            evidence[_unless_explained(subject, event, grace, found)].append(event.insert_id)
        for other in _also_covered_by(subject, event):
            evidence[(Severity.INFO, "overlap", f"also in the window of {other}")].append(
                event.insert_id
            )
        if event.chain:
            chain = " -> ".join((event.principal, *event.chain))
            evidence[(Severity.INFO, "delegation", f"acted through {chain}")].append(
                event.insert_id
            )
    findings = [Finding(s, k, m, tuple(dict.fromkeys(ids))) for (s, k, m), ids in evidence.items()]
    findings.extend(_unchecked_roles(subject))
    if not any(e.timestamp < expires for e in events):
        findings.append(Finding(Severity.INFO, "no-activity", NO_ACTIVITY))
    return tuple(sorted(findings, key=_finding_order))


def _unless_explained(
    subject: ReviewSubject,
    event: Event,
    grace: timedelta,
    found: tuple[Severity, str, str],
) -> tuple[Severity, str, str]:
    """Use this grant does not explain (out of scope, or after its end) but another grant of
    the person in force then does, is INFO, named so; IAM changes and copies stay as they are."""
    _, kind, message = found
    if kind not in ("unexplained", "binding-not-expired"):
        return found
    other = _explained_by_other(subject, event, grace)
    if not other:
        return found
    return Severity.INFO, "explained-by-other-grant", f"{message}; explained by {other}"


def _also_covered_by(subject: ReviewSubject, event: Event) -> list[str]:
    return [rid for begin, end, rid in subject.other_windows if begin <= event.timestamp < end]


def _explained_by_other(subject: ReviewSubject, event: Event, grace: timedelta) -> str:
    """The id of another grant of the person, in force then, whose scope explains the event."""
    for other in subject.others:
        begin = other.window_start
        if begin is None or not begin <= event.timestamp < other.request.window.expires + grace:
            continue
        phase = _phase(event.timestamp, other.request.window.expires, grace)
        if not any(
            severity in (Severity.CRITICAL, Severity.HIGH)
            for severity, _, _ in event_findings(other, event, phase)
        ):
            return other.request.id
    return ""


def _finding_order(finding: Finding) -> tuple[int, str, str]:
    return SEVERITY_ORDER.index(finding.severity), finding.kind, finding.message


def _relevant(subject: ReviewSubject, events: Iterable[Event]) -> Iterator[Event]:
    start = subject.window_start
    for event in events:
        if event.principal.lower() != subject.principal:
            continue
        if start is not None and event.timestamp < start:
            continue
        yield event


def _phase(at: datetime, expires: datetime, grace: timedelta) -> Phase:
    if at < expires:
        return Phase.WINDOW
    return Phase.GRACE if at < expires + grace else Phase.AFTER


def _unchecked_roles(subject: ReviewSubject) -> list[Finding]:
    missing = sorted({g.role for g in subject.request.grants} - set(subject.permissions_by_role))
    return [
        Finding(
            Severity.INFO,
            "unchecked-role",
            f"{role} is not in the roles lock: its permissions were not checked"
            " (run `lapse roles sync`)",
        )
        for role in missing
    ]


def _resource_of(event: Event) -> str:
    if event.resource_name:
        return event.resource_name
    return next((r for _, r, _ in event.permissions if r), "")


def _denied(event: Event) -> bool:
    return event.status_code == PERMISSION_DENIED or any(not g for _, _, g in event.permissions)


def severity_counts(findings: Iterable[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)
