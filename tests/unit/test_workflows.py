"""The GitHub Actions workflows keep their security rules.

Two linters (zizmor for workflow security, check-jsonschema for the workflow schema) and
structural checks that fail when one of the project's own rules is broken: top-level
`permissions: {}`, actions pinned to full commit SHAs with a version comment, no
`pull_request_target`, no expressions inside `run:`, crons off the top of the hour, an apply that
is never cancelled, a timeout on every job, and checkouts that do not keep the token.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
EXPECTED = {"validate", "apply", "expire", "review", "drift", "ci", "failure-issue", "mutation"}

# A workflow of this repository, called as a reusable workflow: pinned by being in the same commit.
LOCAL_WORKFLOW = re.compile(
    r"^\s*uses:\s*\./\.github/workflows/[a-z-]+\.yml(\s+#\s*zizmor: ignore\[self-repository\])?\s*$"
)
PINNED_USES = re.compile(
    r"^\s*(?:-\s+)?uses:\s*(?P<action>[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+)"
    r"@(?P<sha>[0-9a-f]{40})\s+#\s*(?P<version>v\d+(?:\.\d+){0,2})\s*$"
)
UNTRUSTED = re.compile(r"github\.event|github\.head_ref|github\.base_ref|inputs\.")
WRITE_ALLOWED_WITH_PR_CODE = {"id-token"}


def tool(name: str) -> str:
    """The executable `name`, next to this interpreter first (a virtualenv), then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install the project with its dev extra")
    return found


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The `on:` block; YAML 1.1 reads the bare key `on` as the boolean True."""
    raw = workflow.get("on", workflow.get(True))
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return dict.fromkeys(raw)
    assert isinstance(raw, dict), "workflow has no `on:` triggers"
    return raw


def jobs(workflow: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    found = workflow.get("jobs")
    assert isinstance(found, dict) and found, "workflow has no jobs"
    return found


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def run_tool(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)


def test_the_project_workflows_are_all_there() -> None:
    assert {p.stem for p in FILES} >= EXPECTED


def test_zizmor_finds_nothing() -> None:
    result = run_tool(
        [
            tool("zizmor"),
            "--offline",
            "--min-severity",
            "medium",
            "--format",
            "json",
            "--no-progress",
            str(WORKFLOWS.relative_to(ROOT)),
        ]
    )
    report = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    try:
        findings = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"zizmor did not print JSON\n{report}")
    assert findings == [], report
    assert result.returncode == 0, report


def test_workflows_match_the_github_schema() -> None:
    result = run_tool(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *(str(p.relative_to(ROOT)) for p in FILES),
        ]
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_top_level_permissions_are_empty(path: Path) -> None:
    workflow = load(path)
    assert "permissions" in workflow, "top-level permissions missing"
    assert workflow["permissions"] == {}, "top-level permissions must be {}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_job_permissions_are_explicit_scopes(path: Path) -> None:
    for name, job in jobs(load(path)).items():
        granted = job.get("permissions")
        assert isinstance(granted, dict), f"{name}: permissions must list scopes"
        for scope, level in granted.items():
            assert level in {"read", "write", "none"}, f"{name}: {scope}: {level}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_every_uses_is_pinned_to_a_commit_with_a_version_comment(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    uses_lines = [line for line in lines if re.match(r"^\s*(?:-\s+)?uses:", line)]
    for line in uses_lines:
        assert PINNED_USES.match(line) or LOCAL_WORKFLOW.match(line), (
            f"not pinned to a SHA with a # vX.Y.Z comment: {line}"
        )
    parsed = [
        step["uses"] for job in jobs(load(path)).values() for step in steps(job) if "uses" in step
    ]
    parsed += [job["uses"] for job in jobs(load(path)).values() if "uses" in job]
    assert len(parsed) == len(uses_lines), "a `uses:` is written in a form this test cannot see"


def test_one_commit_per_action_across_workflows() -> None:
    seen: dict[str, set[tuple[str, str]]] = {}
    for path in FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = PINNED_USES.match(line)
            if match:
                pin = (match["sha"], match["version"])
                seen.setdefault(match["action"], set()).add(pin)
    drifting = {action: pins for action, pins in seen.items() if len(pins) > 1}
    assert not drifting, f"actions pinned to more than one commit: {drifting}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_no_pull_request_target(path: Path) -> None:
    assert "pull_request_target" not in triggers(load(path))
    assert "pull_request_target" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_no_expressions_inside_run(path: Path) -> None:
    for name, job in jobs(load(path)).items():
        for step in steps(job):
            script = step.get("run")
            if script is None:
                continue
            where = f"{name}: {step.get('name', script[:40])}"
            untrusted = [e for e in re.findall(r"\$\{\{(.*?)\}\}", script) if UNTRUSTED.search(e)]
            assert not untrusted, f"{where}: untrusted input in run: {untrusted}"
            assert "${{" not in script, f"{where}: pass values to run: through env:"


def with_trigger(name: str) -> list[Path]:
    return [p for p in FILES if name in triggers(load(p))]


# Parametrized over the workflows that have the trigger, so that no case passes by returning early.
SCHEDULED = with_trigger("schedule")
PULL_REQUEST = with_trigger("pull_request")


def test_the_trigger_lists_hold_the_workflows_they_name() -> None:
    assert {p.stem for p in SCHEDULED} >= {"expire", "review", "drift", "mutation"}
    assert {p.stem for p in PULL_REQUEST} >= {"validate", "ci"}


@pytest.mark.parametrize("path", SCHEDULED, ids=ids(SCHEDULED))
def test_schedules_avoid_the_top_of_the_hour(path: Path) -> None:
    entries = triggers(load(path))["schedule"]
    assert isinstance(entries, list) and entries, "schedule: needs at least one cron"
    for entry in entries:
        minute = entry["cron"].split()[0]
        assert minute.isdigit(), f"cron minute must be one fixed minute: {entry['cron']}"
        assert 0 < int(minute) < 60, f"cron minute must not be 0: {entry['cron']}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_every_job_has_a_timeout(path: Path) -> None:
    for name, job in jobs(load(path)).items():
        if "uses" in job:
            continue  # a reusable workflow: its own jobs carry the timeouts
        timeout = job.get("timeout-minutes")
        assert isinstance(timeout, int) and 0 < timeout <= 360, f"{name}: timeout-minutes"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_checkouts_do_not_keep_the_token(path: Path) -> None:
    for name, job in jobs(load(path)).items():
        for step in steps(job):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                kept = (step.get("with") or {}).get("persist-credentials")
                assert kept in (False, "false"), f"{name}: persist-credentials must be false"


@pytest.mark.parametrize("path", PULL_REQUEST, ids=ids(PULL_REQUEST))
def test_jobs_running_pull_request_code_cannot_write(path: Path) -> None:
    checked = 0
    for name, job in jobs(load(path)).items():
        checks_out = any(
            str(step.get("uses", "")).startswith("actions/checkout@") for step in steps(job)
        )
        if not checks_out:
            continue
        writes = {s for s, level in (job.get("permissions") or {}).items() if level == "write"}
        assert writes <= WRITE_ALLOWED_WITH_PR_CODE, f"{name}: writes {writes} with PR code"
        checked += 1
    assert checked, "a pull_request workflow that checks out no code: nothing was checked"


def test_apply_is_never_cancelled_and_runs_in_production() -> None:
    workflow = load(WORKFLOWS / "apply.yml")
    concurrency = workflow.get("concurrency")
    assert isinstance(concurrency, dict), "apply needs a concurrency group"
    assert concurrency.get("group") == "terraform-apply"
    assert concurrency.get("cancel-in-progress") is False
    for name, job in jobs(workflow).items():
        if "uses" in job:
            continue  # the failure issue: no environment, no credentials
        job_concurrency = job.get("concurrency")
        if isinstance(job_concurrency, dict):
            assert job_concurrency.get("cancel-in-progress") is False, name
        assert job.get("environment") == "production", f"{name}: environment"
    on = triggers(workflow)
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]


def test_validate_cancels_superseded_runs_and_checks_pull_requests() -> None:
    workflow = load(WORKFLOWS / "validate.yml")
    assert set(triggers(workflow)) == {"pull_request"}
    concurrency = workflow["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is True
    assert "validate" in jobs(workflow), "the required status check is the job `validate`"


# --- What lapse needs from the jobs that run it -------------------------------------------------

LAPSE_RUN = re.compile(r"(?:^|[\s;&|(])(?:lapse|python3?\s+(?:-\w+\s+)*-m\s+generator)\s+([a-z-]+)")
READS_HISTORY = {"review", "expire", "drift", "verify-approvals", "verify-plan"}
TOOL_PATH = ".lapse-tool"
TOOL = f'"$GITHUB_WORKSPACE/{TOOL_PATH}"'  # as installed from outside the checkout
LOCK = f'"$GITHUB_WORKSPACE/{TOOL_PATH}/requirements/lapse.txt"'


def all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, job) for path in FILES for name, job in jobs(load(path)).items()]


def scripts(job: dict[str, Any]) -> list[str]:
    return [str(step["run"]) for step in steps(job) if "run" in step]


def lapse_commands(job: dict[str, Any]) -> set[str]:
    return {match for script in scripts(job) for match in LAPSE_RUN.findall(script)}


def checkout_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith("actions/checkout@")]


def working_checkout(job: dict[str, Any]) -> dict[str, Any]:
    """The checkout into the working directory (no `path:`): the tree lapse reads."""
    found = [s for s in checkout_steps(job) if not (s.get("with") or {}).get("path")]
    assert len(found) == 1, "expected one checkout into the working directory"
    return found[0]


def holds_credentials(job: dict[str, Any]) -> bool:
    """Cloud credentials (OIDC), the GitHub App's key, or any secret."""
    oidc = (job.get("permissions") or {}).get("id-token") == "write"
    return oidc or "secrets." in yaml.safe_dump(job)


