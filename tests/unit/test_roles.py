"""generator.gcp.roles: the committed lock, the persistence rules, and the IAM sync."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.api_core import exceptions as gexc
from google.cloud.iam_admin_v1 import types

from generator.core.errors import ConfigError, ServiceError
from generator.gcp import role_sync, roles
from generator.gcp.role_sync import IAMRoleReader, RoleChange, format_changes, sync_roles
from generator.gcp.roles import (
    LockError,
    PersistenceRules,
    RoleInfo,
    RolesLock,
    dump_lock,
    load_lock,
    persistence_permissions,
    write_lock,
)

LOCK = Path(__file__).resolve().parents[2] / "policy" / "roles.lock.json"
TODAY = "2026-12-01"

DANGEROUS = {
    "roles/resourcemanager.projectIamAdmin": {
        "iam_policy": ["resourcemanager.projects.setIamPolicy"],
    },
    "roles/iam.serviceAccountKeyAdmin": {
        "credentials": ["iam.serviceAccountKeys.create"],
    },
    "roles/iam.serviceAccountTokenCreator": {
        "tokens_and_impersonation": [
            "iam.serviceAccounts.getAccessToken",
            "iam.serviceAccounts.getOpenIdToken",
            "iam.serviceAccounts.implicitDelegation",
            "iam.serviceAccounts.signBlob",
            "iam.serviceAccounts.signJwt",
        ],
    },
}
HARMLESS = [
    "roles/bigquery.dataViewer",
    "roles/cloudsql.client",
    "roles/cloudsql.viewer",
    "roles/iam.securityReviewer",
    "roles/iam.serviceAccountViewer",
    "roles/logging.viewer",
    "roles/resourcemanager.folderViewer",
    "roles/secretmanager.viewer",
    "roles/storage.objectViewer",
]


# ---------------------------------------------------------------------------
# The committed lock file.


def test_committed_lock_round_trips_byte_for_byte() -> None:
    assert dump_lock(load_lock(LOCK)) == LOCK.read_text(encoding="utf-8")


def test_committed_lock_holds_the_expected_roles() -> None:
    lock = load_lock(LOCK)
    assert sorted(lock) == sorted([*DANGEROUS, *HARMLESS])
    for info in lock.values():
        assert info.source == "predefined"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", info.read)
        assert info.title and info.stage and info.permissions


def test_committed_permissions_are_sorted_and_unique_in_the_file() -> None:
    # Checked on the raw JSON: the loader normalizes, so it would hide a hand edit.
    document = json.loads(LOCK.read_text(encoding="utf-8"))
    for name, body in document["roles"].items():
        permissions = body["permissions"]
        assert permissions == sorted(set(permissions)), name


@pytest.mark.parametrize("name", sorted(DANGEROUS))
def test_dangerous_roles_are_flagged_with_exact_permissions(name: str) -> None:
    info = load_lock(LOCK)[name]
    assert persistence_permissions(info.permissions) == DANGEROUS[name]


@pytest.mark.parametrize("name", HARMLESS)
def test_harmless_roles_are_not_flagged(name: str) -> None:
    assert persistence_permissions(load_lock(LOCK)[name].permissions) == {}


def test_project_iam_admin_can_set_the_project_policy() -> None:
    info = load_lock(LOCK)["roles/resourcemanager.projectIamAdmin"]
    assert "resourcemanager.projects.setIamPolicy" in info.permissions


# ---------------------------------------------------------------------------
# Persistence rules.


def test_suffix_wildcard_matches_set_iam_policy_on_any_resource() -> None:
    found = persistence_permissions(
        [
            "storage.buckets.setIamPolicy",
            "iam.serviceAccounts.setIamPolicy",
            "resourcemanager.projects.getIamPolicy",
            "storage.buckets.setIamPolicyX",
            "bigquery.datasets.get",
        ]
    )
    assert found == {
        "iam_policy": ["iam.serviceAccounts.setIamPolicy", "storage.buckets.setIamPolicy"]
    }


def test_groups_report_sorted_unique_permissions_across_groups() -> None:
    found = persistence_permissions(
        [
            "iam.serviceAccounts.signJwt",
            "iam.serviceAccounts.actAs",
            "iam.serviceAccounts.actAs",
            "run.services.create",
            "container.clusterRoles.bind",
        ]
    )
    assert found == {
        "gke_rbac": ["container.clusterRoles.bind"],
        "tokens_and_impersonation": ["iam.serviceAccounts.actAs", "iam.serviceAccounts.signJwt"],
        "workloads_as_service_account": ["run.services.create"],
    }


def test_rules_from_text_honour_only_the_given_patterns() -> None:
    rules = PersistenceRules.from_text(
        "groups:\n"
        "  policy:\n"
        "    risk: can rewrite policy\n"
        "    permissions: ['*.setIamPolicy', 'a.b.create']\n"
    )
    assert rules.persistence_permissions(["x.y.setIamPolicy", "a.b.create", "a.b.delete"]) == {
        "policy": ["a.b.create", "x.y.setIamPolicy"],
    }
    assert persistence_permissions(["a.b.create"], rules) == {"policy": ["a.b.create"]}
    assert rules.risk("policy") == "can rewrite policy"


def test_every_group_has_a_risk_text() -> None:
    rules = PersistenceRules.load()
    assert [g.name for g in rules.groups] == [
        "iam_policy",
        "custom_roles",
        "org_policy",
        "credentials",
        "federation",
        "tokens_and_impersonation",
        "workloads_as_service_account",
        "gke_workloads",
        "data_transfers",
        "database_users",
        "log_routing",
        "gke_rbac",
    ]
    for group in rules.groups:
        assert rules.risk(group.name) == group.risk
        assert "\n" not in group.risk and len(group.risk) > 40
    with pytest.raises(KeyError):
        rules.risk("no_such_group")


@pytest.mark.parametrize(
    "text",
    [
        "groups: {}\n",
        "[1, 2]\n",
        "groups: {g: {risk: '', permissions: [a.b.c]}}\n",
        "groups: {g: {risk: why, permissions: []}}\n",
        "groups: {g: {risk: why, permissions: ['*.foo.*']}}\n",
        "groups: {g: {risk: why, permissions: ['setIamPolicy']}}\n",
        "groups: {g: {risk: why, permissions: [3]}}\n",
        "groups: {g: [a.b.c]}\n",
        "groups: {g: {risk: why, permissions: [a.b.c]\n",
    ],
)
def test_malformed_rules_are_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        PersistenceRules.from_text(text)


def test_the_data_file_itself() -> None:
    raw = resources.files("generator").joinpath("data/persistence_permissions.yaml")
    document = yaml.safe_load(raw.read_text(encoding="utf-8"))
    exact = re.compile(r"^[a-z][a-z0-9]*(\.[A-Za-z][A-Za-z0-9]*){2}$")
    # IAM spells some of its own permissions with its host: iam.googleapis.com/resource.verb.
    hosted = re.compile(r"^iam\.googleapis\.com/[a-z][A-Za-z0-9]*\.[a-z][A-Za-z0-9]*$")
    verb = re.compile(r"^\*\.[A-Za-z][A-Za-z0-9]*$")
    seen: set[str] = set()
    for name, group in document["groups"].items():
        assert isinstance(group["risk"], str) and group["risk"].strip(), name
        for permission in group["permissions"]:
            assert exact.match(permission) or hosted.match(permission) or verb.match(permission), (
                permission
            )
            assert permission not in seen, f"{permission} is in two groups"
            seen.add(permission)
    # The minimum the design names, in any group.
    assert {
        "*.setIamPolicy",
        "iam.roles.update",
        "iam.roles.create",
        "orgpolicy.policy.set",
        "iam.serviceAccountKeys.create",
        "storage.hmacKeys.create",
        "serviceusage.apiKeys.create",
        "compute.instances.setMetadata",
        "compute.projects.setCommonInstanceMetadata",
        "iam.serviceAccounts.getAccessToken",
        "iam.serviceAccounts.actAs",
        "cloudbuild.builds.create",
        "deploymentmanager.deployments.create",
        "container.roles.bind",
        "container.clusterRoles.escalate",
    } <= seen


def test_provider_arguments_data_file() -> None:
    raw = resources.files("generator").joinpath("data/provider_arguments.json")
    text = raw.read_text(encoding="utf-8")
    document = json.loads(text)
    assert text == json.dumps(document, indent=2, sort_keys=True) + "\n"
    assert (document["provider"], document["major"]) == ("hashicorp/google", 7)
    # 7.9.0 dropped "IAM conditions not allowed on BigQuery Dataset IAM"; 7.44.0 fixed a panic
    # reading incomplete conditions on the same resource.
    assert document["conditions_on_datasets_since"] == "7.9.0"
    assert document["minimum_version"] == "7.44.0"
    assert len(document["resources"]) == 7
    # Every kind, datasets included, grants through a non-authoritative *_iam_member.
    assert all(name.endswith("_iam_member") for name in document["resources"])
    assert "google_bigquery_dataset_iam_member" in document["resources"]
    for resource in document["resources"].values():
        assert resource["arguments"]["role"] == {"required": True}
        assert resource["arguments"]["member"] == {"required": True}
        assert resource["blocks"]["condition"] == {
            "title": {"required": True},
            "expression": {"required": True},
            "description": {"required": False},
        }
        assert resource["condition_accepted_at_apply"] is True
    scoping = {
        name: sorted(set(r["arguments"]) - {"role", "member"})
        for name, r in document["resources"].items()
    }
    assert scoping["google_bigquery_dataset_iam_member"] == ["dataset_id", "project"]
    assert scoping["google_folder_iam_member"] == ["folder"]
    assert scoping["google_organization_iam_member"] == ["org_id"]
    assert scoping["google_secret_manager_secret_iam_member"] == ["project", "secret_id"]
    assert scoping["google_service_account_iam_member"] == ["service_account_id"]


# ---------------------------------------------------------------------------
# A lock file that cannot be used.


def _lock_text(**role: Any) -> str:
    body = {
        "title": "T",
        "stage": "GA",
        "permissions": ["a.b.c"],
        "read": "2026-01-02",
        "source": "predefined",
        **role,
    }
    return json.dumps({"format": 1, "roles": {"roles/x": body}}, indent=2)


def _load_text(tmp_path: Path, text: str | bytes) -> RolesLock:
    path = tmp_path / "roles.lock.json"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return load_lock(path)


def test_truncated_json_names_line_and_column(tmp_path: Path) -> None:
    text = LOCK.read_text(encoding="utf-8")[:500]
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(LockError) as caught:
        _load_text(tmp_path, text)
    assert (caught.value.line, caught.value.col) == (expected.value.lineno, expected.value.colno)
    assert caught.value.line > 1
    assert "not valid JSON" in str(caught.value)


def test_not_utf8_names_the_byte(tmp_path: Path) -> None:
    with pytest.raises(LockError) as caught:
        _load_text(tmp_path, b'{\n  "format": 1,\n  "ro\xffles": {}\n}\n')
    assert (caught.value.line, caught.value.col) == (3, 6)
    assert "UTF-8" in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LockError) as caught:
        load_lock(tmp_path / "absent.json")
    assert (caught.value.line, caught.value.col) == (1, 1)
    assert "cannot read" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (_lock_text(permissions="a.b.c"), "list of strings"),
        (_lock_text(permissions=["a.b.c", 7]), "list of strings"),
        (_lock_text(title=None), '"title" must be a string'),
        (_lock_text(read="yesterday"), "ISO date"),
        (_lock_text(read="2026-1-2"), "ISO date"),
        (_lock_text(source="custom"), '"source" must be "predefined"'),
        (_lock_text(extra=1), "must have exactly"),
    ],
)
def test_wrong_role_fields_point_at_the_role(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(LockError) as caught:
        _load_text(tmp_path, text)
    assert words in str(caught.value)
    assert "roles/x" in str(caught.value)
    assert (caught.value.line, caught.value.col) == (4, 5)  # where "roles/x" starts


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[]", "exactly"),
        ('{"format": 1}', "exactly"),
        ('{"format": 2, "roles": {}}', '"format" must be 1'),
        ('{"format": true, "roles": {}}', '"format" must be 1'),
        ('{"format": 1, "roles": []}', '"roles" must be an object'),
        ('{"format": 1, "roles": {"owner": {}}}', "not a role name"),
    ],
)
def test_wrong_shape_is_a_lock_error(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(LockError) as caught:
        _load_text(tmp_path, text)
    assert words in str(caught.value)
    assert caught.value.line >= 1 and caught.value.col >= 1


def test_lock_error_is_a_config_error() -> None:
    error = LockError("broken", 3, 7)
    assert isinstance(error, ConfigError) and error.exit_code == 2
    assert (str(error), error.message, error.line, error.col) == ("broken", "broken", 3, 7)


def test_custom_roles_load_as_custom(tmp_path: Path) -> None:
    body = {
        "title": "T",
        "stage": "GA",
        "permissions": ["b.c.d", "a.b.c", "a.b.c"],
        "read": "2026-01-02",
        "source": "custom",
    }
    lock = _load_text(
        tmp_path,
        json.dumps(
            {
                "format": 1,
                "roles": {
                    "organizations/123/roles/reader": body,
                    "projects/p-1/roles/reader": body,
                },
            }
        ),
    )
    assert {info.source for info in lock.values()} == {"custom"}
    assert lock["projects/p-1/roles/reader"].permissions == ("a.b.c", "b.c.d")


def test_write_lock_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "roles.lock.json"
    lock = load_lock(LOCK)
    write_lock(path, lock)
    assert path.read_bytes() == LOCK.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["roles.lock.json"]


# ---------------------------------------------------------------------------
# Sync through a fake IAM client.


def _role(
    name: str,
    permissions: Iterable[str],
    *,
    title: str = "Title",
    stage: str = "GA",
    deleted: bool = False,
) -> types.Role:
    return types.Role(
        name=name,
        title=title,
        stage=getattr(types.Role.RoleLaunchStage, stage),
        included_permissions=list(permissions),
        deleted=deleted,
    )


@dataclass
class FakeIAM:
    """Answers get_role from a table; an exception in the table is raised instead."""

    answers: Mapping[str, types.Role | BaseException | list[types.Role | BaseException]]
    calls: list[str] = field(default_factory=list)

    def get_role(self, *, name: str) -> types.Role:
        self.calls.append(name)
        answer = self.answers[name]
        if isinstance(answer, list):
            answer = answer.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def _no_sleep() -> tuple[list[float], Callable[[float], None]]:
    slept: list[float] = []
    return slept, slept.append


CUSTOM = "projects/pci-prod-payments/roles/settlementReader"


def test_sync_reads_predefined_and_custom_roles() -> None:
    fake = FakeIAM(
        {
            "roles/cloudsql.client": _role(
                "roles/cloudsql.client",
                ["cloudsql.instances.get", "cloudsql.instances.connect"],
                title="Cloud SQL Client",
            ),
            CUSTOM: _role(CUSTOM, ["storage.objects.get"], title="Settlement reader", stage="BETA"),
        }
    )
    lock, changes = sync_roles(RolesLock(), ["roles/cloudsql.client", CUSTOM], fake, TODAY)
    assert lock["roles/cloudsql.client"] == RoleInfo(
        "roles/cloudsql.client",
        "Cloud SQL Client",
        "GA",
        ("cloudsql.instances.connect", "cloudsql.instances.get"),
        TODAY,
        "predefined",
    )
    assert lock[CUSTOM] == RoleInfo(
        CUSTOM, "Settlement reader", "BETA", ("storage.objects.get",), TODAY, "custom"
    )
    assert changes == [
        RoleChange(
            "roles/cloudsql.client",
            ("cloudsql.instances.connect", "cloudsql.instances.get"),
            (),
            new=True,
        ),
        RoleChange(CUSTOM, ("storage.objects.get",), (), new=True),
    ]
    assert format_changes(changes) == [
        "roles/cloudsql.client: new, 2 permissions",
        f"{CUSTOM}: new, 1 permissions",
    ]
    assert dump_lock(load_lock_text(dump_lock(lock))) == dump_lock(lock)


def load_lock_text(text: str) -> RolesLock:
    return roles.parse_lock(text.encode("utf-8"))


def test_a_role_that_gained_set_iam_policy_shows_as_added() -> None:
    name = "roles/x.operator"
    before = ["x.things.get", "x.things.list"]
    first, _ = sync_roles(RolesLock(), [name], FakeIAM({name: _role(name, before)}), "2026-11-01")
    assert persistence_permissions(first[name].permissions) == {}

    after = [*before, "resourcemanager.projects.setIamPolicy"]
    second, changes = sync_roles(first, [name], FakeIAM({name: _role(name, after)}), TODAY)
    assert format_changes(changes) == [f"{name}: +resourcemanager.projects.setIamPolicy"]
    assert second[name].read == TODAY
    assert persistence_permissions(second[name].permissions) == {
        "iam_policy": ["resourcemanager.projects.setIamPolicy"]
    }


def test_removed_and_unchanged_roles_are_reported() -> None:
    lock = load_lock(LOCK)
    viewer = lock["roles/storage.objectViewer"]
    client = lock["roles/cloudsql.client"]
    fake = FakeIAM(
        {
            viewer.name: _role(
                viewer.name, [p for p in viewer.permissions if p != "storage.folders.get"]
            ),
            client.name: _role(client.name, client.permissions),
        }
    )
    _, changes = sync_roles(lock, [viewer.name, client.name, viewer.name], fake, TODAY)
    assert fake.calls == [viewer.name, client.name]  # each role read once
    assert format_changes(changes) == [
        "roles/storage.objectViewer: -storage.folders.get",
        "roles/cloudsql.client: unchanged",
    ]


def test_roles_not_synced_are_kept_as_they_were() -> None:
    lock = load_lock(LOCK)
    name = "roles/cloudsql.client"
    fake = FakeIAM({name: _role(name, lock[name].permissions, title="Cloud SQL Client")})
    new, _ = sync_roles(lock, [name], fake, TODAY)
    assert set(new) == set(lock)
    assert new["roles/logging.viewer"] is lock["roles/logging.viewer"]
    assert new[name].read == TODAY


@pytest.mark.parametrize(
    "error",
    [
        gexc.NotFound("role roles/nope not found"),
        gexc.PermissionDenied("caller lacks iam.roles.get"),
    ],
)
def test_one_failing_role_changes_nothing(error: Exception) -> None:
    lock = load_lock(LOCK)
    before = dump_lock(lock)
    good = "roles/cloudsql.client"
    fake = FakeIAM(
        {good: _role(good, ["cloudsql.instances.connect", "x.y.setIamPolicy"]), "roles/nope": error}
    )
    slept, sleep = _no_sleep()
    with pytest.raises(ServiceError) as caught:
        sync_roles(lock, [good, "roles/nope"], fake, TODAY, sleep=sleep)
    assert "roles/nope" in str(caught.value)
    assert type(error).__name__ in str(caught.value)
    assert caught.value.exit_code == 3
    assert dump_lock(lock) == before
    assert slept == []  # permanent errors are not retried
    assert fake.calls == [good, "roles/nope"]


def test_transient_errors_are_retried() -> None:
    name = "roles/cloudsql.client"
    fake = FakeIAM(
        {
            name: [
                gexc.ServiceUnavailable("busy"),
                gexc.TooManyRequests("quota"),
                gexc.DeadlineExceeded("slow"),
                gexc.InternalServerError("oops"),
                _role(name, ["cloudsql.instances.connect"]),
            ]
        }
    )
    slept, sleep = _no_sleep()
    lock, _ = sync_roles(RolesLock(), [name], fake, TODAY, sleep=sleep)
    assert lock[name].permissions == ("cloudsql.instances.connect",)
    assert slept == [1.0, 2.0, 4.0, 8.0]


def test_transient_errors_give_up_after_the_last_attempt() -> None:
    name = "roles/cloudsql.client"
    fake = FakeIAM({name: [gexc.TooManyRequests("quota") for _ in range(3)]})
    slept, sleep = _no_sleep()
    with pytest.raises(ServiceError, match=r"roles/cloudsql\.client.*TooManyRequests"):
        sync_roles(RolesLock(), [name], fake, TODAY, sleep=sleep, attempts=3)
    assert slept == [1.0, 2.0]


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (_role("roles/other", ["a.b.c"]), "answered with roles/other"),
        (_role("roles/x", ["a.b.c"], deleted=True), "deleted"),
    ],
)
def test_suspicious_answers_are_service_errors(answer: types.Role, words: str) -> None:
    with pytest.raises(ServiceError, match=words):
        sync_roles(RolesLock(), ["roles/x"], FakeIAM({"roles/x": answer}), TODAY)


@pytest.mark.parametrize(
    ("names", "today"),
    [
        (["owner"], TODAY),
        (["projects/p/roles/"], TODAY),
        (["roles/x"], "01/12/2026"),
    ],
)
def test_bad_arguments_are_config_errors(names: list[str], today: str) -> None:
    fake = FakeIAM({})
    with pytest.raises(ConfigError):
        sync_roles(RolesLock(), names, fake, today)
    assert fake.calls == []


def test_is_transient() -> None:
    assert role_sync.is_transient(gexc.ServiceUnavailable("x"))
    assert not role_sync.is_transient(gexc.NotFound("x"))
    assert not role_sync.is_transient(ValueError("x"))


# ---------------------------------------------------------------------------
# The adapter over the real client.


class RecordingClient:
    def __init__(self) -> None:
        self.requests: list[Any] = []

    def get_role(self, request: Any = None) -> types.Role:
        self.requests.append(request)
        return _role(types.GetRoleRequest(request).name, ["a.b.c"])


def test_iam_role_reader_sends_a_get_role_request() -> None:
    client = RecordingClient()
    lock, _ = sync_roles(RolesLock(), ["roles/x"], IAMRoleReader(client), TODAY)
    assert client.requests == [{"name": "roles/x"}]
    assert lock["roles/x"].permissions == ("a.b.c",)


def test_build_iam_client_wraps_the_iam_client(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.cloud import iam_admin_v1

    monkeypatch.setattr(iam_admin_v1, "IAMClient", RecordingClient)
    reader = role_sync.build_iam_client()
    assert isinstance(reader, IAMRoleReader)
    reader.get_role(name="roles/y")


def test_importing_the_module_does_not_load_the_iam_client() -> None:
    code = "import sys, generator.gcp.roles; print('google.cloud.iam_admin_v1' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    "text",
    [
        "classes: {c: why}\ngroups: {g: {risk: why, class: other, permissions: [a.b.c]}}\n",
        "classes: {c: why}\ngroups: {g: {risk: why, permissions: [a.b.c]}}\n",
        "classes: {c: ''}\ngroups: {g: {risk: why, class: c, permissions: [a.b.c]}}\n",
        "classes: [c]\ngroups: {g: {risk: why, class: c, permissions: [a.b.c]}}\n",
        "groups: {g: {risk: why, class: [c], permissions: [a.b.c]}}\n",
        "groups: {g: {risk: why, permissions: [iam.googleapis.com/roles]}}\n",
        "groups: {g: {risk: why, permissions: [iam.googleapis.com/x/roles.create]}}\n",
    ],
)
def test_classes_are_named_and_given_a_reason(text: str) -> None:
    with pytest.raises(ConfigError):
        PersistenceRules.from_text(text)


def test_iam_host_spelled_permissions_are_rules_too() -> None:
    rules = PersistenceRules.from_text(
        "classes: {credential: trusted outside}\n"
        "groups: {f: {risk: why, class: credential,"
        " permissions: [iam.googleapis.com/workforcePoolProviders.update]}}\n"
    )
    held = ["iam.googleapis.com/workforcePoolProviders.update", "iam.roles.get"]
    assert rules.persistence_permissions(held) == {
        "f": ["iam.googleapis.com/workforcePoolProviders.update"]
    }
    assert rules.classes == {"credential": "trusted outside"}
