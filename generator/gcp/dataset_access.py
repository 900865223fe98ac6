"""A BigQuery dataset's access list (`datasets.get`) read as an IAM allow policy.

BigQuery keeps a dataset's IAM in the dataset resource itself: `access[]` entries of a role and
exactly one grantee field, each with an optional condition. Asked with `accessPolicyVersion=3`
the conditions come back; with 0 or 1 a conditional entry comes back under a mangled role
(`roles/bigquery.dataViewer_with_conditionalbinding_...`) and its condition hidden, which is
refused here rather than compared. Roles arrive in the legacy spelling (READER, WRITER, OWNER)
or in full; both are read as the predefined role names Terraform and requests use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.core.errors import ServiceError

LEGACY_ROLES = {
    "READER": "roles/bigquery.dataViewer",
    "WRITER": "roles/bigquery.dataEditor",
    "OWNER": "roles/bigquery.dataOwner",
}
HIDDEN_CONDITION = "_with_conditionalbinding_"
# Grantee field -> the IAM member prefix it stands for. `userByEmail` also holds service
# accounts; `view`, `routine` and `dataset` entries authorize resources, not principals.
_PREFIXES = {"groupByEmail": "group:", "domain": "domain:", "specialGroup": "specialGroup:"}
_PUBLIC = {"allAuthenticatedUsers": "allAuthenticatedUsers", "allUsers": "allUsers"}


class DatasetAccessError(ServiceError, ValueError):
    """The access list cannot be read as it is enforced (conditions hidden, bad shape)."""


def policy_of_dataset(dataset: Mapping[str, Any]) -> dict[str, Any]:
    """`{"version": 3, "etag", "bindings": [{role, members, condition?}]}` from a dataset."""
    entries = dataset.get("access", [])
    if not isinstance(entries, list):
        raise DatasetAccessError("the dataset's access is not a list")
    bindings: dict[tuple[str, tuple[tuple[str, str], ...]], list[str]] = {}
    for entry in entries:
        read = _entry(entry)
        if read is not None:
            role, member, condition = read
            bindings.setdefault((role, tuple(sorted(condition.items()))), []).append(member)
    return {
        "version": 3,
        "etag": str(dataset.get("etag", "")),
        "bindings": [_binding(role, cond, members) for (role, cond), members in bindings.items()],
    }


def _binding(
    role: str, condition: tuple[tuple[str, str], ...], members: list[str]
) -> dict[str, Any]:
    binding: dict[str, Any] = {"role": role, "members": sorted(set(members))}
    if condition:
        binding["condition"] = dict(condition)
    return binding


def _entry(entry: object) -> tuple[str, str, dict[str, str]] | None:
    if not isinstance(entry, dict):
        raise DatasetAccessError(f"an access entry is not an object: {entry!r:.80}")
    member = member_of(entry)
    if member is None:
        return None
    return role_of(str(entry.get("role", ""))), member, _condition(entry.get("condition"))


def role_of(role: str) -> str:
    if HIDDEN_CONDITION in role:
        raise DatasetAccessError(
            f"role {role!r} hides its condition: the access list was not read with "
            "accessPolicyVersion=3"
        )
    return LEGACY_ROLES.get(role, role)


def member_of(entry: Mapping[str, Any]) -> str | None:
    """The IAM member an access entry grants to; None for views, routines and datasets."""
    if isinstance(entry.get("iamMember"), str):
        return str(entry["iamMember"])
    email = entry.get("userByEmail")
    if isinstance(email, str):
        kind = "serviceAccount:" if email.endswith(".gserviceaccount.com") else "user:"
        return kind + email
    for field, prefix in _PREFIXES.items():
        value = entry.get(field)
        if isinstance(value, str):
            return _PUBLIC.get(value, prefix + value)
    return None


def _condition(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {k: str(raw[k]) for k in ("title", "description", "expression") if k in raw}