def test_the_history_check_sees_every_lapse_spelling() -> None:
    assert LAPSE_RUN.findall("lapse review --since 2d") == ["review"]
    assert LAPSE_RUN.findall("python -I -m generator drift --format json > d.json") == ["drift"]
    assert LAPSE_RUN.findall("x=1; python3 -m generator expire") == ["expire"]


def test_jobs_that_read_history_check_out_all_of_it() -> None:
    """Windows, approval evidence and verification follow commits: one commit is not enough."""
    readers = [(f, n, j) for f, n, j in all_jobs() if lapse_commands(j) & READS_HISTORY]
    assert {n for _, n, _ in readers} >= {"apply", "expire", "review", "drift"}
    for file, name, job in readers:
        depth = (working_checkout(job).get("with") or {}).get("fetch-depth")
        assert depth == 0, f"{file}: {name} runs {lapse_commands(job)} with fetch-depth {depth}"


def test_no_credentialed_job_installs_the_checked_out_tree() -> None:
    """lapse comes from its own checkout at a commit the change cannot alter, hash-checked."""
    credentialed = [(f, n, j) for f, n, j in all_jobs() if holds_credentials(j) and scripts(j)]
    assert {n for _, n, _ in credentialed} >= {"plan", "apply", "expire", "review", "drift"}
    for file, name, job in credentialed:
        where = f"{file}: {name}"
        installs = [
            line.strip()
            for script in scripts(job)
            for line in script.replace("\\\n", " ").splitlines()
            if re.search(r"\bpip3?\b.*\binstall\b", line)
        ]
        if not lapse_commands(job):
            assert not installs, f"{where}: installs without running lapse: {installs}"
            continue
        assert installs, f"{where}: runs lapse without installing it from a pinned source"
        for line in installs:
            hashed = f"--require-hashes --no-deps -r {LOCK}" in re.sub(r"\s+", " ", line)
            flat = re.sub(r"\s+", " ", line)
            tool = flat.endswith(f"--no-deps --no-index --no-build-isolation {TOOL}")
            assert hashed or tool, f"{where}: installs something unpinned: {line}"
        tools = [s for s in checkout_steps(job) if (s.get("with") or {}).get("path") == TOOL_PATH]
        assert len(tools) == 1, f"{where}: lapse needs a checkout of its own at {TOOL_PATH}"
        ref = str((tools[0].get("with") or {}).get("ref", ""))
        assert ref, f"{where}: the lapse checkout must name its commit"
        assert "head" not in ref, f"{where}: lapse must not come from the pull request: {ref}"
        if "pull_request" in triggers(load(WORKFLOWS / file)):
            assert ref == "${{ github.event.pull_request.base.sha }}", where


