"""The self-check may be skipped only for requests whose text is plain; this proves that safe.

`render.needs_self_check` answers False only when every string the request brings into the
template is made of `PLAIN_ALPHABET`. The property below renders arbitrary such requests (any
kind, any instants, any lengths) and runs the full python-hcl2 self-check on each: if the
template or the escaping ever let plain text change the structure, it fails here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.core.model import RESOURCE_KINDS, Grant, Request, Window
from generator.terraform import render
from generator.terraform.render import (
    PLAIN_ALPHABET,
    RenderError,
    needs_self_check,
    render_all,
    render_request,
    self_check,
)
from tests.lanes import examples

plain = st.text(alphabet=sorted(PLAIN_ALPHABET), min_size=1, max_size=60)
segment = st.text(alphabet=sorted(PLAIN_ALPHABET - {"/", "."}), min_size=1, max_size=30)
instants = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9998, 12, 30),
    timezones=st.sampled_from([UTC, None]).map(lambda zone: zone or UTC),
)


def _resource(kind: str) -> st.SearchStrategy[str]:
    if kind == "secret":
        return st.builds(lambda p, s: f"projects/{p}/secrets/{s}", segment, segment)
    if kind == "dataset":
        return st.one_of(
            st.builds(lambda p, d: f"{p}.{d}", segment, segment),
            st.builds(lambda p, d: f"projects/{p}/datasets/{d}", segment, segment),
        )
    return plain


grants = st.sampled_from(RESOURCE_KINDS).flatmap(
    lambda kind: st.builds(Grant, role=plain, kind=st.just(kind), resource=_resource(kind))
)


@st.composite
def plain_requests(draw: st.DrawFn) -> Request:
    expires = draw(instants)
    starts = draw(st.none() | st.just(expires - draw(st.timedeltas(timedelta(0), timedelta(1e4)))))
    chosen = draw(st.lists(grants, min_size=1, max_size=4, unique_by=render.grant_key))
    return Request(
        id=draw(plain),
        target=draw(plain),
        path=draw(plain),
        requester=draw(plain),
        reason=draw(st.text(alphabet=sorted(PLAIN_ALPHABET), max_size=300)),
        ticket=draw(plain),
        window=Window(starts, expires),
        grants=tuple(chosen),
    )


@pytest.mark.slow
@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_requests())
def test_plain_text_never_changes_the_structure(request: Request) -> None:
    assert not needs_self_check(request)
    self_check(request, render_request(request))  # the full check the skip stands in for


@pytest.mark.parametrize("char", sorted({'"', "\\", "$", "%", "{", "}", "\n", "\t", "é", "\u2028"}))
def test_one_character_outside_the_alphabet_brings_the_check_back(char: str) -> None:
    assert needs_self_check(_request(requester=f"alice{char}@example.com"))
    assert needs_self_check(_request(reason=f"restart the job {char}now")) == (
        char not in "\t\n\u2028"  # the description flattens whitespace to plain spaces
    )


def test_each_interpolated_field_is_covered() -> None:
    base = _request()
    assert not needs_self_check(base)
    grant = base.grants[0]
    variants = [
        _request(path='requests/x/a"b.yaml'),
        _request(request_id="inc-1${x}"),
        _request(requester="a\\@example.com"),
        _request(ticket="INC-%{1}"),
        _request(grant=Grant("roles/x}", grant.kind, grant.resource)),
        _request(grant=Grant(grant.role, grant.kind, 'pci"prod')),
    ]
    assert all(needs_self_check(variant) for variant in variants)


def test_skipped_requests_are_still_checked_when_their_text_is_not_plain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A template that forgets to escape: plain requests render right anyway; others are caught.
    monkeypatch.setattr(render, "hcl_string", lambda value: '"' + value + '"')
    render._template.cache_clear()
    try:
        assert render_all([_request()])
        with pytest.raises(RenderError):
            render_all([_request(reason='say "hi" ${var.x}')])
    finally:
        monkeypatch.undo()
        render._template.cache_clear()


def _request(
    *,
    reason: str = "Investigate failed settlement batch (4411)",
    path: str = "requests/pci-prod/inc-4512-batch.yaml",
    request_id: str = "inc-4512-batch",
    requester: str = "alice@example.com",
    ticket: str = "INC-4512",
    grant: Grant | None = None,
) -> Request:
    return Request(
        id=request_id,
        target="pci-prod",
        path=path,
        requester=requester,
        reason=reason,
        ticket=ticket,
        window=Window(datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 13, tzinfo=UTC)),
        grants=(grant or Grant("roles/cloudsql.client", "project", "pci-prod-payments"),),
    )
