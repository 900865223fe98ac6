"""Findings named once (`FindingKind`), and the typed review report every output reads."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from pathlib import Path

import jsonschema
import orjson
import pytest

from generator.core.findings import FindingKind
from generator.core.model import Severity
from generator.core.repo import Repo
from generator.review.analysis import Review, review
from generator.review.outcome import GrantReport, ReviewRun, exit_code
from generator.review.report import json_report
from generator.review.report_on_disk import read_report
from tests.support import REPO

from .conftest import GRACE, event, fixture_event, subject
from .test_report import clean_review, hostile_review

SCHEMA = json.loads((REPO / "schemas" / "review-report.schema.json").read_text())
# PCI DSS v4.0.1 requirement numbers, e.g. `10.4.3` or `8.2.6, 12.10.x`.
REQUIREMENTS = re.compile(r"^\d+\.\d+\.(\d+|x)(, \d+\.\d+\.(\d+|x))*$")


def reviews() -> list[Review]:
    denied = event(status=7, permissions=(("storage.objects.get", "x", False),))
    return [
        clean_review(),
        hostile_review(),
        review(subject(), [denied], grace=GRACE),
        review(subject(), [], grace=GRACE),
        review(subject(), [fixture_event("storage_objects_get")], grace=GRACE, gaps=["a gap"]),
    ]


def test_every_finding_kind_has_a_severity_and_a_requirement() -> None:
    for kind in FindingKind:
        assert isinstance(kind.severity, Severity), kind
        assert REQUIREMENTS.match(kind.requirement), kind
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", kind.id) and kind.about, kind


def test_one_id_reported_at_several_severities_has_a_member_for_each() -> None:
    pairs = [(k.id, k.severity) for k in FindingKind]
    assert len(pairs) == len(set(pairs))


def test_every_finding_a_review_reports_is_a_finding_kind() -> None:
    named = {(k.severity, k.id) for k in FindingKind}
    found = {(f.severity, f.kind) for r in reviews() for f in r.findings}
    assert found and found <= named


def test_the_exit_code_of_a_review_is_computed_in_one_place() -> None:
    package = REPO / "generator"
    defining = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and node.name == "exit_code"
    }
    assert defining == {"review/outcome.py"}
    command = ast.parse((package / "commands" / "review.py").read_text())
    function = next(
        node
        for node in ast.walk(command)
        if isinstance(node, ast.FunctionDef) and node.name == "review"
    )
    returned = [
        ast.unparse(node.value)
        for node in ast.walk(function)
        if isinstance(node, ast.Return) and node.value is not None
    ]
    assert returned == ["run.exit_code"]


@pytest.mark.parametrize("index", range(5))
def test_the_typed_report_round_trips_through_json_valid_against_the_schema(index: int) -> None:
    item = reviews()[index]
    text = json_report(item, {"pull request": "#42", "approved by": ["dana-k"]})
    data = orjson.loads(text)
    validator = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    assert not [e.message for e in validator.iter_errors(data)]
    typed = GrantReport.of("r.md", item)
    assert replace(GrantReport.read("r.md", data), reported_earlier=False) == typed


def test_the_schema_refuses_what_lapse_does_not_write() -> None:
    data = orjson.loads(json_report(clean_review()))
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for wrong in ({"worst": "critical"}, {"complete": "yes"}, {"extra": 1}):
        assert not validator.is_valid(data | wrong), wrong


def test_the_run_exit_code_reads_the_typed_reports_and_the_problems() -> None:
    clean, medium = reviews()[0], reviews()[2]
    grants = (GrantReport.of("a.md", clean),)
    assert ReviewRun(grants, None, ()).exit_code == 0
    assert ReviewRun((*grants, GrantReport.of("b.md", medium)), None, ()).exit_code == 1
    assert ReviewRun((GrantReport.unreadable("c.md", "c.json"),), None, ()).exit_code == 1
    assert exit_code([clean]) == exit_code(grants) == 0


@pytest.mark.parametrize(
    ("finding", "why"),
    [
        ({"severity": "critical"}, "`findings` must each have a `severity`"),
        ({"severity": ["HIGH"]}, "`findings` must each have a `severity`"),
        ({"evidence": "id-1"}, "`findings` must each have"),
        ({"message": None}, "`findings` must each have"),
    ],
)
def test_a_report_on_disk_whose_finding_lapse_would_not_write_is_refused(
    tmp_path: Path, finding: dict[str, object], why: str
) -> None:
    # A lowercased severity would otherwise hide a deviation from the exit code.
    data = orjson.loads(json_report(reviews()[2]))
    data["findings"][0] |= finding
    path = tmp_path / "reports" / "r.json"
    path.parent.mkdir()
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    read = read_report(Repo(tmp_path), path)
    assert read.data is None
    (problem,) = read.problems
    written = path.read_text()
    line = written[: written.index('"findings"')].count("\n") + 1
    assert (problem.rule, problem.line) == ("LAPSE115", line)
    assert why in problem.message


def test_a_report_whose_worst_is_not_a_severity_is_refused(tmp_path: Path) -> None:
    data = orjson.loads(json_report(clean_review())) | {"worst": ["CRITICAL"]}
    path = tmp_path / "r.json"
    path.write_bytes(orjson.dumps(data))
    (problem,) = read_report(Repo(tmp_path), path).problems
    assert problem.rule == "LAPSE115" and "`worst` must be null or one of" in problem.message