def test_credentialed_jobs_run_python_isolated_from_the_working_directory() -> None:
    for file, name, job in all_jobs():
        if not holds_credentials(job):
            continue
        for script in scripts(job):
            for line in script.splitlines():
                if line.strip().startswith("#"):
                    continue
                if re.search(r"(?:^|[;&|]\s*|\$\(\s*)lapse\s+[a-z]", line.strip()):
                    pytest.fail(f"{file}: {name}: runs the lapse script, not python -I: {line}")
                if re.search(r"\bpython3?\s+-m\s+generator\b", line):
                    pytest.fail(f"{file}: {name}: python without -I: {line}")


def test_terraform_init_uses_the_committed_lock_file_only() -> None:
    inits = [
        (file, name, script)
        for file, name, job in all_jobs()
        for script in scripts(job)
        if "terraform" in script and " init" in script
    ]
    assert {name for _, name, _ in inits} == {"plan", "apply"}
    for file, name, script in inits:
        assert "-lockfile=readonly" in script, f"{file}: {name}: terraform init"


def step_index(job: dict[str, Any], text: str) -> int:
    found = [i for i, step in enumerate(steps(job)) if text in str(step.get("run", ""))]
    assert found, f"no step runs {text!r}"
    return found[0]


def test_apply_applies_the_plan_it_verified() -> None:
    job = jobs(load(WORKFLOWS / "apply.yml"))["apply"]
    plan = step_index(job, "plan -input=false -no-color -out=tfplan")
    shown = step_index(job, "show -json tfplan > plan.json")
    verify = step_index(job, '-m generator verify-plan "$GITHUB_WORKSPACE/plan.json"')
    assert '--evidence "$GITHUB_WORKSPACE/verify-plan.json"' in steps(job)[verify]["run"]
    apply = step_index(job, "apply -input=false -auto-approve tfplan")
    assert plan <= shown < verify < apply
    assert step_index(job, "-m generator validate") < plan
    kept = next(s for s in steps(job) if str(s.get("uses", "")).startswith("actions/upload-"))
    assert "verify-plan.json" in kept["with"]["path"]
    assert "verify-approvals" not in yaml.safe_dump(job), "verify-plan judges every change"


