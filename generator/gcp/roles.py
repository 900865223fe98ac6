"""Roles as sets of permissions: the lock file and the persistence rules.

Validation works offline from `policy/roles.lock.json`, which records each role's permissions
as Google published them on the day they were read. Predefined roles gain permissions over
time, so a role is judged by those recorded permissions, never by its name; `lapse roles sync`
refreshes the file (`generator.gcp.role_sync`) and shows what changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from generator.core.errors import ConfigError
from generator.core.writing import write_file

LOCK_FORMAT = 1
# libyaml when built in: the pure-Python safe loader costs more than the rest of a warm start.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_PREDEFINED = re.compile(r"^roles/[A-Za-z0-9_.]+$")
_CUSTOM = re.compile(r"^(projects|organizations)/[^/\s]+/roles/[A-Za-z0-9_.]+$")
# `service.resource.verb`, or as IAM names some of its own, `iam.googleapis.com/resource.verb`.
_EXACT = re.compile(
    r"^(?:[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+/[A-Za-z][A-Za-z0-9]*"
    r"|[a-z][a-z0-9-]*\.[A-Za-z][A-Za-z0-9]*)(?:\.[A-Za-z][A-Za-z0-9]*)+$"
)
_SUFFIX = re.compile(r"^\*\.[A-Za-z][A-Za-z0-9]*$")
_ROLE_KEYS = frozenset({"title", "stage", "permissions", "read", "source"})


# ---------------------------------------------------------------------------
# Persistence rules: which permissions let access outlive its window.


@dataclass(frozen=True, slots=True)
class PersistenceGroup:
    """One family of persistence-capable permissions and why it is dangerous."""

    name: str
    risk: str
    patterns: tuple[str, ...]
    # The persistence class (`classes` in the data file): why such access outlives a window.
    kind: str = ""

    def matching(self, permissions: Iterable[str]) -> list[str]:
        """The permissions this group catches, sorted and unique."""
        exact = {p for p in self.patterns if not p.startswith("*.")}
        suffixes = tuple(p[1:] for p in self.patterns if p.startswith("*."))
        return sorted({p for p in permissions if p in exact or p.endswith(suffixes)})


@dataclass(frozen=True, slots=True)
class PersistenceRules:
    """The groups of `generator/data/persistence_permissions.yaml`, in file order, and the
    classes they belong to (name -> why access of that class outlives a window)."""

    groups: tuple[PersistenceGroup, ...]
    classes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> PersistenceRules:
        """The rules shipped with lapse."""
        data = Path(__file__).resolve().parents[1] / "data" / "persistence_permissions.yaml"
        return cls.from_text(data.read_text(encoding="utf-8"))

    @classmethod
    def from_text(cls, text: str) -> PersistenceRules:
        try:
            document = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            raise ConfigError(f"persistence rules are not valid YAML: {exc}") from exc
        groups = document.get("groups") if isinstance(document, dict) else None
        if not isinstance(groups, dict) or not groups:
            raise ConfigError("persistence rules need a non-empty `groups` mapping")
        raw = document.get("classes", {})
        if not isinstance(raw, dict) or not all(
            isinstance(why, str) and why.strip() for why in raw.values()
        ):
            raise ConfigError("persistence rules: `classes` maps each class to its reason")
        classes = {str(name): " ".join(why.split()) for name, why in raw.items()}
        found = tuple(_group(str(name), body) for name, body in groups.items())
        for group in found:
            if classes and group.kind not in classes:
                raise ConfigError(
                    f"persistence group {group.name} needs a `class` among {', '.join(classes)}"
                )
        return cls(found, MappingProxyType(classes))

    def risk(self, group: str) -> str:
        """The text shown when a role is refused for `group`."""
        for candidate in self.groups:
            if candidate.name == group:
                return candidate.risk
        raise KeyError(group)

    def persistence_permissions(self, permissions: Iterable[str]) -> dict[str, list[str]]:
        """Group name -> the offending permissions (sorted); groups with none are left out."""
        held = set(permissions)
        found = {group.name: group.matching(held) for group in self.groups}
        return {name: hits for name, hits in found.items() if hits}


def _group(name: str, body: object) -> PersistenceGroup:
    if not isinstance(body, dict):
        raise ConfigError(f"persistence group {name} must be a mapping")
    risk, patterns = body.get("risk"), body.get("permissions")
    if not isinstance(risk, str) or not risk.strip():
        raise ConfigError(f"persistence group {name} needs a non-empty `risk` text")
    if not isinstance(patterns, list) or not patterns:
        raise ConfigError(f"persistence group {name} needs a non-empty `permissions` list")
    for pattern in patterns:
        if not isinstance(pattern, str) or not is_permission_pattern(pattern):
            raise ConfigError(
                f"persistence group {name}: {pattern!r} is not `service.resource.verb` or `*.verb`"
            )
    kind = body.get("class", "")
    if not isinstance(kind, str):
        raise ConfigError(f"persistence group {name}: `class` is a name")
    return PersistenceGroup(name, " ".join(risk.split()), tuple(patterns), kind)


def is_permission_pattern(pattern: str) -> bool:
    """An exact permission name (`iam.googleapis.com/...` too), or a `*.verb` suffix wildcard."""
    return bool(_EXACT.match(pattern) or _SUFFIX.match(pattern))


@lru_cache(maxsize=1)
def default_rules() -> PersistenceRules:
    """The shipped rules, read once per process."""
    return PersistenceRules.load()


def persistence_permissions(
    permissions: Iterable[str], rules: PersistenceRules | None = None
) -> dict[str, list[str]]:
    """Group name -> offending permissions, by the shipped rules unless `rules` is given."""
    return (rules or default_rules()).persistence_permissions(permissions)


# ---------------------------------------------------------------------------
# The lock file.


class LockError(ConfigError):
    """`policy/roles.lock.json` cannot be used; `line` and `col` are 1-based."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


