"""Per grant: were the sessions that used it begun with a second factor? (PCI DSS 8.4.2)

Each action of the window is tied to the latest login of the grantee before it, if that login
is no older than the policy's session length. An action is backed by MFA when that login was
a second factor (`is_second_factor`, or a challenge method the policy names); one that follows
a password-only login, or no login within the session length, is a HIGH finding. A Login Audit
that could not be read makes the report INCOMPLETE, saying why.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from generator.core.audit_event import Login
from generator.core.errors import ServiceError
from generator.core.findings import FindingKind
from generator.core.model import MfaPolicy
from generator.core.times import format_duration, format_utc
from generator.review.analysis import Review
from generator.review.logins import LoginReader, MfaEvidence
from generator.review.tally import finding_order


class CarriedLogins:
    """Login Audit entries the review's own audit source carried (shared to Cloud Logging)."""

    read_from = "Login Audit entries in the audit logs"

    def __init__(self, by_person: Mapping[str, list[Login]]) -> None:
        self._by_person = by_person

    def logins(self, email: str, start: datetime, end: datetime) -> list[Login]:
        return [x for x in self._by_person.get(email.lower(), ()) if start <= x.at < end]


class NotRead:
    """A Login Audit that could not be reached at all: every grant with activity says why."""

    read_from = "nothing"

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def logins(self, email: str, start: datetime, end: datetime) -> list[Login]:
        raise ServiceError(self._reason)


def is_second_factor(login: Login, policy: MfaPolicy) -> bool:
    return login.second_factor or any(m in policy.second_factor_methods for m in login.methods)


def judged(review: Review, reader: LoginReader, policy: MfaPolicy) -> Review:
    """The review with its MFA evidence, and a finding or a gap when the evidence falls short."""
    times = review.times_in_window
    if not times:
        empty = MfaEvidence(reader.read_from, None, None, (), 0, 0)
        return replace(review, mfa=empty)
    since, until = times[0] - policy.session_length, times[-1]
    try:
        logins = reader.logins(review.subject.principal, since, until + timedelta(seconds=1))
    except ServiceError as exc:
        gap = f"the Login Audit could not be read ({exc}): MFA of the window is not shown"
        return replace(review, gaps=(*review.gaps, gap))
    # Each login as judged: a second factor by Google's flag or a method the policy names.
    logins = sorted(
        (replace(x, second_factor=is_second_factor(x, policy)) for x in logins),
        key=lambda x: (x.at, x.evidence),
    )
    unbacked = _unbacked(times, logins, policy)
    evidence = MfaEvidence(reader.read_from, since, until, tuple(logins), len(times), len(unbacked))
    if not unbacked:
        return replace(review, mfa=evidence)
    finding = FindingKind.NO_SECOND_FACTOR.finding(
        _message(unbacked, len(times), policy), tuple(dict.fromkeys(_ids(unbacked)))
    )
    findings = tuple(sorted((*review.findings, finding), key=finding_order))
    return replace(review, mfa=evidence, findings=findings)


def _unbacked(
    times: Sequence[datetime], logins: Sequence[Login], policy: MfaPolicy
) -> list[tuple[datetime, Login | None]]:
    """Each action no login with a second factor backs, with the login it follows (if any)."""
    instants = [x.at for x in logins]
    found = []
    for at in times:
        index = bisect_right(instants, at) - 1
        login = logins[index] if index >= 0 else None
        if login is not None and at - login.at > policy.session_length:
            login = None
        if login is None or not is_second_factor(login, policy):
            found.append((at, login))
    return found


def _ids(unbacked: Iterable[tuple[datetime, Login | None]]) -> list[str]:
    return [login.evidence for _, login in unbacked if login is not None and login.evidence]


def _message(unbacked: list[tuple[datetime, Login | None]], actions: int, policy: MfaPolicy) -> str:
    at, login = unbacked[0]
    first = format_utc(at)
    if login is None:
        why = f"no login within {format_duration(policy.session_length)} before it"
    else:
        methods = ", ".join(login.methods) or "no challenge named"
        kind = login.login_type or "login"
        why = f"it follows a {kind} login at {format_utc(login.at)} with {methods} only"
    return (
        f"{len(unbacked)} of {actions} actions in the window are not tied to a session begun "
        f"with a second factor; the first at {first}: {why}"
    )