def test_apply_installs_lapse_from_main_before_the_push() -> None:
    job = jobs(load(WORKFLOWS / "apply.yml"))["apply"]
    chooser = next(s for s in steps(job) if s.get("id") == "tool")
    assert chooser["env"]["BEFORE"] == "${{ github.event.before }}"
    assert "merge-base --is-ancestor" in chooser["run"]
    tool = next(s for s in checkout_steps(job) if (s.get("with") or {}).get("path") == TOOL_PATH)
    assert tool["with"]["ref"] == "${{ steps.tool.outputs.ref }}"


def test_the_plan_job_checks_the_configuration_before_terraform_reads_it() -> None:
    job = jobs(load(WORKFLOWS / "validate.yml"))["plan"]
    allowlist = step_index(job, "python -I -m generator validate")
    first_terraform = step_index(job, "terraform -chdir=terraform init")
    assert allowlist < first_terraform
    auth = [
        i for i, s in enumerate(steps(job)) if "google-github-actions/auth" in str(s.get("uses"))
    ]
    assert auth and allowlist < auth[0], "no cloud credentials before the allowlist passed"


def test_changed_since_is_the_pull_requests_base_commit() -> None:
    job = jobs(load(WORKFLOWS / "validate.yml"))["validate"]
    step = next(s for s in steps(job) if "--changed-since" in str(s.get("run", "")))
    assert '--changed-since "$BASE_SHA"' in step["run"]
    assert step["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"


def test_app_tokens_use_the_current_inputs() -> None:
    for file, name, job in all_jobs():
        for step in steps(job):
            if str(step.get("uses", "")).startswith("actions/create-github-app-token@"):
                given = set(step.get("with") or {})
                assert "app-id" not in given, f"{file}: {name}: app-id is deprecated"
                assert {"client-id", "private-key"} <= given, f"{file}: {name}"


def test_artifact_retention_is_what_github_keeps() -> None:
    """A retention-days above the repository's setting is cut without a word: state none."""
    for file, name, job in all_jobs():
        for step in steps(job):
            if str(step.get("uses", "")).startswith("actions/upload-artifact@"):
                assert "retention-days" not in (step.get("with") or {}), f"{file}: {name}"


def test_a_failed_apply_or_scheduled_job_opens_an_issue() -> None:
    for stem in ("apply", "expire", "review", "drift"):
        workflow = jobs(load(WORKFLOWS / f"{stem}.yml"))
        alert = workflow.get("alert")
        assert alert, f"{stem}.yml has no alert job"
        assert alert["uses"] == "./.github/workflows/failure-issue.yml"
        assert alert["if"] == "${{ failure() }}"
        assert stem in ([alert["needs"]] if isinstance(alert["needs"], str) else alert["needs"])
        assert alert["permissions"] == {"issues": "write", "contents": "read"}
    script = steps(jobs(load(WORKFLOWS / "failure-issue.yml"))["issue"])[0]["with"]["script"]
    assert "state: 'open'" in script and "github-actions[bot]" in script, "once, and not spoofed"


def test_every_label_lapse_uses_is_created_by_a_workflow() -> None:
    from generator.github.setup_expectations import LABELS

    text = "\n".join(path.read_text(encoding="utf-8") for path in FILES)
    for label in LABELS:
        gh = (
            f'gh label create {label.name} --repo "$GITHUB_REPOSITORY" --force '
            f'--color {label.color} --description "{label.description}"'
        )
        script = (
            f"name: label, color: '{label.color}',\n"
            f"                description: '{label.description}'"
        )
        assert gh in text or script in text, f"no workflow creates the label {label.name}"


def test_required_checks_are_the_jobs_every_pull_request_reports() -> None:
    from generator.github.workflow_needs import read_needs

    needs = read_needs(WORKFLOWS)
    assert needs.required_checks == ("ci", "plan", "validate")
    assert needs.app_permissions == {
        "contents": "write",
        "issues": "write",
        "members": "read",
        "pull_requests": "write",
        "deployments": "read",
        "actions": "read",
    }


def test_dependabot_keeps_actions_and_python_requirements_current() -> None:
    config = load(ROOT / ".github" / "dependabot.yml")
    ecosystems = {entry["package-ecosystem"]: entry for entry in config["updates"]}
    assert set(ecosystems) >= {"github-actions", "pip"}
    assert all(entry["directory"] == "/" for entry in ecosystems.values())


def test_the_requirements_credentialed_jobs_install_are_pinned_with_hashes() -> None:
    import tomllib

    text = (ROOT / "requirements" / "lapse.txt").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z])", text[text.index("\n", text.index("pip-compile")) :])
    pinned: dict[str, str] = {}
    for entry in entries:
        head = entry.strip().split(" ", 1)[0]
        if not head or head.startswith("#"):
            continue
        name, _, version = head.partition("==")
        assert version, f"not pinned: {head}"
        assert "--hash=sha256:" in entry, f"no hash: {head}"
        pinned[re.sub(r"[-_.]+", "-", name).lower()] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    from packaging.requirements import Requirement

    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pinned, f"{requirement.name} is not in the lock"
        assert requirement.specifier.contains(pinned[name]), f"{line}: the lock has {pinned[name]}"
    assert "setuptools" in pinned, "lapse is built without network: its backend must be locked"


