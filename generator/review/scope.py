"""Does a resource named in an audit entry fall within a grant? The hierarchy rules, explicitly.

Names are compared after three rewrites: a full resource name loses its service prefix
(`//cloudresourcemanager.googleapis.com/projects/p` -> `projects/p`); a name relative to a project
(Cloud SQL logs `instances/db`) is read in the project whose log holds the entry; and a project
number is replaced by the project ID when `project_numbers` knows it (Secret Manager and Resource
Manager log numbers). Then a grant covers a name as its kind's `audit.reach` says
(`core/resource_kinds.py`):

- `project` (a project P): the name is `projects/P` or below it, or a bucket
  (`projects/_/buckets/B...`) that `project_of` places in P;
- `folder` (a folder F): the name is `folders/F` or below it, or lies in a project (by the rule
  above) that `folder_of` places in F. Names do not show ancestry, so without `folder_of` a
  folder grant explains folder-level actions only;
- `everything` (an organization): any name. Every source reads only the logs of resources in
  the target's scope, all of which belong to the organization, and names do not show ancestry;
- `bucket` (a bucket B): `projects/<any>/buckets/B` or below it (bucket names are global);
- `account` (a service account E): any name with the segments `serviceAccounts/E` (email,
  case-insensitive);
- `below` (a secret `projects/P/secrets/S`, a dataset `P.D` or `projects/P/datasets/D`, ...):
  the kind's audit name or below it (a secret's versions, a dataset's tables).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from generator.core import resource_kinds
from generator.core.model import Grant
from generator.core.resource_kinds import Reach


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """What names alone do not say: which project a bucket or number is, which folder a project."""

    project_of: Mapping[str, str] = field(default_factory=dict)  # bucket -> project ID
    project_numbers: Mapping[str, str] = field(default_factory=dict)  # number -> project ID
    folder_of: Mapping[str, str] = field(default_factory=dict)  # project ID -> folders/F

    def said(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        """What the hierarchy says, as one hashable value: two that say the same read names
        alike (`ReachKeys` is shared by them)."""
        return tuple(
            tuple(sorted(known.items()))
            for known in (self.project_of, self.project_numbers, self.folder_of)
        )


_ROOTS = ("projects/", "folders/", "organizations/", "billingAccounts/")


def canonical(name: str, hierarchy: Hierarchy, log_name: str = "") -> str:
    """`name` without a service prefix, rooted in the log's project, project number as ID."""
    if name.startswith("//"):
        name = name[2:].partition("/")[2]
    if not name.startswith(_ROOTS) and log_name.startswith("projects/"):
        name = f"projects/{log_name.split('/')[1]}/{name}"
    if name.startswith("projects/"):
        project, slash, rest = name[9:].partition("/")
        if project in hierarchy.project_numbers:
            return f"projects/{hierarchy.project_numbers[project]}{slash}{rest}"
    return name


def grant_name(grant: Grant) -> str:
    """The resource name a grant's resource has in audit logs."""
    return resource_kinds.get(grant.kind).audit.name(grant.resource)


def covers(grant: Grant, name: str, hierarchy: Hierarchy, log_name: str = "") -> bool:
    """True when the resource `name` (from an entry of `log_name`) is or lies in the grant's."""
    return bool(covering((grant,), name, hierarchy, log_name))


def covering(
    grants: Iterable[Grant], name: str, hierarchy: Hierarchy, log_name: str = ""
) -> list[Grant]:
    """The grants that `covers` the resource `name`, in their order; the name is read once."""
    if not name:
        return []
    name = canonical(name, hierarchy, log_name)
    return [
        g for g in grants if _REACHES[resource_kinds.get(g.kind).audit.reach](g, name, hierarchy)
    ]


def reach_depth(grants: Iterable[Grant], hierarchy: Hierarchy) -> int | None:
    """How many leading segments of a canonical name `covering` reads to judge it against
    `grants`; None when a grant's kind is unknown (then only `covering` can say, and raise).

    `project`, `folder`, `bucket` and `account` read the first four (the project, and the
    bucket or account at `projects/P/buckets/B`); a grant that reaches `below` its name (and a
    folder, its own name) compares as many segments as that name has: equal, or a name below.
    """
    depth = 0
    for grant in grants:
        if grant.kind not in resource_kinds.names():
            return None
        reach = resource_kinds.get(grant.kind).audit.reach
        if reach == "below":
            depth = max(depth, canonical(grant_name(grant), hierarchy).count("/") + 1)
        elif reach == "folder":
            depth = max(depth, 4, grant_name(grant).count("/") + 1)
        elif reach != "everything":
            depth = max(depth, 4)
    return depth


