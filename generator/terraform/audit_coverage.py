"""Which audit logs the root module turns on, read from terraform/*.tf.

PCI DSS 10.2.1: access to cardholder data must be logged before it is granted. ADMIN_READ is
required beside DATA_READ and DATA_WRITE: reading IAM policies, service accounts, keys and
most resource metadata is logged as ADMIN_READ, which is off by default, so without it a
viewer role's use leaves no trace. Only literal arguments are understood; a reference such
as `var.project` is reported rather than guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from generator.core import cache
from generator.terraform import plain_hcl
from generator.terraform.hcl import (
    HclError,
    Resource,
    line_of,
    load,
    module_depends_on,
    resources_of,
)

CACHE_KIND = "audit-coverage"
REQUIRED_LOG_TYPES = frozenset({"ADMIN_READ", "DATA_READ", "DATA_WRITE"})
GRANTS_MODULE = "grants"
_SCOPES = {
    "google_project_iam_audit_config": ("project", "project"),
    "google_folder_iam_audit_config": ("folder", "folder"),
    "google_organization_iam_audit_config": ("organization", "org_id"),
}


@dataclass(frozen=True, slots=True)
class ServiceLogging:
    log_types: frozenset[str]
    exempted: frozenset[str]


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """One `google_*_iam_audit_config` block, where it is written."""

    file: str
    line: int
    address: str
    scope: tuple[str, str]
    service: str
    log_types: frozenset[str]


@dataclass(frozen=True, slots=True)
class AuditCoverage:
    """(scope kind, scope id) -> service -> what is logged and who is exempted.

    `configs` are the blocks one by one; `grants_depends_on` is what the grants module lists
    in `depends_on` (None when no file declares the module).
    """

    scopes: dict[tuple[str, str], dict[str, ServiceLogging]] = field(default_factory=dict)
    unreadable: tuple[tuple[str, str], ...] = ()  # (file name, what could not be read)
    configs: tuple[AuditConfig, ...] = ()
    grants_depends_on: tuple[str, ...] | None = None
    # Derived from `scopes`, since every grant of every request asks: each scope's gaps as
    # found, and every member exempted anywhere (most repositories exempt no one).
    _gaps: dict[tuple[tuple[str, str], tuple[str, ...]], tuple[str, ...]] = field(
        init=False, repr=False, compare=False
    )
    _exempted: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exempted = frozenset(
            member
            for services in self.scopes.values()
            for logging in services.values()
            for member in logging.exempted
        )
        object.__setattr__(self, "_gaps", {})
        object.__setattr__(self, "_exempted", exempted)

    def gaps(self, scope: tuple[str, str], services: tuple[str, ...]) -> list[str]:
        """Services of `services` whose audit logs are not all on at `scope`."""
        key = (scope, services)
        found = self._gaps.get(key)
        if found is None:
            configured = self.scopes.get(scope, {})
            found = self._gaps[key] = tuple(s for s in services if not _covers(configured, s))
        return list(found)

    def exemptions(
        self, scope: tuple[str, str], services: tuple[str, ...], member: str
    ) -> list[str]:
        if member not in self._exempted:
            return []
        configured = self.scopes.get(scope, {})
        return [
            s
            for s in (*services, "allServices")
            if s in configured and member in configured[s].exempted
        ]


def _covers(configured: dict[str, ServiceLogging], service: str) -> bool:
    for name in (service, "allServices"):
        if name in configured and configured[name].log_types >= REQUIRED_LOG_TYPES:
            return True
    return False


def read_coverage(terraform_dir: Path) -> AuditCoverage:
    """The coverage `terraform_dir/*.tf` configures.

    Parsing HCL costs more than validating a request, and these files rarely change: the
    result is kept in the local cache under the hash of the files and of the code reading them.
    """
    named = tuple(_contents(p) for p in sorted(terraform_dir.glob("*.tf")))
    if cache.folder() is None:  # nothing is kept: no key to hash
        return _coverage(named)
    key = cache.digest(_reader(), *(part for name, raw in named for part in (name, raw or b"?")))
    kept = cache.read(CACHE_KIND, key)
    if kept is not None:
        try:
            return _thawed(kept)
        except (orjson.JSONDecodeError, TypeError, ValueError, KeyError):
            pass  # an unreadable entry is a miss
    coverage = _coverage(named)
    cache.write(CACHE_KIND, key, _frozen(coverage))
    return coverage


def _reader() -> str:
    return cache.code_digest("generator.terraform", "hcl2", "lark")


def _contents(path: Path) -> tuple[str, bytes | None]:
    try:
        return path.name, path.read_bytes()
    except OSError:  # reported as unreadable, like text python-hcl2 cannot parse
        return path.name, None


@lru_cache(maxsize=8)
def _coverage(named: tuple[tuple[str, bytes | None], ...]) -> AuditCoverage:
    scopes: dict[tuple[str, str], dict[str, ServiceLogging]] = defaultdict(dict)
    unreadable: list[tuple[str, str]] = []
    configs: list[AuditConfig] = []
    depends_on: tuple[str, ...] | None = None
    for name, raw in named:
        if raw is None:
            unreadable.append((name, f"{name}: cannot be read"))
            continue
        try:
            text = raw.decode("utf-8")
            tree = _tree(text, name)
        except (UnicodeDecodeError, HclError) as exc:
            unreadable.append((name, str(exc)))
            continue
        listed = module_depends_on(tree, GRANTS_MODULE)
        depends_on = depends_on if listed is None else (*(depends_on or ()), *listed)
        for resource in resources_of(tree):
            if resource.type not in _SCOPES:
                continue
            read = _read_config(resource, name, line_of(text, resource))
            if isinstance(read, str):
                unreadable.append((name, read))
                continue
            configs.append(read[0])
            _merge(scopes, read[0], read[1])
    return AuditCoverage(dict(scopes), tuple(unreadable), tuple(configs), depends_on)


def _tree(text: str, name: str) -> dict[str, Any]:
    """The file as `hcl.load` reads it; plain text without python-hcl2 (`plain_hcl`)."""
    plain = plain_hcl.read(text)
    return plain_hcl.tree(plain) if plain is not None else load(text, source=name)


def fingerprint(coverage: AuditCoverage) -> bytes:
    """The coverage as bytes that hold all of it, the same in every run (sets sorted)."""
    return _frozen(coverage)


def _frozen(coverage: AuditCoverage) -> bytes:
    scopes = [
        [kind, scope, service, sorted(logging.log_types), sorted(logging.exempted)]
        for (kind, scope), services in sorted(coverage.scopes.items())
        for service, logging in sorted(services.items())
    ]
    configs = [
        [c.file, c.line, c.address, list(c.scope), c.service, sorted(c.log_types)]
        for c in coverage.configs
    ]
    return orjson.dumps(
        {
            "scopes": scopes,
            "unreadable": coverage.unreadable,
            "configs": configs,
            "grants_depends_on": coverage.grants_depends_on,
        }
    )


def _thawed(raw: bytes) -> AuditCoverage:
    data = orjson.loads(raw)
    scopes: dict[tuple[str, str], dict[str, ServiceLogging]] = defaultdict(dict)
    for kind, scope, service, log_types, exempted in data["scopes"]:
        scopes[str(kind), str(scope)][str(service)] = ServiceLogging(
            frozenset(map(str, log_types)), frozenset(map(str, exempted))
        )
    unreadable = tuple((str(name), str(why)) for name, why in data["unreadable"])
    configs = tuple(
        AuditConfig(str(f), int(line), str(a), (str(s[0]), str(s[1])), str(v), frozenset(t))
        for f, line, a, s, v, t in data["configs"]
    )
    listed = data["grants_depends_on"]
    depends_on = None if listed is None else tuple(map(str, listed))
    return AuditCoverage(dict(scopes), unreadable, configs, depends_on)


def _read_config(
    resource: Resource, file: str, line: int
) -> tuple[AuditConfig, frozenset[str]] | str:
    """One audit config and its exempted members; the reason it cannot be read otherwise."""
    kind, argument = _SCOPES[resource.type]
    try:
        scope = (kind, resource.string(argument))
        service = resource.string("service")
        configs = resource.blocks("audit_log_config")
        types = frozenset(resource.string("log_type", c) for c in configs)
        exempted = frozenset(
            m for c in configs for m in _members(resource, c.get("exempted_members", []))
        )
    except HclError as exc:
        return str(exc)
    return AuditConfig(file, line, resource.address, scope, service, types), exempted


def _merge(
    scopes: dict[tuple[str, str], dict[str, ServiceLogging]],
    config: AuditConfig,
    exempted: frozenset[str],
) -> None:
    types = config.log_types
    merged = scopes[config.scope].get(config.service)
    if merged is not None:
        types, exempted = types | merged.log_types, exempted | merged.exempted
    scopes[config.scope][config.service] = ServiceLogging(types, exempted)


def _members(resource: Resource, raw: object) -> list[str]:
    if not isinstance(raw, list):
        raise HclError(f"{resource.address}: exempted_members is not a list of literals")
    return [resource.string("member", {"member": item}) for item in raw]
