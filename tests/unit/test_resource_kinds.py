"""The resource-kind registry: schemas/ and tests/golden/ follow it, and a kind added through it
alone is validated, rendered, simulated, read live and reviewed like the built-in ones.

`cloud_run_service` below follows ARCHITECTURE.md's "How to add a resource kind": one entry,
the schemas written from the registry, one golden file (tests/data/cloud_run_service/).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import requests
import responses

from generator.core import resource_kinds
from generator.core.model import Grant, Request, Window
from generator.core.resource_kinds import AuditNames, PolicyRead, ResourceKind, SetupCheck
from generator.core.resource_names import OPTIONS_QUERY, PolicyRequest, Read, same
from generator.gcp.iam_policies import IamPolicyReader, canonical_resource, policy_request
from generator.terraform.bindings import read_bindings
from generator.terraform.render import render_request
from tests.acceptance.cli import lapse
from tests.support import REPO, export_manifest, make_repo, place

GOLDEN = REPO / "tests" / "golden"
FAKE = REPO / "tests" / "data" / "cloud_run_service"
RUN = "https://run.googleapis.com/v2"
SERVICE = "projects/pci-prod-payments/locations/europe-west1/services/settlement-api"
OTHER_SERVICE = "projects/pci-prod-payments/locations/europe-west1/services/refunds-api"
_SERVICE_NAME = re.compile(
    r"^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/locations/[a-z0-9-]{1,63}/services/[a-z][a-z0-9-]{0,62}$"
)


def _service_arguments(name: str) -> tuple[tuple[str, str], ...]:
    _, project, _, location, _, service = name.split("/")
    return (("project", project), ("location", location), ("name", service))


def _service_read_back(read: Read) -> str:
    return f"projects/{read('project')}/locations/{read('location')}/services/{read('name')}"


def _service_granter(name: str, project: str | None, member: str, role: str) -> str:
    return (
        f"gcloud run services add-iam-policy-binding {name.rsplit('/', 1)[-1]} "
        f"--project {project} --region {name.split('/')[3]} --member {member} --role {role}"
    )


CLOUD_RUN_SERVICE = ResourceKind(
    key="cloud_run_service",
    schema={
        "title": "Cloud Run service",
        "description": "projects/PROJECT/locations/REGION/services/NAME.",
        "pattern": _SERVICE_NAME.pattern,
    },
    terraform_type="google_cloud_run_v2_service_iam_member",
    arguments=_service_arguments,
    read_back=_service_read_back,
    policy=PolicyRead(
        name=lambda text: text if _SERVICE_NAME.match(text) else "",
        request=lambda name: PolicyRequest(
            "GET", f"{RUN}/{name}:getIamPolicy", params=OPTIONS_QUERY
        ),
    ),
    audit=AuditNames(same),
    setup=SetupCheck(
        exists=lambda name: f"{RUN}/{name}",
        granter_command=_service_granter,
        home_checked=True,
    ),
    home_project=lambda name: name.split("/")[1],
)


@pytest.fixture
def cloud_run_service() -> Iterator[ResourceKind]:
    with resource_kinds.registered(CLOUD_RUN_SERVICE) as kind:
        yield kind


def _request(grant: Grant, request_id: str = "inc-4512-batch") -> Request:
    return Request(
        id=request_id,
        target="pci-prod",
        path=f"requests/pci-prod/{request_id}.yaml",
        requester="alice@example.com",
        reason="Investigate failed settlement batch",
        ticket="INC-4512",
        window=Window(datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 13, tzinfo=UTC)),
        grants=(grant,),
    )


# --- the built-in kinds --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["access-request", "policy"])
def test_the_schemas_list_exactly_the_registered_kinds(name: str) -> None:
    text = (REPO / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
    written = json.dumps(resource_kinds.with_kinds(json.loads(text)), indent=2, ensure_ascii=False)
    assert written + "\n" == text, f"schemas/{name}.schema.json: write it from the registry"


@pytest.mark.parametrize("kind", resource_kinds.names())
def test_every_kind_has_a_golden_file_that_reads_back_to_itself(kind: str, tmp_path: Path) -> None:
    golden = (GOLDEN / f"{kind}.tf").read_text(encoding="utf-8")
    place(tmp_path, "grants.tf", golden)
    (binding,) = read_bindings(tmp_path)
    assert binding.kind == kind
    grant = Grant(binding.role, binding.kind, binding.resource)
    assert render_request(_request(grant)) == golden


def test_no_two_kinds_share_a_key_or_a_terraform_type() -> None:
    taken = resource_kinds.kinds()[0]
    with pytest.raises(ValueError, match="is registered"):
        resource_kinds.register(taken)
    with pytest.raises(ValueError, match="is registered"):
        resource_kinds.register(
            ResourceKind(
                key="another",
                schema=taken.schema,
                terraform_type=taken.terraform_type,
                arguments=taken.arguments,
                read_back=taken.read_back,
                policy=taken.policy,
                audit=taken.audit,
            )
        )
    assert resource_kinds.kinds()[0] is taken
    assert "another" not in resource_kinds.names()


# --- a kind added through the registry alone --------------------------------------------------


def test_a_registered_kind_leaves_with_its_fixture() -> None:
    assert "cloud_run_service" not in resource_kinds.names()
    with resource_kinds.registered(CLOUD_RUN_SERVICE):
        assert resource_kinds.names()[-1] == "cloud_run_service"
    assert "cloud_run_service" not in resource_kinds.names()


def _fake_kind_repo(root: Path) -> Path:
    """The sample repository, with schemas/ written from the registry and the kind allowed."""
    make_repo(root)
    for name in ("access-request", "policy"):
        path = root / "schemas" / f"{name}.schema.json"
        schema = resource_kinds.with_kinds(json.loads(path.read_text(encoding="utf-8")))
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    policy = root / "policy" / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    text = text.replace(
        "      - roles/logging.viewer\n",
        "      - roles/logging.viewer\n      - roles/run.viewer\n",
        1,
    )
    last_dataset = "        - pci-prod-analytics.settlements\n"
    allowed = f"      cloud_run_service:\n        - {SERVICE}\n"
    text = text.replace(last_dataset, last_dataset + allowed, 1)
    policy.write_text(text)
    lock_path = root / "policy" / "roles.lock.json"
    lock = orjson.loads(lock_path.read_bytes())
    lock["roles"]["roles/run.viewer"] = json.loads((FAKE / "run.viewer.json").read_text())
    lock_path.write_bytes(orjson.dumps(lock, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    place(root, "requests/pci-prod/inc-4512-run.yaml", (FAKE / "inc-4512-run.yaml").read_text())
    return root


def _entry(insert_id: str, at: str, resource: str) -> dict[str, object]:
    method = "google.cloud.run.v2.Services.GetService"
    return {
        "insertId": insert_id,
        "logName": "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Fdata_access",
        "timestamp": at,
        "resource": {"type": "cloud_run_revision", "labels": {"project_id": "pci-prod-payments"}},
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "serviceName": "run.googleapis.com",
            "methodName": method,
            "resourceName": resource,
            "authenticationInfo": {"principalEmail": "alice@example.com"},
            "authorizationInfo": [
                {"resource": resource, "permission": "run.services.get", "granted": True}
            ],
        },
    }


def test_a_kind_registered_alone_is_validated_rendered_simulated_and_reviewed(
    cloud_run_service: ResourceKind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAPSE_CLI_IN_PROCESS", "1")  # the registration lives in this process
    root = _fake_kind_repo(tmp_path / "repo")

    validated = lapse("validate --now 2026-11-29T12:00:00Z", cwd=root)
    assert validated.code == 0, validated.out + validated.err

    rendered = lapse("render", cwd=root)
    assert rendered.code == 0, rendered.out + rendered.err
    written = (root / "terraform/grants/pci-prod.inc-4512-run.tf").read_text(encoding="utf-8")
    assert written == (FAKE / "pci-prod.inc-4512-run.tf").read_text(encoding="utf-8")
    assert lapse("validate --now 2026-11-29T12:00:00Z", cwd=root).code == 0  # LAPSE286 knows it

    simulated = lapse("simulate --at 2026-12-01T10:00:00Z --format json", cwd=root)
    assert simulated.code == 0, simulated.err
    (active,) = [b for b in json.loads(simulated.out)["bindings"] if b["active"]]
    assert (active["kind"], active["resource"], active["role"]) == (
        "cloud_run_service",
        SERVICE,
        "roles/run.viewer",
    )

    log = tmp_path / "audit.jsonl"
    entries = [
        _entry("in-window", "2026-12-01T10:00:00Z", SERVICE),
        _entry("other-service", "2026-12-01T10:05:00Z", OTHER_SERVICE),
        _entry("after-expiry", "2026-12-01T15:00:00Z", f"{SERVICE}/revisions/r-1"),
    ]
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    export_manifest(log)
    reviewed = lapse(
        f"review --source file:{log} --until 2026-12-10T00:00:00Z --since 30d", cwd=root
    )
    assert reviewed.code == 1, reviewed.out + reviewed.err
    report = json.loads((root / "reports/pci-prod/2026-12/inc-4512-run.json").read_text())
    evidence = {(f["severity"], e) for f in report["findings"] for e in f["evidence"]}
    # The grant reaches its service and what lies below it, and nothing beside it.
    assert ("CRITICAL", "after-expiry") in evidence
    assert "other-service" in {e for _, e in evidence}
    assert "in-window" not in {e for _, e in evidence}


def test_a_registered_kind_is_refused_where_the_schema_does_not_list_it(
    cloud_run_service: ResourceKind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAPSE_CLI_IN_PROCESS", "1")
    root = _fake_kind_repo(tmp_path / "repo")
    for name in ("access-request", "policy"):
        (root / "schemas" / f"{name}.schema.json").write_bytes(
            (REPO / "schemas" / f"{name}.schema.json").read_bytes()
        )
    run = lapse("validate --now 2026-11-29T12:00:00Z", cwd=root)
    assert run.code == 1
    assert "LAPSE120" in run.out


def test_a_registered_kind_has_its_policy_read_live(
    cloud_run_service: ResourceKind, http: responses.RequestsMock
) -> None:
    url = f"{RUN}/{SERVICE}:getIamPolicy"
    assert policy_request("cloud_run_service", SERVICE) == PolicyRequest(
        "GET", url, params=OPTIONS_QUERY
    )
    assert canonical_resource("cloud_run_service", f" {SERVICE} ") == SERVICE
    policy = {"version": 3, "etag": "BwX", "bindings": []}
    http.get(
        url,
        json=policy,
        match=[responses.matchers.query_param_matcher({"options.requestedPolicyVersion": "3"})],
    )
    assert IamPolicyReader(requests.Session()).get_policy("cloud_run_service", SERVICE) == policy