def test_the_setup_ruleset_is_complete_and_requires_the_real_checks(tmp_path: Path) -> None:
    """The ruleset of docs/setup.md requires exactly the checks of the workflows a copy keeps
    after `lapse init` (which removes lapse's own ci.yml and mutation.yml)."""
    from generator.github.setup_expectations import ruleset_body
    from generator.github.workflow_needs import read_needs
    from generator.lifecycle.initial_setup import DEVELOPMENT

    setup = (ROOT / "docs" / "setup.md").read_text(encoding="utf-8")
    start = setup.index("/rulesets\" --input - <<'EOF'\n") + len("/rulesets\" --input - <<'EOF'\n")
    body = json.loads(setup[start : setup.index("\nEOF\n", start)])
    kept = tmp_path / "workflows"
    kept.mkdir()
    for workflow in WORKFLOWS.glob("*.y*ml"):
        if f".github/workflows/{workflow.name}" not in DEVELOPMENT:
            shutil.copyfile(workflow, kept / workflow.name)
    for field in ("name", "target", "enforcement"):
        assert body[field], f"GitHub refuses a ruleset without {field}"
    rules = {rule["type"]: rule.get("parameters", {}) for rule in body["rules"]}
    assert set(rules["pull_request"]) >= {
        "dismiss_stale_reviews_on_push",
        "require_code_owner_review",
        "require_last_push_approval",
        "required_approving_review_count",
        "required_review_thread_resolution",
    }, "every required parameter of the pull_request rule"
    contexts = [c["context"] for c in rules["required_status_checks"]["required_status_checks"]]
    assert set(contexts) == set(read_needs(kept).required_checks)
    assert body == ruleset_body(contexts), "docs/setup.md and lapse doctor's fix say the same"


PYTHON_ALLOWED = (
    re.compile(r"python3? -I -m generator [a-z-]+"),  # lapse, isolated
    re.compile(r"python3? -I -m pip install "),  # the two pinned installs, checked above
    re.compile(r"python3? -I - <<'PY'$"),  # a script written in the workflow itself
)
RUNS_TREE_CODE = re.compile(
    r"(?:^|[;&|]\s*)(?:\./|bash\s+(?!-)|sh\s+(?!-)|source\s|\.\s+\S|make\b|npm\b|npx\b|pipx\b|uv\b)"
    r"|setup\.py"
)


def test_credentialed_jobs_run_no_program_from_the_checkout() -> None:
    """Python only as isolated lapse or pip; no script, local action or Makefile of the tree."""
    for file, name, job in all_jobs():
        if not holds_credentials(job):
            continue
        for step in steps(job):
            assert not str(step.get("uses", "")).startswith("./"), f"{file}: {name}: local action"
        for script in scripts(job):
            for line in (raw.strip() for raw in script.replace("\\\n", " ").splitlines()):
                if not line or line.startswith("#"):
                    continue
                assert not RUNS_TREE_CODE.search(line), f"{file}: {name}: {line}"
                for call in re.findall(r"\bpython3?\b.*", line):
                    assert any(p.match(call) for p in PYTHON_ALLOWED), f"{file}: {name}: {line}"


