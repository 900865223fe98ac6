"""Every finding lapse reports about access already granted, with its severity and the PCI DSS
v4.0.1 requirement it evidences (paraphrased in the reports, never quoted).

Review findings come from the audit logs (`review.verdicts`, `review.tally`) and from overdue
emergency sign-offs (`lifecycle.emergency_review`); drift findings from the live IAM policies
(`lifecycle.drift`, `lifecycle.grant_trust`). A finding's `id` is what reports, issue titles and
`--format json` print, so it never changes; one id may have a member per severity when the
severity depends on what was found (`unexpected`). Adding a finding is one member here and the
code that yields it (ARCHITECTURE.md, "How to add a review finding").
"""

from __future__ import annotations

from enum import Enum

from generator.core.model import Finding, Severity

CRITICAL, HIGH, MEDIUM, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.INFO
_EXPIRY = "8.2.6, 8.2.7"
_LEAST = "7.2.5"


class FindingKind(Enum):
    # What a grantee did with a grant (`lapse review`).
    PERSISTENCE = ("persistence", CRITICAL, "8.2.7, 12.10.x", "an IAM change or key outlives")
    BINDING_NOT_EXPIRED = ("binding-not-expired", CRITICAL, _EXPIRY, "use after the grant ended")
    EXFILTRATION = ("exfiltration", HIGH, "10.4.3, 12.10.x", "a copy out of the granted resources")
    UNEXPLAINED = ("unexplained", HIGH, "10.4.1, 10.4.3", "use outside the grant's resources")
    DENIED = ("denied", MEDIUM, "10.4.3", "an attempt the grant did not allow")
    UNVERIFIABLE = (
        "unverifiable",
        MEDIUM,
        "10.4.1, 10.4.3",
        "use on the granted resources no permission of the grant can be shown to allow",
    )
    EXPLAINED_BY_OTHER_GRANT = (
        "explained-by-other-grant",
        INFO,
        "10.4.1",
        "use another grant of the person explains",
    )
    OVERLAP = ("overlap", INFO, "10.4.1", "an action inside two grants' windows")
    DELEGATION = ("delegation", INFO, "10.2.1", "an action through a service account")
    NO_ACTIVITY = ("no-activity", INFO, "7.2.4", "no action in the window")
    UNCHECKED_ROLE = ("unchecked-role", INFO, "10.4.1", "a role missing from the roles lock")
    NO_SECOND_FACTOR = (
        "no-second-factor",
        HIGH,
        "8.4.2",
        "use not tied to a session begun with a second factor",
    )
    EMERGENCY_NOT_SIGNED_OFF = (
        "emergency-not-signed-off",
        HIGH,
        "7.2.4, 10.4.1",
        "an emergency grant without its sign-off",
    )
    # What the live IAM policies hold (`lapse drift`).
    CONDITION_STRIPPED = ("condition-stripped", CRITICAL, _EXPIRY, "a grant without its end")
    OVERRIDDEN_BY_UNCONDITIONAL = (
        "overridden-by-unconditional",
        CRITICAL,
        _EXPIRY,
        "an unconditional binding beside a grant",
    )
    CONDITION_EXTENDED = ("condition-extended", HIGH, "8.2.7", "a condition ending later")
    CONDITION_CHANGED = ("condition-changed", MEDIUM, "10.4.3", "a condition changed in window")
    MISSING = ("missing", MEDIUM, "10.4.3", "a grant in force not in the live policy")
    EXPIRED_STILL_PRESENT = ("expired-still-present", HIGH, "8.2.6", "an expired binding kept")
    ORPHAN = ("orphan", HIGH, _LEAST, "a lapse binding no request accounts for")
    UNEXPECTED_STANDING = ("unexpected", HIGH, _LEAST, "a person's unconditional binding")
    UNEXPECTED_ACTIVE = ("unexpected", MEDIUM, _LEAST, "a person's conditional binding")
    UNEXPECTED_EXPIRED = ("unexpected", INFO, _LEAST, "a person's expired binding")
    UNTRUSTED_GRANT_FILE = ("untrusted-grant-file", HIGH, _LEAST, "a grant file not rendered")

    def __init__(self, finding_id: str, severity: Severity, requirement: str, about: str):
        self.id = finding_id
        self.severity = severity
        self.requirement = requirement  # PCI DSS v4.0.1 requirement numbers
        self.about = about

    def finding(self, message: str, evidence: tuple[str, ...] = ()) -> Finding:
        """A reported finding of this kind."""
        return Finding(self.severity, self.id, message, evidence)
