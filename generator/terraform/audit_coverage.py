"""Which Data Access audit logs the root module turns on, read from terraform/*.tf.

PCI DSS 10.2.1: access to cardholder data must be logged before it is granted. Only literal
arguments are understood; a reference such as `var.project` is reported rather than guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from generator.terraform.hcl import HclError, Resource, parse

REQUIRED_LOG_TYPES = frozenset({"DATA_READ", "DATA_WRITE"})
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
class AuditCoverage:
    """(scope kind, scope id) -> service -> what is logged and who is exempted."""

    scopes: dict[tuple[str, str], dict[str, ServiceLogging]] = field(default_factory=dict)
    unreadable: tuple[tuple[str, str], ...] = ()  # (file name, what could not be read)

    def gaps(self, scope: tuple[str, str], services: tuple[str, ...]) -> list[str]:
        """Services of `services` whose Data Access logs are not fully on at `scope`."""
        configured = self.scopes.get(scope, {})
        return [s for s in services if not _covers(configured, s)]

    def exemptions(
        self, scope: tuple[str, str], services: tuple[str, ...], member: str
    ) -> list[str]:
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
    # Parsing HCL is the slow part of validating one request; the files rarely change.
    stamps = tuple(
        (p, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(terraform_dir.glob("*.tf"))
    )
    return _coverage(stamps)


@lru_cache(maxsize=8)
def _coverage(stamps: tuple[tuple[Path, int, int], ...]) -> AuditCoverage:
    scopes: dict[tuple[str, str], dict[str, ServiceLogging]] = defaultdict(dict)
    unreadable: list[tuple[str, str]] = []
    for path, _, _ in stamps:
        try:
            resources = parse(path.read_text(encoding="utf-8"), source=path.name)
        except (OSError, UnicodeDecodeError, HclError) as exc:
            unreadable.append((path.name, str(exc)))
            continue
        for resource in resources:
            if resource.type in _SCOPES:
                problem = _add(scopes, resource)
                if problem:
                    unreadable.append((path.name, problem))
    return AuditCoverage(dict(scopes), tuple(unreadable))


def _add(scopes: dict[tuple[str, str], dict[str, ServiceLogging]], resource: Resource) -> str:
    """Record one audit config; the reason it cannot be read, or "" when it was."""
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
    merged = scopes[scope].get(service)
    if merged is not None:
        types, exempted = types | merged.log_types, exempted | merged.exempted
    scopes[scope][service] = ServiceLogging(types, exempted)
    return ""


def _members(resource: Resource, raw: object) -> list[str]:
    if not isinstance(raw, list):
        raise HclError(f"{resource.address}: exempted_members is not a list of literals")
    return [resource.string("member", {"member": item}) for item in raw]