def test_the_tree_code_check_sees_the_ways_around_it() -> None:
    for line in ("./run.sh", "bash tools/x.sh", "make plan", "python setup.py install", "uv run x"):
        assert RUNS_TREE_CODE.search(line), line
    assert not any(p.match("python -I tools/x.py") for p in PYTHON_ALLOWED)
    assert not any(p.match("python -m generator validate") for p in PYTHON_ALLOWED)


def test_the_setup_checklist_ends_with_lapse_doctor() -> None:
    setup = (ROOT / "docs" / "setup.md").read_text(encoding="utf-8")
    steps_ = re.findall(r"^## (\d+)\. (.*)$", setup, flags=re.MULTILINE)
    assert [int(n) for n, _ in steps_] == list(range(1, len(steps_) + 1))
    assert "lapse doctor" in steps_[-1][1]
    assert "all green, you are done" in setup[setup.rindex("\n## ") :]


def test_issues_opened_with_an_app_token_name_the_apps_login() -> None:
    """lapse counts only its own issues as already filed; under an App token it must be told
    that identity, or each run would open the same incident again."""
    openers = [
        (file, name, step)
        for file, name, job in all_jobs()
        for step in steps(job)
        if "--open-issues" in str(step.get("run", ""))
    ]
    assert openers
    for file, name, step in openers:
        env = step.get("env") or {}
        if "steps.app.outputs.token" in str(env.get("GITHUB_TOKEN", "")):
            login = str(env.get("LAPSE_GITHUB_LOGIN", ""))
            assert login == "${{ steps.app.outputs.app-slug }}[bot]", f"{file}: {name}"


def test_the_scheduled_review_checks_emergency_sign_offs() -> None:
    """An emergency grant nobody signed off must surface without anyone remembering to look."""
    (job,) = [j for f, _, j in all_jobs() if f == "review.yml" and "review" in lapse_commands(j)]
    assert any("generator emergency check" in script for script in scripts(job))


def test_the_baseline_is_the_record_only_a_successful_apply_writes() -> None:
    """verify-plan reads its baseline from the deployment the apply job records after a
    successful apply on a push; no list of runs, which a dispatch or a branch named main fills."""
    job = jobs(load(WORKFLOWS / "apply.yml"))["apply"]
    verify = step_index(job, "-m generator verify-plan")
    assert "--since-last-apply" in steps(job)[verify]["run"]
    assert "--since-commit" not in steps(job)[verify]["run"]
    assert "gh run list" not in yaml.safe_dump(job)
    assert job["permissions"].get("deployments") == "write"
    assert "actions" not in job["permissions"], "the runs are read with the App's token"
    record = step_index(job, '"repos/$GITHUB_REPOSITORY/deployments"')
    step = steps(job)[record]
    assert step["if"] == "${{ github.event_name == 'push' }}"
    for needed in ('task: "lapse-apply"', "payload: {run_id: $run}", 'environment: "production"'):
        assert needed in step["run"], needed
    assert "-F auto_inactive=false" in step["run"], "an older record stays a baseline"
    assert step_index(job, "apply -input=false -auto-approve tfplan") < record
    assert record < step_index(job, "-m generator emergency notify")


def python_calls(line: str) -> list[str]:
    return re.findall(r"\bpython3?\b[^;&|]*", line)


def test_credentialed_jobs_run_python_isolated_outside_the_checkout() -> None:
    """With the checkout as working directory, `python -m pip` imports a root `pip/` package of
    the tree: in every job that holds credentials (OIDC or a secret), every python runs with -I,
    from the runner's temporary folder, and lapse is pointed at the checkout with --root."""
    checked = set()
    for file, name, job in all_jobs():
        if not holds_credentials(job):
            continue
        default = ((job.get("defaults") or {}).get("run") or {}).get("working-directory")
        for step in steps(job):
            script = str(step.get("run", "")).replace("\\\n", " ")
            calls = [call for line in script.splitlines() for call in python_calls(line)]
            if not calls:
                continue
            checked.add(name)
            where = f"{file}: {name}: {step.get('name')}"
            assert step.get("working-directory", default) == "${{ runner.temp }}", where
            for call in calls:
                assert re.match(r"python3? -I[ \n]", call + " "), f"{where}: {call}"
                if " -m generator " in call and "--help" not in call:
                    assert '--root "$GITHUB_WORKSPACE"' in call, f"{where}: {call}"
    assert checked >= {"plan", "apply", "expire", "review", "drift"}


