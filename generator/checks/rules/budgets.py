"""LAPSE24x: limits across all requests, so no allow policy or person accumulates access."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator

from generator.checks.rules import RepoContext, RequestContext, rule
from generator.core.model import Grant, Problem


def _ordered(contexts: tuple[RequestContext, ...]) -> list[RequestContext]:
    # The requests that push a count over its limit are the later ones; a file being added or
    # changed comes after every merged one, so the new request is blamed, never an older one.
    return sorted(
        contexts,
        key=lambda c: (
            c.time_checked,
            c.request.window.starts or c.request.window.expires,
            c.request.path,
        ),
    )


@rule(
    "LAPSE240",
    "A person holds at most max_active_requests_per_person unexpired requests.",
    scope="repo",
    fix="Wait for one of your requests to expire, `lapse withdraw` one you no longer "
    "need, or extend an existing request instead of adding one.",
)
def active_per_person(ctx: RepoContext) -> Iterator[Problem]:
    if ctx.policy is None or ctx.now is None:
        return
    limit = ctx.policy.limits.max_active_requests_per_person
    count: dict[str, int] = defaultdict(int)
    for item in _ordered(ctx.requests):
        if item.request.window.expires <= ctx.now:
            continue
        count[item.request.requester] += 1
        if count[item.request.requester] > limit:
            yield item.problem(
                "LAPSE240",
                ("requester",),
                f"{item.request.requester} would hold more than {limit} active requests",
                "wait for one to expire, or extend an existing one",
            )


def _resource_key(grant: Grant) -> tuple[str, str]:
    return grant.kind, grant.canonical


def _grants_over(
    ctx: RepoContext, limit: int, key: Callable[[RequestContext, Grant], Hashable]
) -> Iterator[tuple[RequestContext, Grant]]:
    """Each grant that takes the count of its `key` past `limit`, in blame order."""
    count: dict[Hashable, int] = defaultdict(int)
    for item in _ordered(ctx.requests):
        for grant in item.request.grants:
            counted = key(item, grant)
            count[counted] += 1
            if count[counted] > limit:
                yield item, grant


@rule(
    "LAPSE241",
    "A resource carries at most max_conditional_bindings_per_resource grants.",
    scope="repo",
    fix="Wait for `lapse expire` to archive expired requests on that resource.",
)
def bindings_per_resource(ctx: RepoContext) -> Iterator[Problem]:
    if ctx.policy is None:
        return
    # Expired bindings stay in the allow policy until archived, so every file counts.
    limit = ctx.policy.limits.max_conditional_bindings_per_resource
    for item, grant in _grants_over(ctx, limit, lambda _, grant: _resource_key(grant)):
        yield item.problem(
            "LAPSE241",
            grant,
            f"{grant.kind} {grant.resource!r} would carry more than {limit} conditional bindings",
            "wait for `lapse expire` to archive expired requests",
        )


@rule(
    "LAPSE242",
    "One person holds one role on one resource at most max_bindings_per_role_and_principal times.",
    scope="repo",
    fix="Combine the windows into one request, or wait for older ones to expire.",
)
def same_role_and_principal(ctx: RepoContext) -> Iterator[Problem]:
    if ctx.policy is None:
        return
    limit = ctx.policy.limits.max_bindings_per_role_and_principal

    def key(item: RequestContext, grant: Grant) -> Hashable:
        return (*_resource_key(grant), grant.role, item.request.requester)

    for item, grant in _grants_over(ctx, limit, key):
        yield item.problem(
            "LAPSE242",
            grant,
            f"{item.request.requester} would hold {grant.role} on "
            f"{grant.resource!r} more than {limit} times",
            "IAM refuses more bindings of one role and principal",
        )
