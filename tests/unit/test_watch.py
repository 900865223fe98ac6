"""`lapse watch` against GitHub and Google Cloud served over HTTP in their own shapes.

For every control: its failure opens one incident issue with the start and the cause, a second
run opens no other, and the recovery closes it with the end and the duration. A control that
cannot be read is reported so, never as ok, and opens an issue only after the limit. A
maintenance window silences only the control it names, only between its dates.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from generator import cli
from generator.commands import adapters
from generator.core import controls
from generator.core.times import format_utc
from generator.github.control_issues import ControlIssues
from tests import setup_world as gw
from tests.support import make_repo
from tests.watch_world import APPLY_RUN, LAPSE, OWNER_NAME, WatchHub, pull, run

T = datetime.fromisoformat("2026-12-07T12:00:00+00:00")
SINK = "projects/pci-audit-logs/sinks/lapse-audit"
LOGGING = "logging.googleapis.com/v2"
BIGQUERY = "bigquery.googleapis.com/bigquery/v2"
WRITER = "serviceAccount:service-518272913437@gcp-sa-logging.iam.gserviceaccount.com"
SINK_LINE = "  # audit_sink: projects/pci-audit-logs/sinks/lapse-audit\n"


@pytest.fixture
def hub(http: responses.RequestsMock) -> WatchHub:
    return WatchHub(http)


@pytest.fixture
def world(http: responses.RequestsMock, hub: WatchHub) -> gw.World:
    made = gw.World()
    # Google only: GitHub is the hub's (responses uses the first answer that matches)
    google = re.compile(r"https://(?!api\.github\.com)[a-z.]+(:443)?/.*")
    for method in (responses.GET, responses.POST):
        http.add_callback(method, google, made._answer)
    _sink(made, disabled=False, newest=T - timedelta(minutes=20))
    return made


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    made = make_repo(tmp_path / "repo")
    policy = made / "policy" / "policy.yaml"
    policy.write_text(policy.read_text().replace(SINK_LINE, f"  audit_sink: {SINK}\n", 1))
    monkeypatch.setenv("GITHUB_REPOSITORY", OWNER_NAME)
    monkeypatch.setattr(
        adapters,
        "control_issues",
        lambda: ControlIssues(OWNER_NAME, "ghs_watch", login=LAPSE, sleep=lambda _s: None),
    )
    monkeypatch.setattr(adapters, "build_session", requests.Session)
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)  # Google's retries
    return made


def _sink(world: gw.World, *, disabled: bool, newest: datetime) -> None:
    world.get(
        f"{LOGGING}/{SINK}",
        {
            "name": "lapse-audit",
            "destination": "bigquery.googleapis.com/projects/pci-audit-logs/datasets/audit_logs",
            "disabled": disabled,
            "writerIdentity": WRITER,
            "filter": 'logName:"cloudaudit.googleapis.com"',
        },
    )
    world.get(
        f"{BIGQUERY}/projects/pci-audit-logs/datasets/audit_logs",
        {
            "id": "pci-audit-logs:audit_logs",
            "datasetReference": {"projectId": "pci-audit-logs", "datasetId": "audit_logs"},
            "etag": "BwYq3d2k",
            "access": [{"role": "WRITER", "userByEmail": WRITER.removeprefix("serviceAccount:")}],
        },
    )
    world.policy("projects/pci-audit-logs", gw.policy([]))
    world.set(
        "POST",
        f"{BIGQUERY}/projects/pci-audit-logs/queries",
        (
            200,
            {
                "kind": "bigquery#queryResponse",
                "jobComplete": True,
                "totalRows": "1",
                "rows": [{"f": [{"v": f"{newest.timestamp():.6E}"}]}],
            },
        ),
    )


def watch(root: Path, at: datetime, *names: str, fmt: str = "json") -> tuple[int, dict[str, Any]]:
    args = ["watch", "--open-issues", "--format", fmt, "--now", format_utc(at)]
    args += ["--root", str(root), "--memory", str(root.parent / "memory.json")]
    for name in names:
        args += ["--control", name]
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(args)
    return code, json.loads(out.getvalue()) if fmt == "json" else {"text": out.getvalue()}


def state(report: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in report["controls"] if c["control"] == name]
    return found


# --- git, for the apply and the recertification -------------------------------------------


def commit(root: Path, message: str, at: datetime) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": format_utc(at),
        "GIT_COMMITTER_DATE": format_utc(at),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "-m", message], cwd=root, check=True, env=env
    )
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True)
    return done.stdout.decode().strip()


def recertify(root: Path, name: str, at: datetime) -> None:
    path = root / "reports" / "recertification" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Recertification\n")
    commit(root, f"recertification {name}", at)


def applied(hub: WatchHub, root: Path, sha: str, conclusion: str = "success") -> None:
    hub.runs["apply.yml"] = [
        run(APPLY_RUN, T - timedelta(hours=3), conclusion, head_sha=sha, event="push")
    ]
    hub.deployments = [gw.shape("deployment", sha=sha, ref=sha)]


# --- each control: its failure, a second run, its recovery --------------------------------

Scene = Callable[[WatchHub, gw.World, Path], None]


def _runs(workflow: str, *pairs: tuple[timedelta, str]) -> Scene:
    def scene(hub: WatchHub, _world: gw.World, _root: Path) -> None:
        hub.runs[workflow] = [
            run(9000 + n, T - ago, conclusion, path=f".github/workflows/{workflow}")
            for n, (ago, conclusion) in enumerate(pairs)
        ]

    return scene


def _pulls(head: str, ago: timedelta) -> Scene:
    def scene(hub: WatchHub, _world: gw.World, _root: Path) -> None:
        hub.pulls = [pull(41, head, T - ago)] if ago else []

    return scene


def _issue(label: str, ago: timedelta | None) -> Scene:
    def scene(hub: WatchHub, _world: gw.World, _root: Path) -> None:
        if ago is None:  # a person resolves it
            for issue in hub.opened(label):
                if issue["user"]["login"] == LAPSE and "lapse:control:" not in issue["body"]:
                    issue["state"] = "closed"
        else:
            labels = list(dict.fromkeys([label, "security-incident"]))
            hub.add_issue(
                "Drift: a stripped condition", "found", labels, created=format_utc(T - ago)
            )

    return scene


def _data_access(on: bool) -> Scene:
    def scene(_hub: WatchHub, world: gw.World, _root: Path) -> None:
        def edit(body: dict[str, Any]) -> None:
            configs = body["auditConfigs"][0]["auditLogConfigs"]
            kinds = ["ADMIN_READ", "DATA_READ", "DATA_WRITE"] if on else ["ADMIN_READ"]
            configs[:] = [{"logType": kind} for kind in kinds]

        world.edit_policy(f"organizations/{gw.ORG_ID}", edit)

    return scene


def _sink_scene(disabled: bool) -> Scene:
    def scene(_hub: WatchHub, world: gw.World, _root: Path) -> None:
        _sink(world, disabled=disabled, newest=T + timedelta(hours=2))

    return scene


def _apply(conclusion: str) -> Scene:
    def scene(hub: WatchHub, _world: gw.World, root: Path) -> None:
        sha = commit(root, "merge", T - timedelta(hours=4))
        applied(hub, root, sha, conclusion)

    return scene


def _recert(name: str, ago: timedelta) -> Scene:
    def scene(_hub: WatchHub, _world: gw.World, root: Path) -> None:
        recertify(root, name, T - ago)

    return scene


SCENES: dict[str, tuple[Scene, Scene, str]] = {
    "expire-runs": (
        _runs("expire.yml", (timedelta(minutes=20), "failure"), (timedelta(hours=1), "success")),
        _runs(
            "expire.yml", (timedelta(minutes=-80), "success"), (timedelta(minutes=20), "failure")
        ),
        "ended failure",
    ),
    "drift-runs": (
        _runs("drift.yml", (timedelta(days=2), "success")),
        _runs("drift.yml", (timedelta(hours=1), "success"), (timedelta(days=2), "success")),
        "has not succeeded since 2026-12-05T12:00:00Z",
    ),
    "review-runs": (
        _runs("review.yml", (timedelta(hours=2), "timed_out"), (timedelta(days=1), "success")),
        _runs("review.yml", (timedelta(hours=1), "success")),
        "ended timed_out",
    ),
    "watch-runs": (
        _runs("watch.yml", (timedelta(hours=2), "success")),
        _runs("watch.yml", (timedelta(hours=-1), "success")),
        "has not succeeded since 2026-12-07T10:00:00Z",
    ),
    "apply": (_apply("failure"), _apply("success"), "ended failure"),
    "expire-pull": (
        _pulls("lapse/expire", timedelta(hours=30)),
        _pulls("lapse/expire", timedelta(0)),
        "open longer than 1d",
    ),
    "review-pulls": (
        _pulls("lapse/review", timedelta(days=8)),
        _pulls("lapse/review", timedelta(0)),
        "open longer than 7d",
    ),
    "data-access-logs": (_data_access(False), _data_access(True), "DATA_READ, DATA_WRITE"),
    "audit-sink": (_sink_scene(True), _sink_scene(False), "is disabled"),
    "incident-response": (
        _issue("security-incident", timedelta(hours=30)),
        _issue("security-incident", None),
        "open longer than 1d",
    ),
    "drift-findings": (
        _issue("lapse-drift", timedelta(hours=3)),
        _issue("lapse-drift", None),
        "unresolved drift",
    ),
    "recertification": (
        _recert("2026-H1.md", timedelta(days=200)),
        _recert("2026-H2.md", timedelta(days=1)),
        "older than 183d",
    ),
}


def test_every_control_has_a_scene() -> None:
    assert set(SCENES) == set(controls.REGISTRY)


@pytest.mark.parametrize("name", sorted(SCENES))
def test_a_failure_opens_one_issue_a_rerun_keeps_it_the_recovery_closes_it(
    name: str, hub: WatchHub, world: gw.World, root: Path
) -> None:
    fail, recover, cause = SCENES[name]
    fail(hub, world, root)
    code, report = watch(root, T, name)
    found = state(report, name)
    assert (code, found["state"], found["action"]) == (1, "failing", "opened"), found
    assert cause in found["cause"]
    (issue,) = hub.opened()
    assert {label["name"] for label in issue["labels"]} == {
        "lapse-control-failure",
        "security-incident",
    }
    started = found["since"]
    assert f"- Started: {started}" in issue["body"] and cause in issue["body"]

    later = T + timedelta(minutes=30)
    code, report = watch(root, later, name)
    assert (state(report, name)["issue"], state(report, name)["action"]) == (
        issue["number"],
        "updated",
    )
    assert len(hub.opened()) == 1 and code == 1
    assert f"Last checked: {format_utc(later)}" in issue["body"]
    assert f"- Started: {started}" in issue["body"]  # the start it was opened with

    recover(hub, world, root)
    code, report = watch(root, later + timedelta(hours=1), name)
    found = state(report, name)
    assert (code, found["state"], found["action"]) == (0, "ok", "closed"), found
    assert issue["state"] == "closed"
    (closing,) = hub.comments[issue["number"]]
    end = later + timedelta(hours=1)
    duration = end - datetime.fromisoformat(started)
    assert f"- Started: {started}" in closing["body"]
    assert f"- Ended: {format_utc(end)}" in closing["body"]
    assert "- Duration: " in closing["body"] and duration > timedelta(0)
    assert "Evidence of recovery: " in closing["body"]

    code, report = watch(root, end + timedelta(hours=1), name)
    assert state(report, name)["issue"] is None and len(hub.opened()) == 1


# --- cannot tell ---------------------------------------------------------------------------


def test_a_refused_read_cannot_tell_and_opens_an_issue_only_after_the_limit(
    hub: WatchHub, world: gw.World, root: Path
) -> None:
    hub.refuse = {"runs"}  # the token lacks actions: read
    code, report = watch(root, T, "expire-runs", "drift-runs")
    found = state(report, "expire-runs")
    assert (code, found["state"], found["issue"]) == (1, "cannot tell", None)
    assert "403" in found["cause"] and hub.opened() == []

    code, report = watch(root, T + timedelta(hours=5, minutes=59), "expire-runs")
    assert state(report, "expire-runs")["state"] == "cannot tell" and hub.opened() == []

    code, report = watch(root, T + timedelta(hours=6), "expire-runs", "drift-runs")
    found = state(report, "expire-runs")
    assert (code, found["state"], found["action"], found["since"]) == (
        1,
        "cannot tell",
        "opened",
        format_utc(T),
    )
    assert len(hub.opened()) == 2  # one per control, never one for both
    assert "cannot be checked" in hub.opened()[0]["body"]

    # Readable again but failing: the same issue, never closed on the way.
    hub.refuse = set()
    hub.runs["expire.yml"] = [run(1, T + timedelta(hours=5), "failure")]
    code, report = watch(root, T + timedelta(hours=7), "expire-runs")
    found = state(report, "expire-runs")
    assert (found["state"], found["action"]) == ("failing", "updated")
    assert len(hub.opened()) == 2 and hub.opened()[0]["state"] == "open"
    assert f"- Started: {format_utc(T)}" in hub.opened()[0]["body"]


def test_without_memory_an_unreadable_control_never_opens_an_issue_sooner(
    hub: WatchHub, world: gw.World, root: Path
) -> None:
    hub.refuse = {"runs"}
    (root.parent / "memory.json").write_text('{"controls": {"expire-runs": 3}}')
    code, report = watch(root, T, "expire-runs")
    assert state(report, "expire-runs")["since"] == format_utc(T) and hub.opened() == []
    assert code == 1


def test_an_unreadable_google_cannot_tell_and_is_never_ok(
    hub: WatchHub, world: gw.World, root: Path
) -> None:
    world.set("GET", f"{LOGGING}/{SINK}", gw.google_error(403, "PERMISSION_DENIED"))
    organization = f"{gw.CRM}/v3/organizations/{gw.ORG_ID}:getIamPolicy"
    world.set("POST", organization, gw.google_error(503, "UNAVAILABLE"))
    code, report = watch(root, T, "audit-sink", "data-access-logs")
    assert code == 1
    assert {state(report, n)["state"] for n in ("audit-sink", "data-access-logs")} == {
        "cannot tell"
    }


def test_without_google_credentials_the_google_controls_cannot_tell(
    hub: WatchHub, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_credentials() -> requests.Session:
        raise adapters.ConfigError("no Google Cloud credentials: run gcloud auth")

    monkeypatch.setattr(adapters, "build_session", no_credentials)
    code, report = watch(root, T, "audit-sink", "data-access-logs")
    assert code == 1
    for name in ("audit-sink", "data-access-logs"):
        assert state(report, name)["state"] == "cannot tell"
        assert "no Google Cloud credentials" in state(report, name)["cause"]


# --- maintenance windows -------------------------------------------------------------------


def _window(root: Path, control: str, starts: datetime, ends: datetime) -> None:
    policy = root / "policy" / "policy.yaml"
    entry = (
        f"  maintenance:\n    - control: {control}\n      from: {format_utc(starts)}\n"
        f"      until: {format_utc(ends)}\n      reason: CHG-2207 runners move\n"
    )
    text = policy.read_text()
    anchor = f"  audit_sink: {SINK}\n"
    policy.write_text(text.replace(anchor, anchor + entry, 1))


@pytest.mark.parametrize(
    ("at", "silenced"),
    [
        (T - timedelta(minutes=1), False),
        (T, True),
        (T + timedelta(hours=1, minutes=59), True),
        (T + timedelta(hours=2), False),
    ],
)
def test_a_window_silences_only_its_control_only_between_its_dates(
    hub: WatchHub, world: gw.World, root: Path, at: datetime, silenced: bool
) -> None:
    _window(root, "expire-runs", T, T + timedelta(hours=2))
    hub.runs["expire.yml"] = [run(1, T - timedelta(hours=5), "failure")]
    hub.runs["drift.yml"] = [run(2, T - timedelta(hours=5), "failure")]
    code, report = watch(root, at, "expire-runs", "drift-runs")
    expire, drift = state(report, "expire-runs"), state(report, "drift-runs")
    assert drift["state"] == "failing" and drift["action"] == "opened" and code == 1
    if silenced:
        assert (expire["state"], expire["issue"]) == ("silenced", None)
        assert expire["maintenance"]["reason"] == "CHG-2207 runners move"
        assert [i["title"] for i in hub.opened()] == ["Control failure: drift-runs"]
    else:
        assert (expire["state"], expire["action"]) == ("failing", "opened")
        assert len(hub.opened()) == 2


def test_a_window_leaves_an_open_incident_as_it_is(
    hub: WatchHub, world: gw.World, root: Path
) -> None:
    hub.runs["expire.yml"] = [run(1, T - timedelta(hours=5), "failure")]
    watch(root, T - timedelta(hours=1), "expire-runs")
    (issue,) = hub.opened()
    _window(root, "expire-runs", T, T + timedelta(hours=2))
    hub.runs["expire.yml"] = [run(2, T + timedelta(hours=1), "success")]  # fixed meanwhile
    code, report = watch(root, T + timedelta(hours=1), "expire-runs")
    assert state(report, "expire-runs")["state"] == "silenced" and code == 0
    assert issue["state"] == "open" and hub.writes.count("PATCH edit") == 0
    code, report = watch(root, T + timedelta(hours=2), "expire-runs")
    assert state(report, "expire-runs")["action"] == "closed" and issue["state"] == "closed"


# --- who may speak for lapse ---------------------------------------------------------------


def test_an_issue_someone_else_opened_with_the_marker_neither_silences_nor_closes(
    hub: WatchHub, world: gw.World, root: Path
) -> None:
    forged = hub.add_issue(
        "Control failure: expire-runs",
        "<!-- lapse:control:expire-runs -->",
        ["lapse-control-failure", "security-incident"],
        by="mallory",
    )
    hub.runs["expire.yml"] = [run(1, T - timedelta(hours=5), "failure")]
    _code, report = watch(root, T, "expire-runs")
    assert state(report, "expire-runs")["issue"] != forged["number"]
    assert len(hub.opened()) == 2
    hub.runs["expire.yml"] = [run(2, T, "success")]
    watch(root, T + timedelta(minutes=5), "expire-runs")
    assert forged["state"] == "open" and forged["number"] not in hub.comments


def test_a_failed_run_on_another_branch_or_cancelled_run_is_not_a_success(
    hub: WatchHub, world: gw.World, root: Path
) -> None:
    hub.runs["expire.yml"] = [
        run(3, T - timedelta(minutes=10), "cancelled"),
        run(2, T - timedelta(minutes=20), None),
        run(1, T - timedelta(hours=3), "success"),
    ]
    _code, report = watch(root, T, "expire-runs")
    assert state(report, "expire-runs")["state"] == "failing"
    assert state(report, "expire-runs")["since"] == format_utc(T - timedelta(hours=1, minutes=30))


# --- the apply -----------------------------------------------------------------------------


def test_a_merge_waiting_unapplied_past_the_limit_fails_from_then(
    hub: WatchHub, world: gw.World, root: Path
) -> None:
    sha = commit(root, "applied", T - timedelta(hours=6))
    applied(hub, root, sha)
    commit(root, "merged, not applied", T - timedelta(hours=1, minutes=59))
    assert state(watch(root, T, "apply")[1], "apply")["state"] == "ok"
    commit(root, "merged later", T - timedelta(minutes=5))
    found = state(watch(root, T + timedelta(minutes=2), "apply")[1], "apply")
    assert (found["state"], found["since"]) == ("failing", format_utc(T + timedelta(minutes=1)))


def test_an_apply_record_off_mains_history_fails(
    hub: WatchHub, world: gw.World, root: Path
) -> None:
    commit(root, "main", T - timedelta(hours=6))
    applied(hub, root, "0123456789abcdef0123456789abcdef01234567")
    found = state(watch(root, T, "apply")[1], "apply")
    assert found["state"] in ("failing", "cannot tell") and found["state"] != "ok"


# --- recertification -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["2027-H1.md", "2026-H3.md", "2026-H2.txt", "2026-H2.md/x.md", "2026-h2.md"]
)
def test_only_a_report_named_for_a_begun_half_year_counts(
    hub: WatchHub, world: gw.World, root: Path, name: str
) -> None:
    recertify(root, "2026-H1.md", T - timedelta(days=200))
    recertify(root, name, T - timedelta(days=1))
    found = state(watch(root, T, "recertification")[1], "recertification")
    assert found["state"] == "failing" and "2026-H1.md" in found["cause"]


def test_a_symlinked_report_does_not_count(hub: WatchHub, world: gw.World, root: Path) -> None:
    recertify(root, "2026-H1.md", T - timedelta(days=200))
    (root / "reports" / "recertification" / "2026-H2.md").symlink_to("2026-H1.md")
    commit(root, "a link", T - timedelta(days=1))
    found = state(watch(root, T, "recertification")[1], "recertification")
    assert found["state"] == "failing"


def test_the_text_names_state_since_cause_and_issue(
    hub: WatchHub, world: gw.World, root: Path
) -> None:
    hub.runs["drift.yml"] = [run(1, T - timedelta(days=2), "success")]
    code, out = watch(root, T, "drift-runs", fmt="text")
    assert code == 1
    assert out["text"] == (
        "lapse watch at 2026-12-07T12:00:00Z\n"
        "  failing     drift-runs\n"
        "              since 2026-12-06T12:30:00Z: drift.yml has not succeeded since"
        " 2026-12-05T12:00:00Z: it runs every 1d (+30m)\n"
        "              issue #100 opened\n"
        "1 controls: 1 failing or cannot tell\n"
    )


def test_a_memory_that_cannot_be_written_is_named(
    hub: WatchHub, world: gw.World, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.runs["expire.yml"] = [run(1, T, "success")]
    args = ["watch", "--now", format_utc(T), "--root", str(root), "--control", "expire-runs"]
    code = cli.main([*args, "--memory", str(root / "policy" / "policy.yaml" / "memory.json")])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot write" in err
    assert "policy/policy.yaml/memory.json: File exists (EEXIST)" in err


@pytest.mark.parametrize("by", ["acme-lapse[bot]", "carol-diaz"])
def test_an_incident_anyone_labelled_counts_against_the_response_time(
    hub: WatchHub, world: gw.World, root: Path, by: str
) -> None:
    hub.add_issue(
        "Post-access review deviation: INC-4512",
        "<!-- lapse:control:incident-response -->",  # only lapse's own is its own
        ["security-incident", "lapse-review"],
        by=by,
        created=format_utc(T - timedelta(hours=25)),
    )
    found = state(watch(root, T, "incident-response")[1], "incident-response")
    assert found["state"] == "failing" and "#100" in found["cause"]