def test_the_isolation_check_sees_the_ways_around_it() -> None:
    assert python_calls("python -m pip install x") == ["python -m pip install x"]
    assert not re.match(r"python3? -I[ \n]", "python -Im pip ")
    assert python_calls("cd x && python3 -I - <<'PY'") == ["python3 -I - <<'PY'"]


# --- Notifications: each event sent by the workflow that sees it --------------------------------

WEBHOOKS = "${{ secrets.LAPSE_WEBHOOKS }}"
# A pull request's workflows run the workflow files of that pull request, so any secret they read
# is one its author can print (see below): `opened` is sent from main, by the hourly expire job.
UNSENT: set[str] = set()
PROTECTED = ("production", "lapse-automation")  # environments deploying from main only
SENDERS = [
    ("apply.yml", "apply", "applied"),
    ("apply.yml", "apply", "emergency"),
    ("expire.yml", "expire", "expiring"),
    ("expire.yml", "expire", "opened"),
    ("review.yml", "review", "review-deviations"),
    ("failure-issue.yml", "notify", "control-failure"),
]


def notify_step(file: str, job: str, event: str) -> tuple[int, dict[str, Any]]:
    found = [
        (i, step)
        for i, step in enumerate(steps(jobs(load(WORKFLOWS / file))[job]))
        if re.search(rf"-m generator notify {event}\b", str(step.get("run", "")))
    ]
    assert len(found) == 1, f"{file}: {job}: {len(found)} steps send {event}"
    return found[0]


def test_every_event_lapse_notifies_has_its_sender() -> None:
    from generator.commands.notify import EVENTS

    assert sorted(event for _, _, event in SENDERS) == sorted(set(EVENTS) - UNSENT)


def test_no_workflow_a_pull_request_runs_reads_the_webhooks() -> None:
    """A `pull_request` run uses the workflow files of the pull request's merge commit: a
    secret such a run reads is one the pull request's author can print."""
    for path in FILES:
        workflow = load(path)
        triggers = workflow.get(True, workflow.get("on")) or {}
        if "pull_request" in triggers or "pull_request_target" in triggers:
            assert "LAPSE_WEBHOOKS" not in path.read_text(encoding="utf-8"), path.name


@pytest.mark.parametrize(("file", "job", "event"), SENDERS, ids=[e for _, _, e in SENDERS])
def test_each_event_is_sent_with_the_webhooks_in_its_own_step(
    file: str, job: str, event: str
) -> None:
    _, step = notify_step(file, job, event)
    assert step["env"]["LAPSE_WEBHOOKS"] == WEBHOOKS
    assert step["working-directory"] == "${{ runner.temp }}"
    script = step["run"]
    # An older lapse (main before the push, the pull request's base) has no notify: warn only.
    guard = script.index("-m generator notify --help")
    assert guard < script.index(f"-m generator notify {event}")
    assert "exit 0" in script[guard : script.index(f"-m generator notify {event}")]
    # --pending links each pull request it tells of, read from GitHub.
    assert "--link" in script or "--pending" in script, "every message links what it is about"


def test_lapse_webhooks_reaches_only_the_steps_that_notify() -> None:
    """Secrets scoped to steps: no workflow or job env, no step that runs anything else."""
    seen = 0
    for path in FILES:
        workflow = load(path)
        assert "LAPSE_WEBHOOKS" not in str(workflow.get("env", {})), path.name
        for name, job in jobs(workflow).items():
            assert "LAPSE_WEBHOOKS" not in str(job.get("env", {})), f"{path.name}: {name}"
            assert "LAPSE_WEBHOOKS" not in str(job.get("secrets", {})), f"{path.name}: {name}"
            for step in steps(job):
                if "LAPSE_WEBHOOKS" in yaml.safe_dump(step):
                    # An environment secret: only jobs of an environment that deploys from the
                    # default branch read it, never a workflow pushed on another branch.
                    assert job.get("environment") in PROTECTED, f"{path.name}: {name}"
                    assert "-m generator notify " in str(step.get("run", "")), step.get("name")
                    assert step["env"]["LAPSE_WEBHOOKS"] == WEBHOOKS
                    seen += 1
    written = sum(p.read_text(encoding="utf-8").count("secrets.LAPSE_WEBHOOKS") for p in FILES)
    assert written == seen, "LAPSE_WEBHOOKS is read somewhere this test cannot see"
    assert seen >= len(SENDERS)


