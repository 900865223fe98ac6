"""Checking a whole repository: policy, roles lock, every request, then the rules across them.

Everything is collected before anything is reported, so a broken file never hides the
problems of the others.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from generator.checks import readings, request_verdicts, schema
from generator.checks import values as build
from generator.checks.archive_ends import archived_end
from generator.checks.loading import MAX_BYTES, Document, load, locating
from generator.checks.plain_reading import plain_reading
from generator.checks.rules import (
    Check,
    PolicyContext,
    RepoContext,
    RequestContext,
    checks,
    load_all,
)
from generator.checks.rules.audit import audit_config_problems
from generator.checks.tree import TreeCheck, check_tree
from generator.core import cache
from generator.core.model import Policy, Problem, Request
from generator.core.repo import Repo, file_names, first_bytes
from generator.gcp.roles import LockError, RolesLock, load_lock
from generator.terraform.audit_coverage import AuditCoverage, read_coverage
from generator.terraform.configuration import lapse_resource_types


@dataclass(frozen=True, slots=True)
class Validation:
    problems: tuple[Problem, ...]
    requests: tuple[Request, ...]
    policy: Policy | None
    # The `.tf` files under terraform/ as validation read them, by repository path: what
    # render compares terraform/grants/ with, so that each file is read once a run.
    terraform_files: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level == "error")


def validate_repo(
    repo: Repo,
    *,
    now: datetime | None,
    time_checked: Collection[str] = (),
    only: Collection[str] | None = None,
) -> Validation:
    """Validate everything in `repo`.

    `now` None means "do not read the clock": rules about the present are skipped (render
    uses this). `time_checked` are the paths held to the time rules. `only`, when given,
    limits the report to those paths (policy problems are always reported).
    """
    with _fewer_collections():
        return _validate_repo(repo, now=now, time_checked=time_checked, only=only)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Loading builds a tree of nodes per file and keeps a little of each; at the default
    threshold the cycle collector walks everything kept, again and again, for garbage that
    reference counting frees anyway."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], 20_000), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _validate_repo(
    repo: Repo, *, now: datetime | None, time_checked: Collection[str], only: Collection[str] | None
) -> Validation:
    load_all()
    policy, roles, audit, problems = _policy_and_coverage(repo)
    # Names, not Paths, held while every request is: thousands of them.
    names = file_names(repo.requests)
    contexts, request_problems = _requests(
        repo, names, policy, roles, audit, now, set(time_checked)
    )
    problems += request_problems
    paths = tuple(repo.relative_name(name) for name in names)
    archive_files = repo.archive_files()
    archive = tuple(repo.relative(p) for p in archive_files)
    # Every archived file is read whole, as every other command reads it: a file that would
    # stop one of them is refused here first.
    archived, archive_problems = read_requests(repo, archive_files)
    problems += archive_problems
    emergencies = [request for request in archived if request.emergency]
    ends = tuple(
        archived_end(name, file) for name, file in zip(archive, archive_files, strict=True)
    )
    problems += [problem for end in ends for problem in end.problems]
    repo_ctx = RepoContext(
        tuple(contexts), paths, archive, policy, now, tuple(emergencies), archived_ends=ends
    )
    for check in checks("repo"):
        problems.extend(check(repo_ctx))
    terraform = _tree(repo, policy)
    problems += terraform.problems
    if only is not None:
        keep = set(only) | {repo.relative(repo.policy), repo.relative(repo.roles_lock)}
        keep |= {p.path for p in problems if p.rule in TERRAFORM_RULES}
        problems = [p for p in problems if p.path in keep]
    failed = {p.path for p in problems if p.level == "error"}
    valid = tuple(c.request for c in contexts if not _within(c.request.path, failed))
    return Validation(tuple(sorted(set(problems))), valid, policy, terraform.read)


def validate_policy(repo: Repo) -> tuple[Policy | None, list[Problem]]:
    """The policy and what makes it unusable: the policy, the roles lock, the audit coverage
    and the Terraform configuration rules. Requests and archive/ are not read."""
    load_all()
    policy, _, _, problems = _policy_and_coverage(repo)
    problems += _tree(repo, policy).problems
    # What `validate_repo(..., only=())` reports, without reading a request.
    keep = {repo.relative(repo.policy), repo.relative(repo.roles_lock)}
    found = [p for p in problems if p.path in keep or p.rule in TERRAFORM_RULES]
    return policy, sorted(set(found))


def _policy_and_coverage(
    repo: Repo,
) -> tuple[Policy | None, RolesLock | None, AuditCoverage | None, list[Problem]]:
    policy_doc, policy, problems = _policy(repo)
    roles, lock_problems = _roles(repo)
    problems += lock_problems
    if policy is not None:
        problems += _policy_rules(policy_doc, policy, roles)
    audit = read_coverage(repo.terraform) if repo.terraform.is_dir() else None
    problems += _unreadable_audit(repo, audit)
    if audit is not None and policy is not None:
        problems += audit_config_problems(audit, policy, repo.relative(repo.terraform))
    return policy, roles, audit, problems


# Problems in terraform/*.tf concern every request, whichever files were changed.
TERRAFORM_RULES = frozenset({"LAPSE262", "LAPSE263", "LAPSE264"})


def _within(path: str, failed: set[str]) -> bool:
    """Whether `path` or a folder above it has an error (a symlinked folder, say)."""
    parts = path.split("/")
    return any("/".join(parts[:end]) in failed for end in range(1, len(parts) + 1))


def _tree(repo: Repo, policy: Policy | None) -> TreeCheck:
    extra = policy.terraform_resource_types if policy else ()
    return check_tree(repo, lapse_resource_types() | frozenset(extra))


def _unreadable_audit(repo: Repo, audit: AuditCoverage | None) -> list[Problem]:
    # Coverage that cannot be read counts as absent (grants there are refused); say why.
    where = repo.relative(repo.terraform)
    return [
        Problem(
            f"{where}/{name}",
            1,
            1,
            "LAPSE262",
            "error",
            message,
            "write audit configs with literal project, service and log types",
        )
        for name, message in (audit.unreadable if audit else ())
    ]


def _read(repo: Repo, path: Path, *, plain: bool = False) -> tuple[Document | None, list[Problem]]:
    """The loaded file and its problems; `plain` also holds its text to one reading (LAPSE112)."""
    _, document, problems = _read_bytes(repo, path, plain=plain)
    return document, problems


def _read_bytes(
    repo: Repo, path: Path, *, plain: bool = False
) -> tuple[bytes, Document | None, list[Problem]]:
    """`_read`, and the bytes read (none when the file cannot be read)."""
    relative = repo.relative(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)  # what LAPSE103 needs to refuse a larger file
    except OSError as exc:
        problem = Problem(relative, 1, 1, "LAPSE101", "error", f"cannot read: {exc.strerror}")
        return b"", None, [problem]
    loaded = load(relative, raw)
    if plain and loaded.document is not None:
        return raw, loaded.document, plain_reading(loaded.document, raw)
    return raw, loaded.document, list(loaded.problems)


def _policy(repo: Repo) -> tuple[Document | None, Policy | None, list[Problem]]:
    document, problems = _read(repo, repo.policy)
    if document is None:
        return None, None, problems
    problems, readable = schema.judge(document, repo.schema("policy"))
    if readable is None:
        return document, None, problems
    built = build.policy_from(readable)
    return readable, built.value, [*problems, *built.problems]


def _roles(repo: Repo) -> tuple[RolesLock | None, list[Problem]]:
    try:
        return load_lock(repo.roles_lock), []
    except LockError as exc:
        where = repo.relative(repo.roles_lock)
        return None, [
            Problem(
                where,
                exc.line,
                exc.col,
                "LAPSE252",
                "error",
                str(exc),
                "restore it from git, or run `lapse roles sync`",
            )
        ]


def _policy_rules(
    document: Document | None, policy: Policy, roles: RolesLock | None
) -> list[Problem]:
    assert document is not None
    ctx = PolicyContext(document, policy, roles)
    return [p for check in checks("policy") for p in check(ctx)]


def _requests(
    repo: Repo,
    names: Iterable[str],
    policy: Policy | None,
    roles: RolesLock | None,
    audit: AuditCoverage | None,
    now: datetime | None,
    time_checked: set[str],
) -> tuple[list[RequestContext], list[Problem]]:
    contexts: list[RequestContext] = []
    problems: list[Problem] = []
    request_checks = list(checks("request"))
    schema_path = repo.schema("access-request")
    known = readings.open_readings(_bytes_of(schema_path))
    verdicts = request_verdicts.open_verdicts(repo, audit, reads_clock=now is not None)
    for name in names:
        relative = repo.relative_name(name)
        try:
            raw = first_bytes(name, MAX_BYTES + 1)  # what LAPSE103 needs to refuse a larger file
        except OSError as exc:
            message = f"cannot read: {exc.strerror}"
            problems.append(Problem(relative, 1, 1, "LAPSE101", "error", message))
            continue
        key = cache.digest(relative, raw)
        reading = known.get(relative, raw, key)
        document: Document | None = None
        if reading is None:
            document, reading = _reading(relative, raw, schema_path)
            known.put(relative, raw, reading, key)
        problems.extend(reading.problems)
        if reading.request is not None:
            # Read before: the document only locates, from its bytes, a problem a rule raises.
            document = document or locating(relative, raw)
            passed = verdicts.passed(key)
            found = _request_rules(
                reading.request,
                document,
                raw,
                policy,
                roles,
                audit,
                now,
                time_checked,
                () if passed else request_checks,
                contexts,
            )
            verdicts.judged(key, clean=not passed and not found)
            problems += found
    known.save()
    verdicts.save()
    return contexts, problems


def _bytes_of(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _reading(
    relative: str, raw: bytes, schema_path: Path
) -> tuple[Document | None, readings.Reading]:
    """What `raw` reads as at `relative`, before the rules: the document the rules locate
    their problems in, the problems of its text (LAPSE112 too), schema and values, and its
    request."""
    loaded = load(relative, raw)
    if loaded.document is None:
        return None, readings.Reading(loaded.problems, None)
    found = plain_reading(loaded.document, raw)
    schema_problems, readable = schema.judge(loaded.document, schema_path)
    found += schema_problems
    if readable is None:
        return None, readings.Reading(tuple(found), None)
    built = build.request_from(readable)
    found += built.problems
    return readable, readings.Reading(tuple(found), built.value)


def _request_rules(
    request: Request,
    document: Document,
    raw: bytes,
    policy: Policy | None,
    roles: RolesLock | None,
    audit: AuditCoverage | None,
    now: datetime | None,
    time_checked: set[str],
    request_checks: Iterable[Check],
    contexts: list[RequestContext],
) -> list[Problem]:
    if policy is None or request.target not in policy.targets:
        return []  # LAPSE131 reports the unknown target once, for the file
    checked = now is not None and request.path in time_checked
    ctx = RequestContext(
        request, document, policy.targets[request.target], policy, roles, audit, now, checked
    )
    found = [p for check in request_checks for p in check(ctx)]
    # The rules across requests keep every request at once: its document only locates.
    kept = document.locating(raw)
    contexts.append(ctx if kept is document else replace(ctx, document=kept))
    return found


def readable_requests(repo: Repo, paths: list[Path]) -> list[Request]:
    """Every file of `paths` that reads as a request, whatever the policy now says of it."""
    return read_requests(repo, paths)[0]


def read_requests(repo: Repo, paths: list[Path]) -> tuple[list[Request], list[Problem]]:
    """Every file of `paths` that reads as a request, and a located problem for each that does not.

    Reviews and drift look at what was merged and may be live, not at what would be
    accepted today; a broken file is reported, and the others are still read.
    """
    found: list[Request] = []
    problems: list[Problem] = []
    schema_path = repo.schema("access-request")
    for path in paths:
        document, read_problems = _read(repo, path)
        request, built_problems = _built(document, read_problems, schema_path)
        problems.extend(built_problems)
        if request is not None:
            found.append(request)
    return found, problems


def request_of_bytes(repo: Repo, path: str, raw: bytes) -> tuple[Request | None, list[Problem]]:
    """`raw` read as the request at repository path `path` (a file of another commit), as
    `read_requests` reads one on disk."""
    loaded = load(path, raw[: MAX_BYTES + 1])
    return _built(loaded.document, list(loaded.problems), repo.schema("access-request"))


def _built(
    document: Document | None, problems: list[Problem], schema_path: Path
) -> tuple[Request | None, list[Problem]]:
    if document is None or problems:
        return None, problems
    schema_problems = schema.check(document, schema_path)
    if schema_problems:
        return None, schema_problems
    built = build.request_from(document)
    return built.value, [p for p in built.problems if p.level == "error"]
