"""`lapse roles sync`: read roles from the IAM API into a new lock, all or nothing.

In: role names and a `RoleReader` (google-cloud-iam's client, or a fake in tests). Out: the new
`RolesLock` and the list of permission changes; nothing is written unless every role was read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from generator.core.errors import ConfigError, ServiceError
from generator.core.retry import call_with_retry
from generator.gcp.roles import (
    RoleInfo,
    RolesLock,
    default_rules,
    is_iso_date,
    role_source,
)

_TRANSIENT = ("TooManyRequests", "ServiceUnavailable", "InternalServerError", "DeadlineExceeded")


class RoleReader(Protocol):
    """Reads one role by its full name; answers a google.cloud.iam_admin_v1 `Role`."""

    def get_role(self, *, name: str) -> Any: ...


class IAMRoleReader:
    """RoleReader over google.cloud.iam_admin_v1.IAMClient.

    The generated client's `get_role` takes no `name` keyword (GetRoleRequest is not
    flattened), only `request`; this adapter is the one place that knows.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def get_role(self, *, name: str) -> Any:
        return self._client.get_role(request={"name": name})


@dataclass(frozen=True, slots=True)
class RoleChange:
    """How one role's permissions differ from the lock; `new` when it was not locked."""

    name: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    new: bool = False


def build_iam_client() -> RoleReader:
    """The real IAM client; imported here so that importing this module stays cheap."""
    from google.cloud import iam_admin_v1  # noqa: PLC0415 - gRPC stack, load on demand

    return IAMRoleReader(iam_admin_v1.IAMClient())


def sync_roles(
    lock: RolesLock,
    names: Iterable[str],
    reader: RoleReader,
    today: str,
    *,
    sleep: Callable[[float], None] | None = None,
    attempts: int = 5,
) -> tuple[RolesLock, list[RoleChange]]:
    """Read every role in `names`, then return the refreshed lock and what changed.

    All or nothing: the first role that cannot be read raises ServiceError naming it, and
    since `lock` is immutable the caller still holds the lock as it was; it writes the file
    only when this returns.
    """
    if not is_iso_date(today):
        raise ConfigError(f"today must be an ISO date (YYYY-MM-DD), not {today!r}")
    wanted = list(dict.fromkeys(names))
    sources = {name: role_source(name) for name in wanted}
    fresh = [
        _read_role(reader, name, sources[name], today, sleep=sleep, attempts=attempts)
        for name in wanted
    ]
    changes = [_change(lock.get(info.name), info) for info in fresh]
    return lock.replace(fresh), changes


def _read_role(
    reader: RoleReader,
    name: str,
    source: str,
    today: str,
    *,
    sleep: Callable[[float], None] | None,
    attempts: int,
) -> RoleInfo:
    what = f"reading IAM role {name}"
    role = call_with_retry(
        lambda: reader.get_role(name=name),
        what=what,
        is_transient=is_transient,
        attempts=attempts,
        sleep=sleep,
    )
    return _role_info(role, name, source, today)


def _role_info(role: Any, name: str, source: str, today: str) -> RoleInfo:
    returned = str(getattr(role, "name", "") or name)
    if returned != name:
        raise ServiceError(f"reading IAM role {name} failed: IAM answered with {returned}")
    if getattr(role, "deleted", False):
        raise ServiceError(f"reading IAM role {name} failed: the role is deleted")
    permissions = tuple(sorted({str(p) for p in role.included_permissions}))
    return RoleInfo(name, str(role.title), _stage_name(role.stage), permissions, today, source)


def _stage_name(stage: Any) -> str:
    """`GA`, `BETA`, ... from the proto enum (or from a plain string)."""
    return str(getattr(stage, "name", stage))


def _change(before: RoleInfo | None, after: RoleInfo) -> RoleChange:
    if before is None:
        return RoleChange(after.name, after.permissions, (), new=True)
    old, now = set(before.permissions), set(after.permissions)
    return RoleChange(after.name, tuple(sorted(now - old)), tuple(sorted(old - now)))


def is_transient(exc: BaseException) -> bool:
    """Quota, overload and timeouts are worth retrying; NotFound or PermissionDenied are not."""
    from google.api_core import exceptions  # noqa: PLC0415 - only needed once a call failed

    return isinstance(exc, tuple(getattr(exceptions, name) for name in _TRANSIENT))


def format_changes(changes: Iterable[RoleChange]) -> list[str]:
    """One line per added or removed permission, `+` or `-`; `unchanged` when nothing moved."""
    lines: list[str] = []
    for change in changes:
        if change.new:
            lines.append(f"{change.name}: new, {len(change.added)} permissions")
        elif not change.added and not change.removed:
            lines.append(f"{change.name}: unchanged")
        else:
            lines += [f"{change.name}: +{p}" for p in change.added]
            lines += [f"{change.name}: -{p}" for p in change.removed]
    return lines


def persistence_warnings(changes: Iterable[RoleChange]) -> list[str]:
    """One line per synced role that gained a permission of a persistence class.

    A role a target allows today may be refused once the lock holds what it gained
    (LAPSE251, LAPSE253): said at the sync, before a request meets it.
    """
    rules = default_rules()
    lines = []
    for change in changes:
        if change.new:
            continue
        for group, hits in rules.persistence_permissions(change.added).items():
            kind = next((g.kind for g in rules.groups if g.name == group), group)
            lines.append(
                f"warning: {change.name} gained {', '.join(hits)}, which can leave access"
                f" behind ({kind}: {group}): LAPSE251/LAPSE253 refuse it unless excepted"
            )
    return lines
