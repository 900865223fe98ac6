"""Does a resource named in an audit entry fall within a grant? The hierarchy rules, explicitly.

Names are compared after three rewrites: a full resource name loses its service prefix
(`//cloudresourcemanager.googleapis.com/projects/p` -> `projects/p`); a name relative to a project
(Cloud SQL logs `instances/db`) is read in the project whose log holds the entry; and a project
number is replaced by the project ID when `project_numbers` knows it (Secret Manager and Resource
Manager log numbers). Then a grant covers a name when:

- project P: the name is `projects/P` or below it, or a bucket (`projects/_/buckets/B...`) that
  `project_of` places in P;
- folder F: the name is `folders/F` or below it, or lies in a project (by the rule above) that
  `folder_of` places in F. Names do not show ancestry, so without `folder_of` a folder grant
  explains folder-level actions only;
- organization O: any name. Every source reads only the logs of resources in the target's scope,
  all of which belong to the organization, and names do not show ancestry;
- bucket B: `projects/<any>/buckets/B` or below it (bucket names are global);
- secret `projects/P/secrets/S`: that name or below it (its versions);
- dataset `P.D` or `projects/P/datasets/D`: `projects/P/datasets/D` or below it (its tables);
- service account E: any name with the segments `serviceAccounts/E` (email, case-insensitive).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from generator.core.model import Grant


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """What names alone do not say: which project a bucket or number is, which folder a project."""

    project_of: Mapping[str, str] = field(default_factory=dict)  # bucket -> project ID
    project_numbers: Mapping[str, str] = field(default_factory=dict)  # number -> project ID
    folder_of: Mapping[str, str] = field(default_factory=dict)  # project ID -> folders/F


_ROOTS = ("projects/", "folders/", "organizations/", "billingAccounts/")


def canonical(name: str, hierarchy: Hierarchy, log_name: str = "") -> str:
    """`name` without a service prefix, rooted in the log's project, project number as ID."""
    if name.startswith("//"):
        name = name[2:].partition("/")[2]
    if not name.startswith(_ROOTS) and log_name.startswith("projects/"):
        name = f"projects/{log_name.split('/')[1]}/{name}"
    parts = name.split("/")
    if len(parts) > 1 and parts[0] == "projects" and parts[1] in hierarchy.project_numbers:
        parts[1] = hierarchy.project_numbers[parts[1]]
    return "/".join(parts)


def grant_name(grant: Grant) -> str:
    """The resource name a grant's resource has in audit logs."""
    kind, resource = grant.kind, grant.resource
    if kind == "project":
        return f"projects/{resource}"
    if kind == "folder":
        return resource if resource.startswith("folders/") else f"folders/{resource}"
    if kind == "organization":
        return resource if resource.startswith("organizations/") else f"organizations/{resource}"
    if kind == "bucket":
        return f"projects/_/buckets/{resource}"
    if kind == "dataset" and not resource.startswith("projects/"):
        project, _, dataset = resource.partition(".")
        return f"projects/{project}/datasets/{dataset}"
    if kind == "service_account":
        return f"projects/-/serviceAccounts/{resource}"
    return resource


def covers(grant: Grant, name: str, hierarchy: Hierarchy, log_name: str = "") -> bool:
    """True when the resource `name` (from an entry of `log_name`) is or lies in the grant's."""
    if not name:
        return False
    name = canonical(name, hierarchy, log_name)
    kind = grant.kind
    if kind == "organization":
        return True
    if kind == "project":
        return _owning_project(name, hierarchy) == grant.resource
    if kind == "folder":
        folder = grant_name(grant)
        project = _owning_project(name, hierarchy)
        return _under(name, folder) or hierarchy.folder_of.get(project) == folder
    if kind == "bucket":
        return _bucket(name) == grant.resource
    if kind == "service_account":
        return _service_account(name) == grant.resource.lower()
    return _under(name, canonical(grant_name(grant), hierarchy))


def _under(name: str, parent: str) -> bool:
    return name == parent or name.startswith(parent + "/")


def _segment_after(name: str, marker: str) -> str:
    parts = name.split("/")
    for index, part in enumerate(parts[:-1]):
        if part == marker:
            return parts[index + 1]
    return ""


def _owning_project(name: str, hierarchy: Hierarchy) -> str:
    """The project ID a canonical name lies in ("" when the name does not say)."""
    if not name.startswith("projects/"):
        return ""
    project = name.split("/")[1]
    if project in ("_", "-"):
        return hierarchy.project_of.get(_bucket(name), "")
    return project


def _bucket(name: str) -> str:
    return _segment_after(name, "buckets") if name.startswith("projects/") else ""


def _service_account(name: str) -> str:
    return _segment_after(name, "serviceAccounts").lower()
