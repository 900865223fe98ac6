"""Which GitHub jobs each cloud identity trusts, bound so that GitHub's subject format is moot.

GitHub's `sub` changes form (immutable subjects embed owner and repository ids since mid-2026;
a repository may customize it). The provider therefore maps `attribute.context` from claims that
keep their meaning, the same `environment:NAME` / `pull_request` / `ref:REF` GitHub's default
subject ends with, and the identities trust `attribute.context/...`, while the provider's
condition pins the repository by its numeric id. A binding on `attribute.subject/...` still
counts when it names the subject the repository issues now, and is wrong when it does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.core.checklist import CheckItem, cannot_tell, missing, ok, wrong

SETUP = "docs/setup.md"
WIF_SECTION = f"{SETUP}, 5. Workload Identity Federation"
IDENTITY_SECTION = f"{SETUP}, 6. Service accounts and their roles"
CONTEXT_MAPPING = (
    "has(assertion.environment) ? 'environment:' + assertion.environment"
    " : assertion.event_name == 'pull_request' ? 'pull_request' : 'ref:' + assertion.ref"
)
ATTRIBUTE_MAPPING = (
    "google.subject=assertion.sub,attribute.repository_id=assertion.repository_id,"
    f"attribute.context={CONTEXT_MAPPING}"
)
ROLE = "roles/iam.workloadIdentityUser"


def same_expression(first: object, second: str) -> bool:
    return isinstance(first, str) and re.sub(r"\s+", "", first) == re.sub(r"\s+", "", second)


def maps_context(provider: dict[str, object]) -> bool:
    mapping = provider.get("attributeMapping")
    return isinstance(mapping, dict) and same_expression(
        mapping.get("attribute.context"), CONTEXT_MAPPING
    )


def principal(pool: str, attribute: str, value: str) -> str:
    return f"principalSet://iam.googleapis.com/{pool}/attribute.{attribute}/{value}"


def trust_items(
    who: str,
    email: str,
    pool: str,
    contexts: tuple[str, ...],
    members: set[str],
    github: tuple[str | None, str],
) -> Iterator[CheckItem]:
    """One item per job context the identity must trust; `github` is the repository's actual
    subject prefix (None when unknown) and why it is unknown."""
    prefix, note = github
    subject_sets = principal(pool, "subject", "")
    for context in contexts:
        what = f"lapse-{who} trusts {context}"
        wanted = principal(pool, "context", context)
        fix = (
            f"gcloud iam service-accounts add-iam-policy-binding {email} --role {ROLE} "
            f"--member '{wanted}'  ({IDENTITY_SECTION})"
        )
        by_subject = sorted(
            m for m in members if m.startswith(subject_sets) and m.endswith(f":{context}")
        )
        if wanted in members:
            yield ok("Google Cloud", what, "bound on attribute.context")
        elif not by_subject:
            yield missing("Google Cloud", what, f"{email} has no {ROLE} for {wanted}", fix)
        elif prefix is None:
            yield cannot_tell(
                "Google Cloud",
                what,
                f"bound on the subject ({by_subject[0]}), and {note}",
                f"bind on attribute.context instead: {fix}",
            )
        elif principal(pool, "subject", f"{prefix}:{context}") in by_subject:
            yield ok("Google Cloud", what, f"bound on the subject {prefix}:{context}")
        else:
            bound = by_subject[0].removeprefix(subject_sets)
            yield wrong(
                "Google Cloud",
                what,
                f"trusts the subject {bound}, but GitHub issues {prefix}:{context}: "
                "every Google login of this job fails",
                fix,
            )


PINNED = re.compile(r"""\(*assertion\.repository_id==(['"])(?P<id>\d+)\1\)*""")


def condition_problem(condition: object, repository_id: int | None) -> str | None:
    """Why the provider's condition does not admit this repository alone; None when it does.

    Only a conjunction is read: `||` or `?:` could admit any repository whatever else it says,
    so a condition holding one is not taken as pinning. One `&&` term must be exactly
    `assertion.repository_id=='ID'`, the repository's own numeric id.
    """
    text = re.sub(r"\s+", "", condition) if isinstance(condition, str) else ""
    if not text:
        return "no attribute condition: any GitHub repository could use it"
    if "||" in text or "?" in text:
        return f"the condition {condition!r} has an alternative (|| or ?:): any repository may pass"
    pinned = [m["id"] for term in text.split("&&") if (m := PINNED.fullmatch(term))]
    if not pinned:
        return f"the condition {condition!r} does not pin assertion.repository_id"
    if repository_id is None:
        return None if len(set(pinned)) == 1 else f"the condition pins ids {sorted(set(pinned))}"
    if pinned != [str(repository_id)] * len(pinned):
        return (
            f"the condition pins repository id {', '.join(sorted(set(pinned)))}, but this "
            f"repository's id is {repository_id}: every Google login fails"
        )
    return None
