"""Schema-valid documents -> Request and Policy values.

Only called on documents that passed their schema, so shapes are known; what can still be
wrong here is meaning (31 February, a pattern that does not compile), reported as problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from generator.checks.loading import Document
from generator.core import resource_kinds
from generator.core.model import (
    Channel,
    Emergency,
    Extension,
    ExtensionLimits,
    Grant,
    Limits,
    MfaPolicy,
    Notifications,
    Policy,
    Problem,
    Request,
    ReviewSettings,
    Target,
    Window,
)
from generator.core.request_paths import parse_request_path
from generator.core.times import parse_duration, parse_instant
from generator.core.watch_policy import MaintenanceWindow, WatchPolicy

T = TypeVar("T")
_WATCH_LIMITS = tuple(
    name for name in WatchPolicy.__dataclass_fields__ if name not in ("audit_sink", "maintenance")
)


@dataclass(frozen=True, slots=True)
class Built(Generic[T]):
    value: T | None
    problems: tuple[Problem, ...] = ()


def request_from(document: Document) -> Built[Request]:
    data = document.data
    times: dict[str, Any] = {}
    problems: list[Problem] = []
    for key in ("starts", "expires"):
        if key in data:
            try:
                times[key] = parse_instant(data[key])
            except ValueError as exc:
                problems.append(_not_an_instant(document, (key,), key, data[key], exc))
    extensions = []
    for index, raw in enumerate(data.get("extensions", ())):
        line, col = document.at("extensions", index)
        try:
            at = parse_instant(raw["at"])
        except ValueError as exc:
            at_path = ("extensions", index, "at")
            problems.append(
                _not_an_instant(document, at_path, f"extensions[{index}].at", raw["at"], exc)
            )
            continue
        extensions.append(Extension(at, parse_duration(raw["by"]), raw["reason"], line, col))
    if problems:
        return Built(None, tuple(problems))
    parts = document.path.split("/")  # repository-relative POSIX paths, as Repo.relative writes
    where = parse_request_path(document.path)
    target = where.target if where else parts[-2] if len(parts) >= 2 else ""
    request = Request(
        id=_stem(parts[-1]),
        target=target,
        path=document.path,
        requester=data["requester"],
        reason=data["reason"],
        ticket=data["ticket"],
        window=Window(times.get("starts"), times["expires"]),
        grants=tuple(_grant(document, index, raw) for index, raw in enumerate(data["grants"])),
        emergency=where is not None and where.emergency,
        extensions=tuple(extensions),
    )
    return Built(request)


def _stem(name: str) -> str:
    """The file name without its last suffix, as PurePosixPath.stem says it."""
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def _grant(document: Document, index: int, raw: dict[str, str]) -> Grant:
    kind = next(key for key in resource_kinds.names() if key in raw)
    line, col = document.at("grants", index)
    return Grant(role=raw["role"], kind=kind, resource=raw[kind], line=line, col=col)


def policy_from(document: Document) -> Built[Policy]:
    data = document.data
    problems: list[Problem] = []
    targets: dict[str, Target] = {}
    for name, raw in data["targets"].items():
        target, found = _target(document, name, raw)
        problems.extend(found)
        if target is not None:
            targets[name] = target
    watch, found = _watch(document, data.get("watch", {}))
    problems.extend(found)
    if problems:
        return Built(None, tuple(problems))
    policy = Policy(
        people=dict(data["people"]),
        targets=targets,
        security_owners=tuple(data["security_owners"]),
        limits=Limits(**data.get("limits", {})),
        terraform_resource_types=tuple(data.get("terraform_resource_types", ())),
        mfa=_mfa(data["mfa"]) if "mfa" in data else None,
        notifications=_notifications(data["notifications"]) if "notifications" in data else None,
        review=_review(data.get("review", {})),
        watch=watch,
    )
    return Built(policy)


def _not_an_instant(
    document: Document, where: tuple[str | int, ...], name: str, value: object, exc: ValueError
) -> Problem:
    line, col = document.at(*where)
    return Problem(
        document.path,
        line,
        col,
        "LAPSE305",
        "error",
        f"{name}: {value!r} is not a real instant ({exc})",
        "write a date that exists, e.g. 2026-11-30T13:00:00Z",
    )


def _review(raw: dict[str, Any]) -> ReviewSettings:
    # The schema takes 20971520.0 as an integer (JSON Schema's integers include such numbers);
    # BigQuery's maximumBytesBilled does not.
    limit = raw.get("max_bytes")
    return ReviewSettings(max_bytes=None if limit is None else int(limit))


def _mfa(raw: dict[str, Any]) -> MfaPolicy:
    default = MfaPolicy()
    return MfaPolicy(
        login_audit=raw.get("login_audit", default.login_audit),
        session_length=parse_duration(raw["session_length"])
        if "session_length" in raw
        else default.session_length,
        customer=raw.get("customer", default.customer),
        second_factor_methods=tuple(
            raw.get("second_factor_methods", default.second_factor_methods)
        ),
    )


def _watch(document: Document, raw: dict[str, Any]) -> tuple[WatchPolicy, list[Problem]]:
    limits = {key: parse_duration(raw[key]) for key in _WATCH_LIMITS if key in raw}
    windows: list[MaintenanceWindow] = []
    problems: list[Problem] = []
    for index, entry in enumerate(raw.get("maintenance", ())):
        times: dict[str, Any] = {}
        for key in ("from", "until"):
            try:
                times[key] = parse_instant(entry[key])
            except ValueError as exc:
                where = ("watch", "maintenance", index, key)
                name = f"watch.maintenance[{index}].{key}"
                problems.append(_not_an_instant(document, where, name, entry[key], exc))
        if len(times) == 2:
            line, col = document.at("watch", "maintenance", index)
            windows.append(
                MaintenanceWindow(
                    entry["control"], times["from"], times["until"], entry["reason"], line, col
                )
            )
    watch = WatchPolicy(**limits, audit_sink=raw.get("audit_sink", ""), maintenance=tuple(windows))
    return watch, problems


def _notifications(raw: dict[str, Any]) -> Notifications:
    channels = {
        name: Channel(name, entry["kind"], entry["url_from"])
        for name, entry in raw["channels"].items()
    }
    return Notifications(channels, raw.get("security"))


def _extension_limits(raw: dict[str, Any]) -> ExtensionLimits:
    return ExtensionLimits(
        max_extension=parse_duration(raw["max_extension"]),
        max_total_duration=parse_duration(raw["max_total_duration"]),
        max_count=raw["max_count"],
    )


def _target(
    document: Document, name: str, raw: dict[str, Any]
) -> tuple[Target | None, list[Problem]]:
    problems: list[Problem] = []
    patterns = [("ticket_pattern",), ("emergency", "ticket_pattern")]
    for keys in patterns if "emergency" in raw else patterns[:1]:
        pattern = raw[keys[0]] if len(keys) == 1 else raw["emergency"]["ticket_pattern"]
        try:
            re.compile(pattern)
        except re.error as exc:
            line, col = document.at("targets", name, *keys)
            problems.append(
                Problem(
                    document.path,
                    line,
                    col,
                    "LAPSE274",
                    "error",
                    f"targets.{name}.{'.'.join(keys)} does not compile: {exc}",
                )
            )
    if problems:
        return None, problems
    resources = raw["resources"]
    # A kind whose names do not say their project (a bucket) is placed by the policy.
    buckets: dict[str, Any] = {
        name: entry
        for kind in resource_kinds.kinds()
        if kind.placed_by_policy
        for name, entry in resources.get(kind.key, {}).items()
    }
    target = Target(
        name=name,
        approvers=tuple(raw["approvers"]),
        max_duration=parse_duration(raw["max_duration"]),
        max_lead_time=parse_duration(raw["max_lead_time"]),
        ticket_pattern=raw["ticket_pattern"],
        domains=tuple(raw["domains"]),
        roles=tuple(raw["roles"]),
        resources={kind: tuple(resources.get(kind, ())) for kind in resource_kinds.names()},
        bucket_projects={name: _bucket_project(entry) for name, entry in buckets.items()},
        audit_services=tuple(raw["audit_services"]),
        persistence_exceptions=dict(raw.get("persistence_exceptions", {})),
        uniform_access_buckets=frozenset(
            name
            for name, entry in buckets.items()
            if isinstance(entry, dict) and entry.get("uniform_bucket_level_access") == "required"
        ),
        hierarchy=tuple(raw.get("hierarchy", ())),
        emergency=_emergency(raw["emergency"]) if "emergency" in raw else None,
        extensions=_extension_limits(raw["extensions"]) if "extensions" in raw else None,
        notify=raw.get("notify"),
    )
    return target, problems


def _emergency(raw: dict[str, Any]) -> Emergency:
    return Emergency(
        approvers=tuple(raw["approvers"]),
        max_duration=parse_duration(raw["max_duration"]),
        roles=tuple(raw["roles"]),
        ticket_pattern=raw["ticket_pattern"],
        normal_approval_within=parse_duration(raw["normal_approval_within"]),
        max_per_person=raw["max_per_person"],
        max_per_target=raw["max_per_target"],
        window=parse_duration(raw["window"]),
        review_within=parse_duration(raw["review_within"]),
    )


def _bucket_project(entry: str | dict[str, str]) -> str:
    # The schema allows the bare project name so that LAPSE222 can say what is missing.
    return entry if isinstance(entry, str) else entry["project"]
