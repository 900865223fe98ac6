"""Every kind of resource a grant may name, one `ResourceKind` entry each; the stages read them.

An entry is data: the key requests and the policy use for it (and its JSON Schema, from which
`with_kinds` writes schemas/), the Terraform resource that grants on it and the arguments that
name it (both ways), the call that reads its allow policy, the name audit logs give it and which
logged names a grant on it reaches, the project it lives in, and what `lapse doctor` checks.
Adding a kind is one `register` call (ARCHITECTURE.md, "How to add a resource kind").
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from generator.core import resource_names as n
from generator.core.checklist import CheckItem
from generator.core.resource_names import Arguments, PolicyRequest, Read

# Which names in an audit entry a grant reaches (review/scope.py applies them):
# "below": its own audit name and every name under it; "everything": any name; "project": any
# name lying in the project; "folder": the folder, or a project the review places in it;
# "bucket": any name with the segments buckets/B; "account": any with serviceAccounts/E.
Reach = Literal["below", "everything", "project", "folder", "bucket", "account"]


@dataclass(frozen=True, slots=True)
class PolicyRead:
    """How the allow policy is read: the spelling it is read under, and the REST call."""

    name: Callable[[str], str]  # "" when the text is not a name lapse can read
    request: Callable[[str], PolicyRequest]
    access_list: bool = False  # BigQuery: the answer is a dataset, its access list the policy


@dataclass(frozen=True, slots=True)
class AuditNames:
    """The resource name audit logs give the resource, and what a grant on it reaches."""

    name: Callable[[str], str]
    reach: Reach = "below"


@dataclass(frozen=True, slots=True)
class SetupCheck:
    """What `lapse doctor` checks live for every allowed resource of the kind."""

    exists: Callable[[str], str] | None = None  # a URL whose GET answers 404 when it is gone
    judge: Callable[[str, Mapping[str, Any] | None], CheckItem] | None = None  # the GET's answer
    # Lets the apply identity set the resource's policy with the granter role (None: a node,
    # where it holds `apply_role`, or the granter role when that is empty).
    granter_command: Callable[[str, str | None, str, str], str] | None = None
    apply_role: str = ""
    binding_command: str = ""  # gcloud's `... add-iam-policy-binding` for a node
    home_checked: bool = False  # its home project is among the projects checked


@dataclass(frozen=True, slots=True)
class ResourceKind:
    key: str  # in a grant (`bucket: NAME`) and under a target's `resources`
    schema: Mapping[str, str]  # the grant key's title, description and pattern
    terraform_type: str  # adds one conditional member, non-authoritatively
    arguments: Callable[[str], Arguments]  # the resource's naming arguments, in written order
    read_back: Callable[[Read], str]  # those arguments -> the name in the requests' spelling
    policy: PolicyRead
    audit: AuditNames
    setup: SetupCheck = SetupCheck()
    canonical: Callable[[str], str] = n.same  # one spelling, for comparing grants
    home_project: Callable[[str], str | None] = n.nowhere  # when the name says it
    placed_by_policy: bool = False  # the policy says its project (`resources.bucket.B.project`)
    node: str = ""  # its Resource Manager collection, for a node of the hierarchy
    policy_schema: Mapping[str, Any] | None = None  # under `resources`; None: a list of names

    @property
    def title(self) -> str:
        return self.key.replace("_", " ")

    @property
    def reaches_down(self) -> bool:
        """A role here is inherited by every project below (a folder, the organization)."""
        return self.audit.reach in ("folder", "everything")

    def resources_schema(self) -> dict[str, Any]:
        if self.policy_schema is not None:
            return dict(self.policy_schema)
        title, description = self.schema["title"], self.schema["description"]
        item = {"type": "string", "pattern": self.schema["pattern"]}
        return {
            "title": title,
            "description": description,
            "type": "array",
            "uniqueItems": True,
            "items": item,
        }

    def grant_schema(self) -> dict[str, Any]:
        return {
            "title": self.schema["title"],
            "description": self.schema["description"],
            "type": "string",
            "pattern": self.schema["pattern"],
        }


_REGISTRY: dict[str, ResourceKind] = {}


def register(kind: ResourceKind) -> None:
    if kind.key in _REGISTRY or by_terraform_type(kind.terraform_type) is not None:
        raise ValueError(f"resource kind {kind.key!r} or {kind.terraform_type} is registered")
    _REGISTRY[kind.key] = kind


@contextmanager
def registered(kind: ResourceKind) -> Iterator[ResourceKind]:
    """`kind` registered for the duration of the block."""
    register(kind)
    try:
        yield kind
    finally:
        del _REGISTRY[kind.key]


def kinds() -> tuple[ResourceKind, ...]:
    """Every registered kind, in registration order (the schema's)."""
    return tuple(_REGISTRY.values())


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get(key: str) -> ResourceKind:
    """The kind named `key`; KeyError when none is registered."""
    return _REGISTRY[key]


def by_terraform_type(type_: str) -> ResourceKind | None:
    return next((k for k in _REGISTRY.values() if k.terraform_type == type_), None)


def canonical(key: str, resource: str) -> str:
    """`resource` in its kind's one spelling (unchanged for a kind lapse does not know)."""
    kind = _REGISTRY.get(key)
    return kind.canonical(resource) if kind else resource


def home_project(key: str, resource: str, placed: Mapping[str, str] | None = None) -> str | None:
    """The project that holds `resource`: from its name, or where the policy places it."""
    kind = _REGISTRY.get(key)
    if kind is None:
        return None
    if kind.placed_by_policy:
        return (placed or {}).get(resource)
    return kind.home_project(resource)


def with_kinds(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` (an access request's or the policy's) with the registered kinds as its keys.

    Keys other than kinds stay where they are; a kind's fragment replaces its key in place, a
    kind the schema lacks is added at the end, and a kind no longer registered is removed.
    """
    found = copy.deepcopy(dict(schema))
    definitions = found.get("$defs", {})
    if "grant" in definitions:
        holder, fragment = definitions["grant"], ResourceKind.grant_schema
        keep = {"role"}
    else:
        holder, fragment = (
            definitions["target"]["properties"]["resources"],
            ResourceKind.resources_schema,
        )
        keep = set()
    old = holder["properties"]
    fresh = {key: fragment(_REGISTRY[key]) if key in _REGISTRY else old[key] for key in old}
    fresh = {key: value for key, value in fresh.items() if key in keep or key in _REGISTRY}
    fresh |= {kind.key: fragment(kind) for kind in kinds() if kind.key not in fresh}
    holder["properties"] = fresh
    return found


# ---------------------------------------------------------------------------------------------
# The kinds lapse grants, in the order the schema lists them. A dataset's is the conditional
# google_bigquery_dataset_iam_member (provider 7.9.0 and later), which matches its entry on role,
# member and the whole condition, so two windows for one person never collide
# (google_bigquery_dataset_access matches on role and member only; never mix the two).

_PROJECT_PATTERN = "[a-z][a-z0-9-]{4,28}[a-z0-9]"

register(
    ResourceKind(
        key="project",
        schema={
            "title": "Project",
            "description": "A Google Cloud project id, e.g. pci-prod-payments.",
            "pattern": f"^{_PROJECT_PATTERN}$",
        },
        terraform_type="google_project_iam_member",
        arguments=lambda name: (("project", name),),
        read_back=lambda read: read("project"),
        policy=PolicyRead(n.project_policy_name, n.project_policy_request),
        audit=AuditNames(lambda name: f"projects/{name}", reach="project"),
        setup=SetupCheck(
            exists=lambda name: f"{n.CRM}/v3/projects/{quote(name)}",
            apply_role="roles/resourcemanager.projectIamAdmin",
            binding_command="projects add-iam-policy-binding",
            home_checked=True,
        ),
        home_project=lambda name: name,
        node="projects",
    )
)
register(
    ResourceKind(
        key="folder",
        schema={
            "title": "Folder",
            "description": "A folder, as folders/NUMBER.",
            "pattern": "^folders/[0-9]{1,20}$",
        },
        terraform_type="google_folder_iam_member",
        arguments=lambda name: (("folder", name),),
        read_back=lambda read: read("folder"),
        policy=PolicyRead(n.folder_policy_name, n.folder_policy_request),
        audit=AuditNames(n.folder_audit_name, reach="folder"),
        setup=SetupCheck(
            exists=lambda name: f"{n.CRM}/v3/{name}",
            apply_role="roles/resourcemanager.folderIamAdmin",
            binding_command="resource-manager folders add-iam-policy-binding",
        ),
        node="folders",
    )
)
register(
    ResourceKind(
        key="organization",
        schema={
            "title": "Organization",
            "description": 'An organization\'s numeric id, quoted: "618305524870".',
            "pattern": "^[0-9]{1,20}$",
        },
        terraform_type="google_organization_iam_member",
        arguments=lambda name: (("org_id", name),),
        read_back=lambda read: read("org_id"),
        policy=PolicyRead(n.organization_policy_name, n.organization_policy_request),
        audit=AuditNames(n.organization_audit_name, reach="everything"),
        setup=SetupCheck(binding_command="organizations add-iam-policy-binding"),
        node="organizations",
    )
)
register(
    ResourceKind(
        key="bucket",
        schema={
            "title": "Cloud Storage bucket",
            "description": "A bucket name (the bucket must use uniform bucket-level access).",
            "pattern": "^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$",
        },
        terraform_type="google_storage_bucket_iam_member",
        arguments=lambda name: (("bucket", name),),
        read_back=lambda read: read("bucket"),
        policy=PolicyRead(n.bucket_policy_name, n.bucket_policy_request),
        audit=AuditNames(lambda name: f"projects/_/buckets/{name}", reach="bucket"),
        setup=SetupCheck(
            exists=lambda name: f"{n.STORAGE}/b/{quote(name, safe='')}",
            judge=n.bucket_judged,
            granter_command=n.bucket_granter,
            home_checked=True,
        ),
        placed_by_policy=True,
        policy_schema=n.BUCKETS_SCHEMA,
    )
)
register(
    ResourceKind(
        key="secret",
        schema={
            "title": "Secret Manager secret",
            "description": "projects/PROJECT/secrets/NAME.",
            "pattern": f"^projects/{_PROJECT_PATTERN}/secrets/[A-Za-z0-9_-]{{1,255}}$",
        },
        terraform_type="google_secret_manager_secret_iam_member",
        arguments=n.secret_arguments,
        read_back=n.secret_read_back,
        policy=PolicyRead(n.secret_policy_name, n.secret_policy_request),
        audit=AuditNames(n.same),
        setup=SetupCheck(
            exists=lambda name: f"{n.SM}/{name}",
            granter_command=n.secret_granter,
            home_checked=True,
        ),
        home_project=n.secret_home,
    )
)
register(
    ResourceKind(
        key="dataset",
        schema={
            "title": "BigQuery dataset",
            "description": "PROJECT.DATASET or projects/PROJECT/datasets/DATASET.",
            "pattern": f"^({_PROJECT_PATTERN}\\.[A-Za-z0-9_]{{1,1024}}|"
            f"projects/{_PROJECT_PATTERN}/datasets/[A-Za-z0-9_]{{1,1024}})$",
        },
        terraform_type="google_bigquery_dataset_iam_member",
        arguments=n.dataset_arguments,
        read_back=n.dataset_read_back,
        policy=PolicyRead(n.dataset_policy_name, n.dataset_policy_request, access_list=True),
        audit=AuditNames(n.dataset_path),
        setup=SetupCheck(
            exists=lambda name: f"{n.BIGQUERY}/{n.dataset_path(name)}",
            granter_command=n.dataset_granter,
            home_checked=True,
        ),
        canonical=n.dataset_canonical,
        home_project=n.dataset_home,
    )
)
register(
    ResourceKind(
        key="service_account",
        schema={
            "title": "Service account",
            "description": "The service account's email, PROJECT.iam.gserviceaccount.com.",
            "pattern": f"^{_PROJECT_PATTERN}@{_PROJECT_PATTERN}\\.iam\\.gserviceaccount\\.com$",
        },
        terraform_type="google_service_account_iam_member",
        arguments=n.account_arguments,
        read_back=n.account_read_back,
        policy=PolicyRead(n.account_policy_name, n.account_policy_request),
        audit=AuditNames(lambda name: f"projects/-/serviceAccounts/{name}", reach="account"),
        setup=SetupCheck(exists=n.account_url, granter_command=n.account_granter),
        home_project=n.account_home,
    )
)
