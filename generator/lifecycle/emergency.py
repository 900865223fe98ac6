"""The emergency requests of a checkout, and what the approval gates need to know of them.

History is what is in the repository: emergency files under requests/ and archive/, as merged
(they are read whatever today's policy says of them, like the review reads them).
"""

from __future__ import annotations

from generator.checks.emergency_history import repeat_emergencies
from generator.checks.validate import read_requests
from generator.core.model import Policy, Problem, Request
from generator.core.repo import Repo
from generator.core.request_paths import parse_request_path


def emergency_requests(repo: Repo) -> list[Request]:
    """Every readable emergency request under requests/ and archive/."""
    return emergency_history(repo)[0]


def emergency_history(repo: Repo) -> tuple[list[Request], list[Problem]]:
    """Every readable emergency request under requests/ and archive/, and a located problem
    for each emergency file that does not read as one: the counts cannot vouch for it."""
    files = [*repo.request_files(), *repo.archive_files()]
    chosen = [path for path in files if _is_emergency(repo.relative(path))]
    found, problems = read_requests(repo, chosen)
    return [request for request in found if request.emergency], problems


def repeat_paths(policy: Policy, history: list[Request]) -> dict[str, str]:
    """Emergency request path under requests/ -> the same person's emergency just before it,
    for each that needs the target's own approvers (`normal_approval_within`)."""
    current = [r for r in history if r.path.startswith("requests/")]
    return {
        path: earlier.path for path, earlier in repeat_emergencies(current, history, policy).items()
    }


def _is_emergency(path: str) -> bool:
    where = parse_request_path(path)
    return where is not None and where.emergency