def reach_key(name: str, hierarchy: Hierarchy, log_name: str, depth: int) -> str | None:
    """All `covering` reads of `name`, for grants of `reach_depth` `depth`: the canonical name
    up to and with its `depth`-th slash (whole when it has fewer); None for no name.

    Two names with one key are covered by the same grants: no reach reads past the first
    `depth` segments of the canonical name (`test_scope` holds them to `covering`).
    """
    if not name:
        return None
    name = canonical(name, hierarchy, log_name)
    parts = name.split("/", depth)
    if len(parts) > depth:
        return name[: len(name) - len(parts[depth])]
    return name


# Names `ReachKeys` remembers before it forgets them all: memory stays bounded by it, not by the
# number of distinct names in the log.
REMEMBERED = 2048
_UNSEEN = object()


class ReachKeys:
    """`reach_key` for one hierarchy and depth, each (log, name) worked out once.

    A grantee touches the same objects again and again, and every event of theirs is judged by
    the key of its names: remembered, the key is two dictionary reads instead of a
    `canonical` and a split. `reach_key` reads nothing but its arguments, so a remembered key
    is the one it would give again (`test_scope` holds them equal)."""

    __slots__ = ("_bound", "_by_log", "_depth", "_held", "_hierarchy")

    def __init__(self, hierarchy: Hierarchy, depth: int, bound: int = REMEMBERED) -> None:
        self._hierarchy = hierarchy
        self._depth = depth
        self._bound = bound
        self._by_log: dict[str, dict[str, str | None]] = {}
        self._held = 0

    def __call__(self, name: str, log_name: str) -> str | None:
        by_name = self._by_log.get(log_name)
        if by_name is not None:
            found = by_name.get(name, _UNSEEN)
            if found is not _UNSEEN:
                return found  # type: ignore[return-value]
        else:
            by_name = self._by_log[log_name] = {}
        if self._held >= self._bound:
            self._by_log = {log_name: by_name}
            by_name.clear()
            self._held = 0
        key = by_name[name] = reach_key(name, self._hierarchy, log_name, self._depth)
        self._held += 1
        return key


def _everything(_grant: Grant, _name: str, _hierarchy: Hierarchy) -> bool:
    return True


def _in_project(grant: Grant, name: str, hierarchy: Hierarchy) -> bool:
    return _owning_project(name, hierarchy) == grant.resource


def _in_folder(grant: Grant, name: str, hierarchy: Hierarchy) -> bool:
    folder = grant_name(grant)
    project = _owning_project(name, hierarchy)
    return _under(name, folder) or hierarchy.folder_of.get(project) == folder


def _same_bucket(grant: Grant, name: str, _hierarchy: Hierarchy) -> bool:
    return _bucket(name) == grant.resource


def _same_account(grant: Grant, name: str, _hierarchy: Hierarchy) -> bool:
    return _service_account(name) == grant.resource.lower()


def _below(grant: Grant, name: str, hierarchy: Hierarchy) -> bool:
    return _under(name, canonical(grant_name(grant), hierarchy))


_REACHES: dict[Reach, Callable[[Grant, str, Hierarchy], bool]] = {
    "everything": _everything,
    "project": _in_project,
    "folder": _in_folder,
    "bucket": _same_bucket,
    "account": _same_account,
    "below": _below,
}


def _under(name: str, parent: str) -> bool:
    return name == parent or name.startswith(parent + "/")


def _owning_project(name: str, hierarchy: Hierarchy) -> str:
    """The project ID a canonical name lies in ("" when the name does not say)."""
    if not name.startswith("projects/"):
        return ""
    project = name[9:].partition("/")[0]
    if project in ("_", "-"):
        return hierarchy.project_of.get(_bucket(name), "")
    return project


def _bucket(name: str) -> str:
    """B of `projects/P/buckets/B[/...]`: a Cloud Storage bucket is named there, never deeper,
    where an object's own name may hold `buckets/...`."""
    return _third_segment(name, "buckets")


def _service_account(name: str) -> str:
    """E of `projects/P/serviceAccounts/E[/...]`, lowercased; an object named
    `.../serviceAccounts/E/...` in some bucket is no service account."""
    return _third_segment(name, "serviceAccounts").lower()


def _third_segment(name: str, marker: str) -> str:
    parts = name.split("/", 4)
    if len(parts) < 4 or parts[0] != "projects" or parts[2] != marker:
        return ""
    return parts[3]
