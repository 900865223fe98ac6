"""`lapse init` turns a fresh copy into an organization's own repository, and nothing else.

Every file it writes passes `lapse validate`, `terraform fmt -check` and python-hcl2; a second
run with the same answers changes nothing; `--dry-run` says exactly what the real run does and
writes nothing; a dirty tree, a symlink on the way and every bad answer are refused, exit 2,
with the option or the file named.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest

from generator.lifecycle import initial_setup
from tests.acceptance.cli import lapse
from tests.fresh_copy import REPO, clone, commit_all, fresh_template, git  # noqa: F401

ANSWERS = (
    "--organization 123456789012"
    " --target pci-prod:381920475512:acme-payments,acme-analytics:@acme/pci-approvers"
    " --target staging:204518736091:acme-staging:@acme/platform-leads"
    " --security-owner @acme/security"
    " --person alice-ng=alice@acme.example --person bob-okafor=bob@acme.example"
    " --emergency-team @acme/payments-oncall"
    " --state-bucket acme-lapse-state"
)


@pytest.fixture
def copy(fresh_template: Path, tmp_path: Path) -> Path:  # noqa: F811
    return clone(fresh_template, tmp_path / "copy")


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def test_init_writes_the_organizations_files_and_removes_every_sample(copy: Path) -> None:
    run = lapse(f"init {ANSWERS}", cwd=copy)
    assert run.code == 0, run.err
    policy = (copy / "policy/policy.yaml").read_text()
    assert "@acme/pci-approvers" in policy and "example-org" not in policy
    assert "alice-ng: alice@acme.example" in policy
    assert 'bucket = "acme-lapse-state"' in (copy / "terraform/backend.tf").read_text()
    for sample in initial_setup.SAMPLES:
        assert not (copy / sample).exists(), sample
    assert not (copy / "tests").exists() and not (copy / "bench").exists()
    assert "@acme/security" in (copy / ".github/CODEOWNERS").read_text()
    assert "wrote .github/CODEOWNERS" in run.out
    assert "0 request files checked" in run.out  # render ran
    assert "docs/setup.md" in run.out
    for line in ("validate", "render --check", "codeowners --check"):
        checked = lapse(line, cwd=copy)
        assert checked.code == 0, (line, checked.out, checked.err)
    for path in initial_setup.WRITTEN:
        if path.endswith(".tf"):
            with open(copy / path, encoding="utf-8") as handle:
                assert hcl2.load(handle), path


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform binary not on PATH")
def test_written_terraform_is_formatted(copy: Path) -> None:
    assert lapse(f"init {ANSWERS}", cwd=copy).code == 0
    done = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", "terraform"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_second_run_with_the_same_answers_changes_nothing(copy: Path) -> None:
    assert lapse(f"init {ANSWERS}", cwd=copy).code == 0
    commit_all(copy, "lapse init")
    before = tree(copy)
    again = lapse(f"init {ANSWERS}", cwd=copy)
    assert again.code == 0, again.err
    assert tree(copy) == before
    assert git(copy, "status", "--porcelain") == ""
    assert not [line for line in again.out.splitlines() if line.startswith(("wrote", "removed"))]
    assert "unchanged .github/CODEOWNERS" in again.out


def test_dry_run_prints_what_the_run_does_and_writes_nothing(copy: Path) -> None:
    before = tree(copy)
    dry = lapse(f"init {ANSWERS} --dry-run", cwd=copy)
    assert dry.code == 0, dry.err
    assert tree(copy) == before
    real = lapse(f"init {ANSWERS}", cwd=copy)
    planned = [line.removeprefix("would ") for line in dry.out.splitlines()[:-1]]
    done = [
        line.replace("wrote", "write").replace("removed", "remove")
        for line in real.out.splitlines()
    ]
    assert planned == done[: len(planned)]
    assert dry.out.splitlines()[-1] == "then would run `lapse codeowners` and `lapse render`"


@pytest.mark.parametrize("dirt", ["untracked", "modified", "staged"])
def test_a_dirty_tree_is_refused_even_for_a_dry_run(copy: Path, dirt: str) -> None:
    if dirt == "untracked":
        (copy / "requests/pci-prod/my-draft.yaml").write_text("x: 1\n")
    else:
        (copy / "README.md").write_text("mine\n")
        if dirt == "staged":
            git(copy, "add", "README.md")
    before = tree(copy)
    for flags in ("", " --dry-run"):
        run = lapse(f"init {ANSWERS}{flags}", cwd=copy)
        assert run.code == 2
        assert "uncommitted changes" in run.err and "Nothing was changed" in run.err
    assert tree(copy) == before


def test_a_copy_outside_git_is_refused(copy: Path) -> None:
    shutil.rmtree(copy / ".git")
    run = lapse(f"init {ANSWERS}", cwd=copy)
    assert run.code == 2 and "not a git checkout" in run.err
    assert (copy / initial_setup.SAMPLES[0]).exists()


@pytest.mark.parametrize(
    ("flag", "value", "why"),
    [
        ("--organization", "acme", "organization number"),
        ("--organization", "organizations/12", "organization number"),
        ("--organization", "0123", "organization number"),
        ("--person", "alice=Alice@acme.example", "email address"),
        ("--person", "alice=alice", "email address"),
        ("--person", "alice", "LOGIN=EMAIL"),
        ("--person", "-alice=alice@acme.example", "GitHub login"),
        ("--state-bucket", "Acme_State", "bucket name"),
        ("--state-bucket", "ab", "bucket name"),
        ("--state-bucket", "acme.state.example", "bucket name"),
        ("--state-bucket", "google-state", "goog"),
        ("--state-bucket", "goog-state", "goog"),
        ("--target", "pci-prod:38192:acme-payments", "NAME:FOLDER"),
        ("--target", "pci-prod:folder:acme-payments:@acme/a", "folder number"),
        ("--target", "pci-prod:38192:Acme-Payments:@acme/a", "project id"),
        ("--target", "pci-prod:38192::@acme/a", "no project"),
        ("--target", "PCI:38192:acme-payments:@acme/a", "target name"),
        ("--target", "pci-prod:38192:acme-payments:acme/a", "GitHub team"),
        ("--emergency-team", "@oncall", "GitHub team"),
        ("--security-owner", "security", "GitHub team"),
    ],
)
def test_a_bad_answer_names_its_option_and_changes_nothing(
    copy: Path, flag: str, value: str, why: str
) -> None:
    before = tree(copy)
    run = lapse(f"init {ANSWERS} {flag} '{value}'", cwd=copy)
    assert run.code == 2, run.out
    assert f"Invalid value for '{flag}'" in run.err and why in run.err
    assert tree(copy) == before


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ("--target staging:1:other-project:@acme/a", "target staging given twice"),
        ("--target more:1:acme-staging:@acme/a", "project acme-staging given twice"),
        ("--person ALICE-NG=other@acme.example", "person alice-ng given twice"),
        ("--person carol=alice@acme.example", "one email for two people"),
    ],
)
def test_answers_that_contradict_each_other_are_refused(copy: Path, extra: str, why: str) -> None:
    run = lapse(f"init {ANSWERS} {extra}", cwd=copy)
    assert run.code == 2 and why in run.err


def test_without_a_terminal_missing_answers_are_named_not_asked(copy: Path) -> None:
    run = lapse("init --organization 123456789012", cwd=copy)
    assert run.code == 2
    assert "missing --target, --security-owner, --person, --state-bucket" in run.err


@pytest.mark.parametrize("link", ["policy/policy.yaml", "terraform", ".github/CODEOWNERS"])
def test_a_symlink_on_the_way_is_refused_and_its_target_untouched(
    copy: Path, tmp_path: Path, link: str
) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(copy / "policy", outside / "policy")
    shutil.copytree(copy / "terraform", outside / "terraform")
    shutil.copytree(copy / ".github", outside / ".github")
    kept = tree(outside)
    place = copy / link
    if place.is_dir():
        shutil.rmtree(place)
    else:
        place.unlink()
    place.symlink_to(outside / link)
    commit_all(copy, "a symlink")
    run = lapse(f"init {ANSWERS}", cwd=copy)
    assert run.code == 2 and f"{link} is a symlink" in run.err
    assert tree(outside) == kept


def test_the_samples_are_exactly_the_repositorys_requests_and_grant_files() -> None:
    found = {
        p.relative_to(REPO).as_posix()
        for folder in ("requests", "archive", "reports", "terraform/grants")
        for p in (REPO / folder).rglob("*")
        if p.is_file() and p.name != "_module.tf"
    }
    assert found == set(initial_setup.SAMPLES)
    for path in initial_setup.DEVELOPMENT:
        assert (REPO / path).exists(), path


def test_at_a_terminal_missing_answers_are_asked_and_a_bad_one_asked_again(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from generator.commands import init

    monkeypatch.setattr(init, "interactive", lambda: True)
    typed = [
        "acme", "123456789012",  # the first answer is refused, then asked again
        "pci-prod", "381920475512", "acme-payments, acme-analytics", "@acme/pci-approvers",
        "y", "staging", "folders/204518736091", "acme-staging", "@acme/platform-leads", "n",
        "@acme/security", "alice-ng=alice@acme.example", "Bad_Bucket", "acme-lapse-state", "",
    ]  # fmt: skip
    run = CliRunner().invoke(init.init, ["--root", str(copy)], input="\n".join(typed) + "\n")
    assert run.exit_code == 0, run.output
    assert "'acme' is not an organization number" in run.output
    assert "'Bad_Bucket' is not a bucket name" in run.output
    policy = (copy / "policy/policy.yaml").read_text()
    assert "- folders/204518736091" in policy and "acme-analytics" in policy
    assert "emergency" not in policy
    assert lapse("validate", cwd=copy).code == 0
