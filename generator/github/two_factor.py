"""Whether the GitHub organization requires two-factor authentication of its members.

Requesters and approvers act on GitHub: an approval is only as strong as the login behind it
(PCI DSS 8.4.2). `GET /orgs/{org}` returns `two_factor_requirement_enabled` to the
organization's owners only: an answer without it, or a 403, is "cannot tell", never ok.
"""

from __future__ import annotations

from generator.core.checklist import CheckItem, cannot_tell, ok, wrong
from generator.github.setup_reading import SECTIONS, SetupReader, Unreadable

AREA = "two-factor"


def two_factor_item(read: SetupReader, owner: str, in_organization: bool) -> CheckItem:
    subject = f"{owner} requires two-factor authentication"
    if not in_organization:
        return wrong(
            AREA,
            subject,
            "a personal account cannot require two-factor authentication of its collaborators",
            "transfer the repository to an organization that requires it",
        )
    found = read.get(f"/orgs/{owner}")
    fix = f"run lapse doctor as an owner of {owner} ({SECTIONS['doctor']})"
    if isinstance(found, Unreadable):
        return cannot_tell(AREA, subject, found.reason, fix)
    required = found.get("two_factor_requirement_enabled") if isinstance(found, dict) else None
    if required is True:
        return ok(AREA, subject, "every member and outside collaborator signs in with 2FA")
    if required is None:
        return cannot_tell(
            AREA,
            subject,
            f"GET /orgs/{owner} names the requirement to organization owners only",
            fix,
        )
    return wrong(
        AREA,
        subject,
        "members may approve and request access after a password-only sign-in",
        f"https://github.com/organizations/{owner}/settings/authentication_security: "
        "check 'Require two-factor authentication for everyone' (members without it are "
        "removed from the organization: ask them to enable it first; "
        f"{SECTIONS['mfa']})",
    )
