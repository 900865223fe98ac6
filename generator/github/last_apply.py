"""The last commit applied from main, read from the record only a successful apply writes.

After `terraform apply` succeeds on a push to main, the apply job records a deployment of the
`production` environment (task `lapse-apply`, payload `{"run_id": <its run>}`) with a success
status. Anyone who may write deployments could write such a record too, so a record counts
only through the workflow run it names: `.github/workflows/apply.yml`, run for a `push` to main of
this repository, on the record's commit, ended in success. A record whose run did not succeed is
passed over (the apply before it is the baseline: more is checked, never less); any other
record is refused, since only a hand could have written it. The caller checks that the commit
is on main's first-parent history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from generator.core.errors import ConfigError

ENVIRONMENT = "production"
TASK = "lapse-apply"
WORKFLOW = ".github/workflows/apply.yml"
BRANCH = "main"
FIX = (
    "mark that deployment inactive or delete it (DELETE /repos/{repository}/deployments/{id} "
    "after setting it inactive), then re-run the apply: only the apply job writes these records"
)


class JsonReader(Protocol):
    def read_json(self, path: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class AppliedRecord:
    """A deployment the apply job wrote, and the commit it applied."""

    deployment: int
    sha: str


def last_applied(reader: JsonReader, repository: str) -> AppliedRecord | None:
    """The newest record of a successful apply; None when no apply has recorded one yet."""
    listed = reader.read_json(
        f"/repos/{repository}/deployments?environment={ENVIRONMENT}&task={TASK}&per_page=100"
    )
    for deployment in _list(listed):
        record = _record(reader, repository, deployment)
        if record is not None:
            return record
    return None


def _record(
    reader: JsonReader, repository: str, deployment: dict[str, Any]
) -> AppliedRecord | None:
    number = deployment.get("id")
    if not isinstance(number, int):
        raise ConfigError(f"GitHub listed a deployment without an id: {deployment!r:.200}")
    statuses = _list(
        reader.read_json(f"/repos/{repository}/deployments/{number}/statuses?per_page=100")
    )
    # GitHub keeps statuses 90 days: with none left, the run alone speaks for the record.
    latest = max(statuses, key=lambda s: s.get("id") or 0, default=None)
    if latest is not None and latest.get("state") != "success":
        return None  # marked inactive, or never finished
    payload = deployment.get("payload")
    run_id = payload.get("run_id") if isinstance(payload, dict) else None
    if not isinstance(run_id, int) or isinstance(run_id, bool):
        raise refused(repository, number, "its payload names no workflow run (run_id)")
    run = reader.read_json(f"/repos/{repository}/actions/runs/{run_id}")
    if not isinstance(run, dict):
        raise refused(repository, number, f"it names run {run_id}, which GitHub does not know")
    if run.get("conclusion") != "success":
        return None
    wrong = run_problems(run, repository, str(deployment.get("sha") or ""))
    if wrong:
        raise refused(repository, number, f"its run {run_id} {'; '.join(wrong)}")
    return AppliedRecord(number, str(deployment["sha"]).lower())


def run_problems(run: dict[str, Any], repository: str, sha: str) -> list[str]:
    """How a workflow run differs from an apply of a push to main of `repository` at `sha`."""
    found = []
    path, _, ref = str(run.get("path") or "").partition("@")
    if path not in (WORKFLOW, f"{repository}/{WORKFLOW}"):
        found.append(f"is of {path or 'no workflow'}, not {WORKFLOW}")
    if ref not in ("", BRANCH, f"refs/heads/{BRANCH}"):
        found.append(f"ran {WORKFLOW} from {ref}, not {BRANCH}")
    if run.get("event") != "push":
        found.append(f"was started by {run.get('event')!r}, not a push")
    if run.get("head_branch") != BRANCH:
        found.append(f"ran on {run.get('head_branch')!r}, not {BRANCH}")
    for key in ("repository", "head_repository"):
        name = (run.get(key) or {}).get("full_name") if isinstance(run.get(key), dict) else None
        if str(name or "").lower() != repository.lower():
            found.append(f"{key.replace('_', ' ')} is {name!r}, not {repository}")
    head = str(run.get("head_sha") or "").lower()
    if not sha or head != sha.lower():
        found.append(f"ran on commit {head[:12] or 'none'}, the record names {sha[:12] or 'none'}")
    return found


def _list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def refused(repository: str, number: int, why: str) -> ConfigError:
    return ConfigError(
        f"deployment {number} of {ENVIRONMENT} records an apply, but {why}: "
        + FIX.format(repository=repository, id=number)
    )