def test_applied_is_told_after_the_apply_is_recorded_for_each_request_the_push_changed() -> None:
    job = jobs(load(WORKFLOWS / "apply.yml"))["apply"]
    index, step = notify_step("apply.yml", "apply", "applied")
    assert step_index(job, '"repos/$GITHUB_REPOSITORY/deployments"') < index
    assert step["if"] == "${{ github.event_name == 'push' }}"
    assert step["env"]["BEFORE"] == "${{ steps.tool.outputs.ref }}"
    flat = re.sub(r"\s+", " ", step["run"].replace("\\\n", " "))
    assert '--diff-filter=AM "$BEFORE" "$GITHUB_SHA" -- \'requests/*.yaml\'' in flat
    assert "actions/runs/$GITHUB_RUN_ID" in flat


def test_emergency_is_told_for_each_issue_lapse_emergency_opened() -> None:
    job = jobs(load(WORKFLOWS / "apply.yml"))["apply"]
    index, step = notify_step("apply.yml", "apply", "emergency")
    opened = step_index(job, "-m generator emergency notify")
    assert opened < index
    assert "| tee emergencies.txt" in steps(job)[opened]["run"]
    assert "done < emergencies.txt" in step["run"]
    pattern = re.search(r"pattern='(.*)'", step["run"])
    assert pattern
    assert re.match(pattern[1], "issue #7: requests/pci-prod/emergency/inc-1.yaml")


def test_expiring_tells_of_the_grants_the_reminder_comments_on() -> None:
    job = jobs(load(WORKFLOWS / "expire.yml"))["expire"]
    reminder = steps(job)[step_index(job, "--warn-within")]["run"]
    _, step = notify_step("expire.yml", "expire", "expiring")
    within = re.search(r"--warn-within (\S+)", reminder)
    assert within and f"--expiring-within {within[1]} " in step["run"]
    assert "grep -q -- --expiring-within" in step["run"], "an older lapse only warns"


def test_opened_is_told_from_main_with_the_app_token_for_every_open_pull_request() -> None:
    """The expire job runs main's code in lapse-automation; its App token reads pull requests
    and their files, and writes the comment that marks each one told."""
    workflow = load(WORKFLOWS / "expire.yml")
    assert "pull_request" not in triggers(workflow)
    job = jobs(workflow)["expire"]
    assert job["environment"] == "lapse-automation"
    assert job["if"] == "${{ github.ref == 'refs/heads/main' }}"
    index, step = notify_step("expire.yml", "expire", "opened")
    assert index > step_index(job, "--expiring-within 1h")
    assert "-m generator notify opened --pending " in step["run"]
    assert "grep -q -- --pending" in step["run"], "an older lapse only warns"
    at = next(i for i, s in enumerate(steps(job)) if "create-github-app-token" in s.get("uses", ""))
    app = steps(job)[at]
    assert at < index and app["id"] == "app"
    assert app["with"]["permission-pull-requests"] in ("read", "write")
    assert app["with"]["permission-issues"] == "write"
    assert step["env"]["GITHUB_TOKEN"] == "${{ steps.app.outputs.token }}"
    # Only the App's own marking comment counts as told: the author can write the marker too.
    assert step["env"]["LAPSE_GITHUB_LOGIN"] == "${{ steps.app.outputs.app-slug }}[bot]"
    assert step["if"] == "${{ !cancelled() && steps.app.outcome == 'success' }}"


def test_review_deviations_are_told_only_when_the_review_found_some() -> None:
    job = jobs(load(WORKFLOWS / "review.yml"))["review"]
    review = steps(job)[step_index(job, "-m generator review ")]
    assert review["id"] == "reviewed"
    assert 'echo "deviations=true" >> "$GITHUB_OUTPUT"' in review["run"]
    assert review["run"].index('"$status" -eq 1') < review["run"].index("deviations=true")
    _, step = notify_step("review.yml", "review", "review-deviations")
    assert step["if"] == "${{ steps.reviewed.outputs.deviations == 'true' }}"


def test_a_control_failure_is_told_with_a_lapse_the_push_did_not_bring() -> None:
    workflow = load(WORKFLOWS / "failure-issue.yml")
    call = triggers(workflow)["workflow_call"]
    assert "secrets" not in call, "the webhooks are the environment's, never passed in"
    job = jobs(workflow)["notify"]
    assert job["environment"] == "lapse-automation"
    tool = next(s for s in checkout_steps(job) if (s.get("with") or {}).get("path") == TOOL_PATH)
    assert tool["with"]["ref"] == "${{ inputs.lapse-ref || github.sha }}"
    alert = jobs(load(WORKFLOWS / "apply.yml"))["alert"]
    assert alert["with"]["lapse-ref"].startswith("${{ needs.apply.outputs.tool-ref || ")
    assert jobs(load(WORKFLOWS / "apply.yml"))["apply"]["outputs"]["tool-ref"] == (
        "${{ steps.tool.outputs.ref }}"
    )
