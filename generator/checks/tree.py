"""The tree rules over terraform/, at the cost of what changed.

terraform/grants/ holds a file per request, and a pull request changes one or two. Every tree
rule judges each `.tf` file by its path and bytes alone (with the allowlist of resource types),
so a file that every rule passed is not parsed or checked again while nothing of that changes:
the local cache (`generator.core.cache`) keeps, in one table per version of lapse, its
parser and its templates and per allowlist, the key of each such file (a hash of its path and
bytes). Everything else is read, parsed and checked as before: an edited file has new bytes,
and the list of entries (other file types, symlinks) is checked whole on every run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from generator.checks.rules import TreeContext, checks
from generator.core import cache
from generator.core.model import Problem
from generator.core.repo import Repo
from generator.terraform.configuration import (
    Configuration,
    Read,
    list_configuration,
    parse_all,
    read_all,
)

VERDICT_KIND = "terraform-verdicts"
# The same code as the verified-render cache's (one hash of the sources, computed once).
CODE = ("generator", "jinja2", "hcl2", "lark")
PASSED = "passed"


@dataclass(frozen=True, slots=True)
class TreeCheck:
    problems: list[Problem]
    # Each `.tf` file under terraform/ that was read, by its path relative to the repository:
    # `lapse render` compares terraform/grants/ from these bytes rather than reading it again.
    read: dict[str, bytes]


def check_tree(repo: Repo, resource_types: frozenset[str]) -> TreeCheck:
    """Every tree rule's problems (the symlinks, and the whole configuration under terraform/),
    and the bytes of the files read to find them."""
    if not repo.terraform.is_dir():
        return TreeCheck(_checked(TreeContext(tuple(repo.symlinks()), None, resource_types)), {})
    entries, readable = list_configuration(repo.terraform, repo.root)
    read = read_all(readable)
    keys = {
        relative: cache.digest(relative, raw) for relative, raw in read if isinstance(raw, bytes)
    }
    # With the store off nothing is kept: the code is not hashed for a key no one reads.
    table = table_name(resource_types) if cache.folder() is not None else None
    passed = cache.read_table(VERDICT_KIND, table) if table is not None else {}
    fresh = [(relative, raw) for relative, raw in read if keys.get(relative) not in passed]
    skipped = {keys[relative] for relative, _ in read if keys.get(relative) in passed}
    files = parse_all(fresh, retain=skipped)
    folder = repo.relative(repo.terraform)
    configuration = Configuration(folder, entries, files)
    problems = _checked(TreeContext(tuple(repo.symlinks()), configuration, resource_types))
    kept = dict.fromkeys(skipped, PASSED) | dict.fromkeys(_passing(fresh, keys, problems), PASSED)
    if table is not None and kept != passed:
        cache.write_table(VERDICT_KIND, table, kept)
    return TreeCheck(problems, {relative: raw for relative, raw in read if isinstance(raw, bytes)})


def table_name(resource_types: frozenset[str]) -> str:
    return cache.digest(cache.code_digest(*CODE), *sorted(resource_types))


def _checked(ctx: TreeContext) -> list[Problem]:
    return [p for check in checks("tree") for p in check(ctx)]


def _passing(fresh: list[Read], keys: dict[str, str], problems: Iterable[Problem]) -> list[str]:
    """Keys of the files read this time that no problem names."""
    named = {problem.path for problem in problems}
    return [keys[relative] for relative, _ in fresh if relative in keys and relative not in named]
