"""A request file every rule passed is not judged again by a run that does not read the clock,
while its path and bytes, the policy, the roles lock, the audit coverage, the schemas and the
code are the same: such a run gives the problems of one with the cache off."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.checks import request_verdicts
from generator.checks import validate as validating
from generator.checks.validate import Validation, validate_repo
from generator.core import cache
from generator.core.repo import Repo
from generator.terraform.audit_coverage import read_coverage
from tests.support import NOW, make_repo
from tests.unit.test_request_readings import REPOSITORIES, SAMPLE, _verdict


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store of this test's own: the session's is shared with every other test."""
    place = tmp_path / "cache"
    monkeypatch.setenv("LAPSE_CACHE_DIR", str(place))
    return place


def _render_mode(root: Path) -> Validation:
    """Validation as `lapse render` runs it: without the clock."""
    return validate_repo(Repo.at(root), now=None)


def _cache_off(root: Path, monkeypatch: pytest.MonkeyPatch) -> Validation:
    with monkeypatch.context() as patch:
        patch.setenv("LAPSE_CACHE_DIR", cache.OFF)
        return _render_mode(root)


def _request_files(root: Path) -> list[str]:
    repo = Repo.at(root)
    return sorted(repo.relative(path) for path in repo.request_files())


def _judged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The request files the rules judge from now on."""
    judged: list[str] = []
    real = validating._request_rules

    def counting(request: Any, *args: Any) -> Any:
        *before, checks, contexts = args
        listed = list(checks)
        if listed:
            judged.append(request.path)
        return real(request, *before, listed, contexts)

    monkeypatch.setattr(validating, "_request_rules", counting)
    return judged


@pytest.mark.parametrize("build", REPOSITORIES)
def test_a_warm_run_judges_only_what_raised_problems_and_gives_the_cold_verdicts(
    build: Callable[[Path], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build(tmp_path / "repo")
    cold = _render_mode(root)
    off = _cache_off(root, monkeypatch)
    judged = _judged(monkeypatch)

    warm = _render_mode(root)

    assert _verdict(warm) == _verdict(cold) == _verdict(off)
    assert len(set(judged)) == len(judged) < len(_request_files(root))
    assert set(judged) <= {problem.path for problem in cold.problems}


def _slower(root: Path) -> None:
    policy = root / "policy" / "policy.yaml"
    policy.write_text(policy.read_text().replace("max_duration: 4h", "max_duration: 1h", 1))


def _unknown_role(root: Path) -> None:
    lock = root / "policy" / "roles.lock.json"
    roles = json.loads(lock.read_text())
    del roles["roles"]["roles/cloudsql.client"]
    lock.write_text(json.dumps(roles, indent=2) + "\n")


def _exempted(root: Path) -> None:
    audit = root / "terraform" / "audit_logging.tf"
    line = '    log_type = "DATA_READ"\n'
    exempt = '    exempted_members = ["user:alice@example.com"]\n'
    audit.write_text(audit.read_text().replace(line, line + exempt, 1))


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        pytest.param(_slower, "LAPSE302", id="policy"),
        pytest.param(_unknown_role, "LAPSE250", id="roles-lock"),
        pytest.param(_exempted, "LAPSE261", id="audit-coverage"),
    ],
)
def test_a_changed_policy_lock_or_coverage_judges_every_file_again(
    edit: Callable[[Path], None], rule: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    assert not _render_mode(root).problems
    edit(root)
    off = _cache_off(root, monkeypatch)
    judged = _judged(monkeypatch)

    warm = _render_mode(root)

    assert (rule, SAMPLE) in {(problem.rule, problem.path) for problem in warm.problems}
    assert sorted(judged) == _request_files(root)
    assert _verdict(warm) == _verdict(off)


@pytest.mark.parametrize(
    "changed",
    [
        "policy/policy.yaml",
        "policy/roles.lock.json",
        "schemas/policy.schema.json",
        "schemas/access-request.schema.json",
    ],
)
def test_every_input_file_names_its_own_table(changed: str, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    repo = Repo.at(root)
    audit = read_coverage(repo.terraform)
    before = request_verdicts.open_verdicts(repo, audit, reads_clock=False).name
    (root / changed).write_bytes((root / changed).read_bytes() + b"\n")
    assert request_verdicts.open_verdicts(repo, audit, reads_clock=False).name != before
    (root / changed).unlink()
    missing = request_verdicts.open_verdicts(repo, audit, reads_clock=False).name
    assert missing not in (before, None)
    other = read_coverage(repo.terraform.parent)  # no terraform files: no coverage
    assert request_verdicts.open_verdicts(repo, other, reads_clock=False).name != missing
    assert request_verdicts.open_verdicts(repo, None, reads_clock=False).name != missing


def test_other_code_judges_every_file_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    cold = _render_mode(root)
    real = cache.code_digest
    monkeypatch.setattr(cache, "code_digest", lambda *names: real(*names) + "-next")
    judged = _judged(monkeypatch)

    warm = _render_mode(root)

    assert sorted(judged) == _request_files(root)
    assert _verdict(warm) == _verdict(cold)


def test_a_run_that_reads_the_clock_judges_every_file(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    _render_mode(root)
    kept = sorted(own_cache.joinpath(request_verdicts.KIND).iterdir())
    judged = _judged(monkeypatch)

    timed = validate_repo(Repo.at(root), now=NOW)

    assert kept and sorted(judged) == _request_files(root)
    assert timed.requests
    assert sorted(own_cache.joinpath(request_verdicts.KIND).iterdir()) == kept


def test_a_file_that_raised_a_problem_is_judged_on_every_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    text = (root / SAMPLE).read_text().replace("roles/cloudsql.client", "roles/owner")
    (root / SAMPLE).write_text(text)
    cold = _render_mode(root)
    judged = _judged(monkeypatch)

    for _ in range(2):
        assert _verdict(_render_mode(root)) == _verdict(cold)
    assert judged == [SAMPLE, SAMPLE]
    assert SAMPLE in {problem.path for problem in cold.errors}
