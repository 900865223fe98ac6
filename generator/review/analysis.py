"""What a grantee did with a grant, compared with what was approved. Pure functions.

Each event of the grantee from the window start on is put in one phase — in the window, in the
grace period after expiry (IAM takes minutes to apply a condition's end), or after — and checked:

| what the event shows                                     | phase         | severity |
|----------------------------------------------------------|---------------|----------|
| a successful IAM policy change or service-account key    | any           | CRITICAL |
| a permission used within the grant's scope               | after         | CRITICAL |
| a permission used outside the granted resources or role  | window, grace | HIGH     |
| a denied attempt (status 7 or `granted` false)           | any           | MEDIUM   |
| no event at all in the window                            | -             | INFO     |

Within scope means: some grant of the request covers the resource (see `scope`) and its role's
permissions (from the roles lock) include the permission. Events inside another approved window
of the same person belong to that review and are left out of this one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum

from generator.core.model import Event, Finding, Grant, Request, Severity
from generator.review.scope import Hierarchy, covers

# IAM policy changes: method names end this way whichever service logs them (`SetIamPolicy`,
# `google.iam.admin.v1.SetIAMPolicy`, `google.iam.v1.IAMPolicy.SetIamPolicy`), except Cloud
# Storage, which logs bucket policy changes as `storage.setIamPermissions`.
_SET_IAM_POLICY = "setiampolicy"
_POLICY_METHODS = frozenset({"storage.setIamPermissions"})
_KEY_METHODS = frozenset(
    {
        "google.iam.admin.v1.CreateServiceAccountKey",
        "google.iam.admin.v1.UploadServiceAccountKey",
    }
)
PERMISSION_DENIED = 7
SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.INFO)
NO_ACTIVITY = "No activity in the window: was the grant needed?"


class Phase(Enum):
    WINDOW = "window"
    GRACE = "grace"
    AFTER = "after"


@dataclass(frozen=True, slots=True)
class ReviewSubject:
    """One request to review, with what the review needs to know beyond the request file."""

    request: Request
    archived: bool
    permissions_by_role: Mapping[str, frozenset[str]]
    merged_at: datetime | None = None
    project_of: Mapping[str, str] = field(default_factory=dict)  # bucket -> project ID
    project_numbers: Mapping[str, str] = field(default_factory=dict)  # number -> project ID
    folder_of: Mapping[str, str] = field(default_factory=dict)  # project ID -> folders/F
    # The same person's other approved windows: their events are those reviews' business.
    other_windows: tuple[tuple[datetime, datetime], ...] = ()

    @property
    def principal(self) -> str:
        return self.request.requester.lower()

    @property
    def window_start(self) -> datetime | None:
        """When the grant became usable: `starts`, else the merge (None when neither is known)."""
        return self.request.window.starts or self.merged_at

    @property
    def hierarchy(self) -> Hierarchy:
        return Hierarchy(self.project_of, self.project_numbers, self.folder_of)


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
) -> list[Review]:
    """One review per subject from one stream of events; the sources' gaps apply to every one."""
    subjects = link_windows(subjects)
    by_principal = events_by_principal(events)
    return [review(s, by_principal.get(s.principal, ()), grace=grace, gaps=gaps) for s in subjects]


def link_windows(subjects: Iterable[ReviewSubject]) -> list[ReviewSubject]:
    """The subjects, each told about the other windows of the same person."""
    subjects = list(subjects)
    windows: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for s in subjects:
        if s.window_start is not None:
            windows[s.principal].append((s.window_start, s.request.window.expires, s.request.id))
    return [
        replace(
            s,
            other_windows=tuple(
                (begin, end) for begin, end, rid in windows[s.principal] if rid != s.request.id
            ),
        )
        for s in subjects
    ]


