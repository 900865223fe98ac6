"""The persistence rules held to Google's own catalogue of predefined roles.

tests/data/google_roles/ holds a dated snapshot of every predefined role's permissions (its
README names the source, commit and date). From it: every exact permission the rules name
exists (none is stale but the one kept on purpose), every permission named when the rules were
checked against Google's list is caught, and every predefined role holding a permission of a
persistence class is refused by LAPSE253 (a target allowing it) and LAPSE251 (a request for
it) unless the target lists it under `persistence_exceptions`.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import yaml

from generator.checks.loading import Document
from generator.checks.rules import PolicyContext, RequestContext
from generator.checks.rules.roles import no_persistence, policy_persistence
from generator.core.model import Grant, Policy, Request, Target, Window
from generator.gcp.roles import RoleInfo, RolesLock, default_rules

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "tests" / "data" / "google_roles" / "predefined_roles.json.gz"
RULES = ROOT / "generator" / "data" / "persistence_permissions.yaml"
# Kept although no predefined role holds it any more: custom roles may (README of the data).
STALE_ON_PURPOSE = {"serviceusage.apiKeys.create"}
# Permissions that outlive a window and that predefined roles hold, named when the rules were
# last checked against the catalogue; written out here, not derived from the rules.
NAMED = {
    "logging.sinks.create": "log_routing",
    "logging.sinks.update": "log_routing",
    "storagetransfer.jobs.create": "data_path_out",
    "apikeys.keys.create": "credential",
    "apikeys.keys.getKeyString": "credential",
    "iam.serviceAccountApiKeyBindings.create": "credential",
    "cloudsql.users.create": "database_user",
    "cloudsql.users.update": "database_user",
    "secretmanager.versions.add": "credential",
    "container.cronJobs.create": "deployed_code",
    "container.pods.create": "deployed_code",
    "workflows.workflows.create": "deployed_code",
    "composer.environments.create": "deployed_code",
    "appengine.versions.create": "deployed_code",
    "iam.googleapis.com/workforcePoolProviders.update": "credential",
    "iam.googleapis.com/workloadIdentityPoolProviders.update": "credential",
    "iam.googleapis.com/workforcePools.setIamPolicy": "iam_change",
    "resourcemanager.projects.setIamPolicy": "iam_change",
    "iam.serviceAccountKeys.create": "credential",
}


@cache
def catalogue() -> dict[str, frozenset[str]]:
    data = json.loads(gzip.decompress(CATALOGUE.read_bytes()))
    names: list[str] = data["permissions"]
    roles = {}
    for role, gaps in data["roles"].items():
        index, held = 0, []
        for gap in gaps:
            index += gap
            held.append(names[index])
        roles[role] = frozenset(held)
    return roles


@cache
def classes() -> list[tuple[str, frozenset[str], tuple[str, ...]]]:
    """(class, exact permissions, `*.verb` suffixes) per group, read from the data file."""
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [
        (
            group["class"],
            frozenset(p for p in group["permissions"] if not p.startswith("*.")),
            tuple(p[1:] for p in group["permissions"] if p.startswith("*.")),
        )
        for group in document["groups"].values()
    ]


def classes_held(permissions: frozenset[str]) -> set[str]:
    """The persistence classes a set of permissions reaches."""
    return {
        kind
        for kind, exact, suffixes in classes()
        if permissions & exact or (suffixes and any(p.endswith(suffixes) for p in permissions))
    }


def lock_of(roles: dict[str, frozenset[str]]) -> RolesLock:
    return RolesLock(
        RoleInfo(name, name, "GA", tuple(sorted(held)), "2026-08-22", "predefined")
        for name, held in roles.items()
    )


def target(roles: tuple[str, ...], exceptions: dict[str, str] | None = None) -> Target:
    return Target(
        name="pci-prod",
        approvers=("@example-org/pci-access-approvers",),
        max_duration=timedelta(hours=4),
        max_lead_time=timedelta(days=7),
        ticket_pattern="^INC-[0-9]+$",
        domains=("example.com",),
        roles=roles,
        resources={"project": ("pci-prod-payments",)},
        bucket_projects={},
        audit_services=(),
        persistence_exceptions=exceptions or {},
    )


def test_the_snapshot_is_what_its_readme_says() -> None:
    roles = catalogue()
    assert len(roles) == 2461
    assert sum(map(len, roles.values())) == 165_179
    assert roles["roles/cloudsql.client"] == {
        "cloudsql.instances.connect",
        "cloudsql.instances.get",
    }


def test_every_exact_permission_of_the_rules_is_one_google_grants() -> None:
    known = set().union(*catalogue().values())
    named = {p for g in default_rules().groups for p in g.patterns if not p.startswith("*.")}
    assert named - known == STALE_ON_PURPOSE
    suffixes = {p[1:] for g in default_rules().groups for p in g.patterns if p.startswith("*.")}
    assert all(any(p.endswith(s) for p in known) for s in suffixes)


def test_every_named_permission_is_caught_in_its_class() -> None:
    rules = default_rules()
    for permission, kind in NAMED.items():
        groups = rules.persistence_permissions([permission])
        assert groups, f"{permission} is not caught"
        assert {g.kind for g in rules.groups if g.name in groups} == {kind}, permission


def test_every_class_has_a_reason_and_every_group_a_class() -> None:
    rules = default_rules()
    assert set(rules.classes) == {
        "credential",
        "iam_change",
        "deployed_code",
        "data_path_out",
        "database_user",
        "log_routing",
    }
    assert all(len(why.split()) >= 8 for why in rules.classes.values())
    assert {g.kind for g in rules.groups} == set(rules.classes)


def test_every_predefined_role_of_a_persistence_class_is_refused_unless_excepted() -> None:
    roles = catalogue()
    held = {role: classes_held(permissions) for role, permissions in roles.items()}
    dangerous = {role for role, kinds in held.items() if kinds}
    names = tuple(sorted(roles))
    document = Document("policy/policy.yaml", {})
    policy = Policy(people={}, targets={"pci-prod": target(names)}, security_owners=())
    lock = lock_of(roles)

    refused = {
        p.message.split(" allows ", 1)[1].split(",", 1)[0]
        for p in policy_persistence(PolicyContext(document, policy, lock))
    }

    assert refused == dangerous
    # Roles refused per class (a role may reach several classes); each class refuses some.
    per_class = Counter(kind for role in dangerous for kind in held[role])
    assert set(per_class) == set(default_rules().classes)

    # A written exception lets one through, and only that one.
    excepted = "roles/logging.configWriter"
    assert excepted in dangerous
    allowed = target(names, {excepted: "sinks reviewed by the security team"})
    policy = replace(policy, targets={"pci-prod": allowed})
    again = {
        p.message.split(" allows ", 1)[1].split(",", 1)[0]
        for p in policy_persistence(PolicyContext(document, policy, lock))
    }
    assert again == dangerous - {excepted}


def test_a_request_for_each_class_is_refused() -> None:
    roles = catalogue()
    held = {role: classes_held(permissions) for role, permissions in roles.items()}
    # One role per class that reaches that class alone, asked for in a request.
    chosen = {}
    for role in sorted(roles):
        kinds = held[role]
        if len(kinds) == 1:
            chosen.setdefault(next(iter(kinds)), role)
    assert len(chosen) == 6, chosen
    lock = lock_of({role: roles[role] for role in chosen.values()})
    for kind, role in sorted(chosen.items()):
        request = Request(
            id="inc-4512-x",
            target="pci-prod",
            path="requests/pci-prod/inc-4512-x.yaml",
            requester="alice@example.com",
            reason="why",
            ticket="INC-4512",
            window=Window(None, datetime(2026, 12, 1, tzinfo=UTC)),
            grants=(Grant(role, "project", "pci-prod-payments"),),
        )
        context = RequestContext(
            request=request,
            document=Document(request.path, {}),
            target=target((role,)),
            policy=Policy(people={}, targets={}, security_owners=()),
            roles=lock,
            audit=None,
            now=None,
            time_checked=False,
        )
        (problem,) = no_persistence(context)
        assert problem.rule == "LAPSE251", kind
        assert role in problem.message