@dataclass(frozen=True, slots=True)
class RoleInfo:
    """One role as read from IAM on `read` (an ISO date)."""

    name: str
    title: str
    stage: str
    permissions: tuple[str, ...]
    read: str
    source: str


class RolesLock(Mapping[str, RoleInfo]):
    """Role name -> RoleInfo; immutable, so a failed sync can never leave it half-updated."""

    __slots__ = ("_roles",)

    def __init__(self, roles: Iterable[RoleInfo] = ()) -> None:
        ordered = sorted(roles, key=lambda info: info.name)
        self._roles: Mapping[str, RoleInfo] = MappingProxyType({r.name: r for r in ordered})

    def __getitem__(self, name: str) -> RoleInfo:
        return self._roles[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._roles)

    def __len__(self) -> int:
        return len(self._roles)

    def __repr__(self) -> str:
        return f"RolesLock({sorted(self._roles)!r})"

    def replace(self, updated: Iterable[RoleInfo]) -> RolesLock:
        """A new lock with `updated` roles added or replaced; this one is untouched."""
        merged = dict(self._roles)
        merged.update({info.name: info for info in updated})
        return RolesLock(merged.values())


def role_source(name: str) -> str:
    """`predefined` for `roles/x`, `custom` for project or organization roles."""
    if _PREDEFINED.match(name):
        return "predefined"
    if _CUSTOM.match(name):
        return "custom"
    raise ConfigError(
        f"{name!r} is not a role name: use roles/NAME, "
        "projects/PROJECT/roles/NAME or organizations/ORG/roles/NAME"
    )


def load_lock(path: Path) -> RolesLock:
    """Read and check the lock file; every failure is a LockError, never a traceback."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LockError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_lock(raw)


def parse_lock(raw: bytes) -> RolesLock:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position_of_byte(raw, exc.start)
        raise LockError("the lock file is not UTF-8 text", line, col) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockError(
            f"the lock file is not valid JSON: {exc.msg}", exc.lineno, exc.colno
        ) from exc
    return _lock_from(document, text)


def _lock_from(document: object, text: str) -> RolesLock:
    if not isinstance(document, dict) or set(document) != {"format", "roles"}:
        raise LockError('the lock file must be an object with exactly "format" and "roles"')
    if document["format"] != LOCK_FORMAT or isinstance(document["format"], bool):
        raise LockError(f'"format" must be {LOCK_FORMAT}', *_locate(text, "format"))
    roles = document["roles"]
    if not isinstance(roles, dict):
        raise LockError('"roles" must be an object of role name -> role', *_locate(text, "roles"))
    return RolesLock(_role_from(name, body, text) for name, body in roles.items())


def _role_from(name: str, body: object, text: str) -> RoleInfo:
    where = _locate(text, name)
    try:
        source = role_source(name)
    except ConfigError as exc:
        raise LockError(str(exc), *where) from exc
    if not isinstance(body, dict) or set(body) != _ROLE_KEYS:
        raise LockError(f"{name} must have exactly {', '.join(sorted(_ROLE_KEYS))}", *where)
    problem = _role_problem(body, source)
    if problem:
        raise LockError(f"{name}: {problem}", *where)
    return RoleInfo(
        name,
        body["title"],
        body["stage"],
        tuple(sorted(set(body["permissions"]))),
        body["read"],
        source,
    )


def _role_problem(body: dict[str, Any], source: str) -> str:
    """What is wrong with one role's fields, or "" when nothing is."""
    for key in ("title", "stage", "read", "source"):
        if not isinstance(body[key], str):
            return f'"{key}" must be a string'
    permissions = body["permissions"]
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        return '"permissions" must be a list of strings'
    if not is_iso_date(body["read"]):
        return f'"read" must be an ISO date (YYYY-MM-DD), not {body["read"]!r}'
    if body["source"] != source:
        return f'"source" must be "{source}" for this role name'
    return ""


def is_iso_date(value: str) -> bool:
    try:
        return date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _locate(text: str, key: str) -> tuple[int, int]:
    """1-based line and column of `"key"` in the text, or 1, 1 when it is not there."""
    index = text.find(json.dumps(key))
    if index < 0:
        return 1, 1
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _position_of_byte(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    return line, offset - (raw.rfind(b"\n", 0, offset) + 1) + 1


def dump_lock(lock: RolesLock) -> str:
    """The lock as deterministic JSON: sorted keys, indent 2, trailing newline."""
    roles = {
        info.name: {
            "permissions": list(info.permissions),
            "read": info.read,
            "source": info.source,
            "stage": info.stage,
            "title": info.title,
        }
        for info in lock.values()
    }
    document = {"format": LOCK_FORMAT, "roles": roles}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_lock(path: Path, lock: RolesLock) -> None:
    """Replace the file atomically, so a crash leaves the old lock or the new one, never half."""
    write_file(path, dump_lock(lock))
