"""What one grant's review keeps while its events stream past. Pure apart from the ledger.

Each event is judged as it arrives and counted once: the tally keeps the counts, the first
event's time and every finding with its evidence (log entry ids); the ledger keeps the counts
per action (and, with `times`, the instants the MFA check reads). The events themselves are
parked in a spool only when a caller asked to read them back (`spool`), so a review's memory
follows its findings rather than the size of the log. Events may arrive in any order: evidence
is put in time order at the end, and the ledger's rows do not depend on the order.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from generator.core.audit_event import Event
from generator.core.findings import FindingKind
from generator.core.model import Finding, Severity
from generator.review.events import LOGIN_SERVICE
from generator.review.ledger import ActionLedger
from generator.review.scope import ReachKeys, reach_depth
from generator.review.spool import EventSpool
from generator.review.subjects import ReviewSubject
from generator.review.verdicts import PERMISSION_DENIED, Observation, Phase, event_findings

SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.INFO)
# Verdicts remembered (by what they are judged on) before all are forgotten: the tallies of one
# read share them, so memory follows neither the log's size nor the number of grants.
JUDGED = 4096
Judged = dict[tuple[object, ...], list[Observation]]
# The `ReachKeys` of the tallies of one read, by what their hierarchy says and their depth:
# tallies that read names alike remember them together.
Reaches = dict[tuple[object, int], ReachKeys]
# Marks a key of `Judged` that holds the names only as far as `covering` reads them.
_SHAPE = object()
# What a tally has counted, as `Tally.counted` hands it over: events in the window, after it, the
# first one's time, and the evidence of each finding.
Counted = tuple[int, int, datetime | None, dict[Observation, list[tuple[datetime, str]]]]
NO_ACTIVITY = "No activity in the window: was the grant needed?"


class Tally:
    def __init__(
        self,
        subject: ReviewSubject,
        grace: timedelta,
        ledger: ActionLedger,
        key: int,
        *,
        spool: EventSpool | None = None,
        times: bool = False,
        judged: Judged | None = None,
        reaches: Reaches | None = None,
    ):
        self._reaches: Reaches = {} if reaches is None else reaches
        self.subject = subject
        self.grace = grace
        self.ledger = ledger
        self.key = key
        self.spool = spool
        self.times = times
        self.in_window = 0
        self.after = 0
        self.first_at: datetime | None = None
        self._evidence: dict[Observation, list[tuple[datetime, str]]] = defaultdict(list)
        self._judged: Judged = {} if judged is None else judged

    @property
    def subject(self) -> ReviewSubject:
        return self._subject

    @subject.setter
    def subject(self, subject: ReviewSubject) -> None:
        # What every event is checked against, read from the subject once, not per event.
        self._subject = subject
        self._principal = subject.principal
        self._start = subject.window_start
        self._expires = subject.request.window.expires
        self._alone = not subject.others
        self._hierarchy = subject.hierarchy
        self._depth = depth = reach_depth(subject.request.grants, self._hierarchy)
        # Shared by the tallies of one read that read names alike (`reaches`).
        self._reach_key = (
            None
            if depth is None
            else self._reaches.setdefault(
                (self._hierarchy.said(), depth), ReachKeys(self._hierarchy, depth)
            )
        )

    def add(self, event: Event) -> None:
        """Count, judge and park one event, when it is this grantee's and from the start on.

        A Login Audit entry is how a session began, not use of the grant (`review.mfa`)."""
        if event.principal.lower() != self._principal or event.service == LOGIN_SERVICE:
            return
        start = self._start
        if start is not None and event.timestamp < start:
            return
        at = event.timestamp
        after = at >= self._expires
        if after:
            self.after += 1
        else:
            self.in_window += 1
            if self.times:
                self.ledger.add_time(self.key, at)
        if self.first_at is None or event.timestamp < self.first_at:
            self.first_at = at
        found = self._judge(event)
        if found:
            for observation in found:
                self._evidence[observation].append((at, event.insert_id))
        resource = event.resource_name or resource_of(event)
        self.ledger.add((self.key, after, event.service, event.method, resource), denied(event), at)
        if self.spool is not None:
            self.spool.add(str(self.key), event)

    def _judge(self, event: Event) -> list[Observation]:
        """`event_evidence`, judged once per kind of event: without other grants of the person,
        it reads only the phase and the fields below, never the instant or the entry's id.

        An event that is evidence of nothing is remembered by its shape (`_shape`): its names
        only as far as the grant's reaches read them, so the next use of another object of the
        same bucket is known clean without judging it again. Any finding names the resource,
        so only a verdict of nothing is remembered so."""
        if not self._alone:
            return event_evidence(self.subject, event, self.grace)
        # The phase (`phase_of`) as a number: 0 in the window, 1 in the grace period, 2 after.
        at = event.timestamp
        expires = self._expires
        phase = 0 if at < expires else 1 if at < expires + self.grace else 2
        shape = self._shape(event, phase)
        if shape is not None:
            found = self._judged.get(shape)
            if found is not None:
                return found
        key = (
            self.key,
            phase,
            event.principal,
            event.chain,
            event.service,
            event.method,
            event.resource_name,
            event.status_code,
            event.permissions,
            event.log_name,
            event.copied_to,
            event.binding_deltas,
            event.delta_conditions,
        )
        found = self._judged.get(key)
        if found is None:
            found = event_evidence(self.subject, event, self.grace)
            if len(self._judged) >= JUDGED:
                self._judged.clear()
            self._judged[shape if shape is not None and not found else key] = found
        return found

    def _shape(self, event: Event, phase: int) -> tuple[object, ...] | None:
        """The key of `_judge` with each resource name as `reach_key` reads it (None when the
        grant's reaches cannot be read ahead).

        What an event is evidence of reads its resource names in two ways only: through
        `covering` (which grants reach the name: a function of its `reach_key`), and in the
        messages of its findings. So events of one shape are evidence of nothing alike."""
        reach_key = self._reach_key
        if reach_key is None:
            return None
        log_name = event.log_name
        name = event.resource_name
        reach = reach_key(name, log_name)
        checks = event.permissions
        if len(checks) == 1 and checks[0][1] == name:  # most entries: a check of their resource
            shaped: tuple[tuple[str, str | None, bool], ...] = (
                (checks[0][0], reach, checks[0][2]),
            )
        else:
            shaped = tuple(
                [(p, reach if r == name else reach_key(r, log_name), g) for p, r, g in checks]
            )
        return (
            self.key,
            phase,
            _SHAPE,
            event.principal,
            event.chain,
            event.service,
            event.method,
            reach,
            event.status_code,
            shaped,
            log_name,
            event.copied_to,
            event.binding_deltas,
            event.delta_conditions,
        )

    def counted(self) -> Counted:
        return self.in_window, self.after, self.first_at, dict(self._evidence)

    def absorb(self, counted: Counted) -> None:
        """Add what another tally of the same grant counted over another part of the log."""
        in_window, after, first_at, evidence = counted
        self.in_window += in_window
        self.after += after
        if first_at is not None and (self.first_at is None or first_at < self.first_at):
            self.first_at = first_at
        for found, seen in evidence.items():
            self._evidence[found].extend(seen)

    def findings(self) -> tuple[Finding, ...]:
        """The deviations the events showed, most severe first, each with its evidence."""
        findings = [
            kind.finding(message, tuple(dict.fromkeys(i for _, i in sorted(seen))))
            for (kind, message), seen in self._evidence.items()
        ]
        findings.extend(unchecked_roles(self.subject))
        if not self.in_window:
            findings.append(FindingKind.NO_ACTIVITY.finding(NO_ACTIVITY))
        return tuple(sorted(findings, key=finding_order))


def resource_of(event: Event) -> str:
    """The resource an action row names: the entry's, else its first permission's."""
    if event.resource_name:
        return event.resource_name
    return next((r for _, r, _ in event.permissions if r), "")


def denied(event: Event) -> bool:
    # A loop, not `any(...)`: no generator to make for each event.
    if event.status_code == PERMISSION_DENIED:
        return True
    for _, _, granted in event.permissions:  # noqa: SIM110
        if not granted:
            return True
    return False


def event_evidence(subject: ReviewSubject, event: Event, grace: timedelta) -> list[Observation]:
    """Every finding one event is evidence of, for this grant."""
    found: list[Observation] = []
    phase = phase_of(event.timestamp, subject.request.window.expires, grace)
    for item in event_findings(subject, event, phase):
        found.append(_unless_explained(subject, event, grace, item))
    for other in _also_covered_by(subject, event):
        found.append((FindingKind.OVERLAP, f"also in the window of {other}"))
    if event.chain:
        chain = " -> ".join((event.principal, *event.chain))
        found.append((FindingKind.DELEGATION, f"acted through {chain}"))
    return found


def phase_of(at: datetime, expires: datetime, grace: timedelta) -> Phase:
    if at < expires:
        return Phase.WINDOW
    return Phase.GRACE if at < expires + grace else Phase.AFTER


def _unless_explained(
    subject: ReviewSubject, event: Event, grace: timedelta, found: Observation
) -> Observation:
    """Use this grant does not explain (out of scope, or after its end) but another grant of
    the person in force then does, is INFO, named so; IAM changes and copies stay as they are."""
    kind, message = found
    if kind not in (FindingKind.UNEXPLAINED, FindingKind.BINDING_NOT_EXPIRED):
        return found
    other = _explained_by_other(subject, event, grace)
    if not other:
        return found
    return FindingKind.EXPLAINED_BY_OTHER_GRANT, f"{message}; explained by {other}"


def _also_covered_by(subject: ReviewSubject, event: Event) -> list[str]:
    return [rid for begin, end, rid in subject.other_windows if begin <= event.timestamp < end]


def _explained_by_other(subject: ReviewSubject, event: Event, grace: timedelta) -> str:
    """The id of another grant of the person, in force then, whose scope explains the event."""
    for other in subject.others:
        begin = other.window_start
        if begin is None or not begin <= event.timestamp < other.request.window.expires + grace:
            continue
        phase = phase_of(event.timestamp, other.request.window.expires, grace)
        if not any(
            kind.severity in (Severity.CRITICAL, Severity.HIGH)
            for kind, _ in event_findings(other, event, phase)
        ):
            return other.request.id
    return ""


def finding_order(finding: Finding) -> tuple[int, str, str]:
    return SEVERITY_ORDER.index(finding.severity), finding.kind, finding.message


def unchecked_roles(subject: ReviewSubject) -> list[Finding]:
    missing = sorted({g.role for g in subject.request.grants} - set(subject.permissions_by_role))
    return [
        FindingKind.UNCHECKED_ROLE.finding(
            f"{role} is not in the roles lock: its permissions were not checked"
            " (run `lapse roles sync`)"
        )
        for role in missing
    ]
