"""One fuzz target for the whole pipeline: loader -> validator -> renderer -> simulator.

Requests are generated close to valid (people, roles and resources the sample policy allows,
windows within its limits) with hostile text mixed into every free-form field, so that most
examples travel the whole way and the rest probe the refusals.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import strategies as st

from generator.checks.validate import validate_repo
from generator.core.repo import Repo
from generator.terraform.bindings import bindings_of_requests
from generator.terraform.conditions import evaluate
from tests.support import NOW

TARGETS = {
    "pci-prod": {
        "people": ["alice@example.com", "bob@example.com", "carol@example.com"],
        "ticket": "INC-4512",
        "grants": [
            ("roles/cloudsql.client", "project", "pci-prod-payments"),
            ("roles/storage.objectViewer", "bucket", "settlement-exports"),
            (
                "roles/secretmanager.viewer",
                "secret",
                "projects/pci-prod-payments/secrets/settlement-db-readonly",
            ),
            ("roles/bigquery.dataViewer", "dataset", "pci-prod-analytics.chargebacks"),
        ],
        "hours": 4,
    },
    "staging": {
        "people": ["dave@example.com", "erin@example.com"],
        "ticket": "CHG-1207",
        "grants": [
            ("roles/resourcemanager.folderViewer", "folder", "folders/204518736091"),
            ("roles/iam.securityReviewer", "organization", "618305524870"),
            (
                "roles/iam.serviceAccountViewer",
                "service_account",
                "batch-runner@stg-payments.iam.gserviceaccount.com",
            ),
            ("roles/cloudsql.client", "project", "stg-payments"),
        ],
        "hours": 24,
    },
}
HOSTILE = st.sampled_from(
    [
        '${file("/etc/passwd")}',
        "%{ if true }x%{ endif }",
        '"',
        "\\",
        "\n",
        "*/",
        "😀",
        '") || true || ("',
        "\u202e",
        "\x00",
        "\t",
    ]
)
free_text = st.lists(
    st.one_of(st.text(min_size=1, max_size=12), HOSTILE), min_size=1, max_size=12
).map("".join)


@st.composite
def request_texts(draw: st.DrawFn) -> tuple[str, str]:
    """(target, YAML text) of one request, usually valid."""
    target = draw(st.sampled_from(sorted(TARGETS)))
    spec = TARGETS[target]
    grants = draw(st.lists(st.sampled_from(spec["grants"]), min_size=1, max_size=4, unique=True))
    start = NOW + draw(st.timedeltas(timedelta(minutes=1), timedelta(days=5)))
    start = start.replace(second=0, microsecond=0)
    longest = timedelta(hours=spec["hours"] + (1 if draw(_mostly(False)) else 0))
    length = draw(st.timedeltas(timedelta(minutes=1), longest))
    offset = draw(st.sampled_from([0, 60, -300, 330]))
    starts = _stamp(start, offset)
    expires = _stamp(start + length, offset)
    reason = draw(free_text) if draw(_mostly(True)) else "Investigate batch 4411"
    reason = reason + " for the settlement batch" if draw(_mostly(True)) else reason
    ticket = spec["ticket"] if draw(_mostly(True)) else draw(free_text)
    lines = [
        f"requester: {json.dumps(draw(st.sampled_from(spec['people'])))}",
        f"reason: {json.dumps(reason, ensure_ascii=False)}",
        f"ticket: {json.dumps(ticket, ensure_ascii=False)}",
        f"starts: {starts}" if draw(_mostly(True)) else "",
        f"expires: {expires}",
        "grants:",
        *(f"  - role: {role}\n    {kind}: {json.dumps(name)}" for role, kind, name in grants),
    ]
    return target, "\n".join(line for line in lines if line) + "\n"


def _mostly(value: bool) -> st.SearchStrategy[bool]:
    """`value` four times in five: most examples should travel the whole pipeline."""
    return st.sampled_from([value] * 4 + [not value])


def _stamp(moment: datetime, offset_minutes: int) -> str:
    local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    text = local.isoformat()
    return text.replace("+00:00", "Z")


def check_pipeline(root: Path, target: str, text: str) -> bool:
    """Run one request through everything; True when it was valid and rendered."""
    folder = root / "requests"
    for old in folder.rglob("*.yaml"):
        old.unlink()
    path = folder / target / "fuzz-1.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    result = validate_repo(Repo.at(root), now=NOW, time_checked={f"requests/{target}/fuzz-1.yaml"})
    for problem in result.problems:
        assert problem.line >= 1 and problem.col >= 1 and problem.rule.startswith("LAPSE")
    if result.errors:
        assert not result.requests
        return False
    (request,) = result.requests
    bindings = bindings_of_requests([request])
    assert len(bindings) == len(request.grants)
    for binding in bindings:
        assert binding.member == request.member
        assert not evaluate(binding.expression, request.window.expires)
        assert not evaluate(binding.expression, request.window.expires + timedelta(days=400))
        assert evaluate(binding.expression, request.window.expires - timedelta(seconds=1))
    return True
