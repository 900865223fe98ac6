"""Incident issue bodies are escaped like the reports: log text cannot mention, link or embed."""

from __future__ import annotations

import re

from generator.review.analysis import review
from generator.review.publication import incident_body, report_of

from .conftest import GRACE, event, request, subject


def test_incident_body_escapes_text_from_logs_and_requests() -> None:
    hostile = event(
        at_time="2026-12-01T15:00:00",
        method="x ![img](https://evil.example/p.png) @example-org/security [click](https://e.x)",
        insert_id="id | <b>@admins</b>",
    )
    item = review(
        subject(request(reason="r", requester="alice@example.com")), [hostile], grace=GRACE
    )

    body = incident_body(item, report_of(item))

    assert "![img](" not in body and "[click](" not in body
    assert "@example-org/security" not in body and "&#64;example-org/security" in body
    outside_code = re.sub(r"`+[^`]*`+", "", body)
    assert "<b>" not in outside_code  # only inside a code span, where it shows as typed
    assert "alice@example.com" in body  # an address still reads plainly
    for row in [line for line in body.splitlines() if line.startswith("| CRITICAL")]:
        assert row.count(" | ") == 2  # no cell broken by a `|` from the log