def events_by_principal(events: Iterable[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        grouped[event.principal.lower()].append(event)
    return dict(grouped)


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
        for severity, kind, message in _event_findings(subject, event, phase):
            evidence[(severity, kind, message)].append(event.insert_id)
    findings = [Finding(s, k, m, tuple(dict.fromkeys(ids))) for (s, k, m), ids in evidence.items()]
    findings.extend(_unchecked_roles(subject))
    if not any(e.timestamp < expires for e in events):
        findings.append(Finding(Severity.INFO, "no-activity", NO_ACTIVITY))
    return tuple(sorted(findings, key=_finding_order))


def _finding_order(finding: Finding) -> tuple[int, str, str]:
    return SEVERITY_ORDER.index(finding.severity), finding.kind, finding.message


def _relevant(subject: ReviewSubject, events: Iterable[Event]) -> Iterator[Event]:
    start = subject.window_start
    for event in events:
        if event.principal.lower() != subject.principal:
            continue
        if start is not None and event.timestamp < start:
            continue
        if any(begin <= event.timestamp < end for begin, end in subject.other_windows):
            continue
        yield event


def _phase(at: datetime, expires: datetime, grace: timedelta) -> Phase:
    if at < expires:
        return Phase.WINDOW
    return Phase.GRACE if at < expires + grace else Phase.AFTER


def _event_findings(
    subject: ReviewSubject, event: Event, phase: Phase
) -> Iterator[tuple[Severity, str, str]]:
    if _is_persistence(event):
        yield Severity.CRITICAL, "persistence", _persistence_message(event)
        return
    for permission, resource in _denied_checks(event):
        yield Severity.MEDIUM, "denied", f"{_what(event, permission)} on {resource or '?'} denied"
    for permission, resource, reason in _used(subject, event):
        if phase is Phase.AFTER and not reason:
            yield (
                Severity.CRITICAL,
                "binding-not-expired",
                f"{_what(event, permission)} on {resource} succeeded after the grant expired"
                " (and its grace period): the binding did not expire",
            )
        elif phase is not Phase.AFTER and reason:
            yield (
                Severity.HIGH,
                "unexplained",
                f"{_what(event, permission)} on {resource or '?'} is not explained by this grant:"
                f" {reason}",
            )


def _is_persistence(event: Event) -> bool:
    if event.status_code != 0 or any(not granted for _, _, granted in event.permissions):
        return False
    method = event.method
    return (
        method.lower().endswith(_SET_IAM_POLICY)
        or method in _POLICY_METHODS
        or method in _KEY_METHODS
    )


def _persistence_message(event: Event) -> str:
    target = event.resource_name or "?"
    if event.method in _KEY_METHODS:
        return f"{event.method} on {target}: a key outlives the window"
    deltas = ", ".join(f"{a} {m} {r}" for a, m, r in event.binding_deltas) or "no delta recorded"
    return f"{event.method} on {target} ({deltas}): a policy change can outlive the window"


def _denied_checks(event: Event) -> list[tuple[str, str]]:
    denied = [(p, r or event.resource_name) for p, r, granted in event.permissions if not granted]
    if not denied and event.status_code == PERMISSION_DENIED:
        denied.append(("", event.resource_name))
    return denied


def _used(subject: ReviewSubject, event: Event) -> Iterator[tuple[str, str, str]]:
    """(permission, resource, why it is out of scope or "") for what the event actually used."""
    if event.status_code == PERMISSION_DENIED:
        return
    if not event.permissions:
        # Entries without authorizationInfo: only the resource can be checked.
        yield "", event.resource_name, _resource_reason(subject, event)
        return
    for permission, resource, granted in event.permissions:
        if granted:
            name = resource or event.resource_name
            yield permission, name, _scope_reason(subject, permission, name, event.log_name)


def _resource_reason(subject: ReviewSubject, event: Event) -> str:
    if not event.resource_name:
        return "the entry names no resource and no permission"
    if _covering(subject, event.resource_name, event.log_name):
        return ""
    return "resource outside the granted resources"


def _scope_reason(subject: ReviewSubject, permission: str, resource: str, log_name: str) -> str:
    covering = _covering(subject, resource, log_name)
    if not covering:
        return "resource outside the granted resources"
    if any(_allows(subject, g, permission) for g in covering):
        return ""
    roles = ", ".join(sorted({g.role for g in covering}))
    return f"permission not in {roles}"


def _covering(subject: ReviewSubject, resource: str, log_name: str) -> list[Grant]:
    hierarchy = subject.hierarchy
    return [g for g in subject.request.grants if covers(g, resource, hierarchy, log_name)]


def _allows(subject: ReviewSubject, grant: Grant, permission: str) -> bool:
    permissions = subject.permissions_by_role.get(grant.role)
    # A role missing from the lock is reported once (INFO) rather than flagging every action.
    return permissions is None or permission in permissions


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


def _what(event: Event, permission: str) -> str:
    return permission or event.method or event.service or "an action"


def _resource_of(event: Event) -> str:
    if event.resource_name:
        return event.resource_name
    return next((r for _, r, _ in event.permissions if r), "")


def _denied(event: Event) -> bool:
    return event.status_code == PERMISSION_DENIED or any(not g for _, _, g in event.permissions)


def severity_counts(findings: Iterable[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)
