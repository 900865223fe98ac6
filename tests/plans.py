"""Plans in `terraform show -json` form, a git history of merged pull requests, and a GitHub
that answers from that history, for testing `lapse verify-plan`.

The plan JSON has the real format's keys (format_version, resource_changes[] with address,
module_address, mode, type, name, provider_name, change{actions, before, after, ...}); GitHub
is served at the HTTP layer in its own JSON shapes, reading file contents from the git history.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import responses

from generator.terraform.render import Block
from tests.support import answers_may_go_unused

DATA = Path(__file__).resolve().parent / "data" / "github"
API = "https://api.github.com:443"
REPO_API = f"{API}/repos/example-org/access"
GIT = ["git", "-c", "user.name=Lapse Test", "-c", "user.email=test@example.com"]
GOOGLE = "registry.terraform.io/hashicorp/google"


def shape(fixture: str, /, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{fixture}.json").read_text())
    data.update(changes)
    return data


def user(login: str) -> dict[str, Any]:
    return shape("user", login=login, url=f"https://api.github.com/users/{login}")


# --- plans ------------------------------------------------------------------------------


def block_values(block: Block) -> dict[str, Any]:
    """The planned attribute values of a rendered block, as Terraform writes them."""
    values: dict[str, Any] = dict(block.arguments)
    values["condition"] = [
        {"title": block.title, "description": block.description, "expression": block.expression}
    ]
    values["id"] = None
    values["etag"] = None
    return values


def change(
    *,
    type_: str,
    name: str,
    actions: tuple[str, ...],
    after: dict[str, Any] | None,
    before: dict[str, Any] | None = None,
    module: str | None = "module.grants",
    mode: str = "managed",
) -> dict[str, Any]:
    kind = "data." if mode == "data" else ""
    prefix = f"{module}." if module else ""
    item: dict[str, Any] = {
        "address": f"{prefix}{kind}{type_}.{name}",
        "mode": mode,
        "type": type_,
        "name": name,
        "provider_name": GOOGLE,
        "change": {
            "actions": list(actions),
            "before": before,
            "after": after,
            "after_unknown": {"id": True, "etag": True} if after else {},
            "before_sensitive": {} if before else False,
            "after_sensitive": {} if after else False,
        },
    }
    if module:
        item["module_address"] = module
    return item


def binding(
    block: Block, actions: tuple[str, ...] = ("create",), **overrides: Any
) -> dict[str, Any]:
    after = {**block_values(block), **overrides}
    before = block_values(block) if actions != ("create",) else None
    if actions == ("delete",):
        after, before = None, block_values(block)
    return change(type_=block.type, name=block.name, actions=actions, after=after, before=before)


def plan(*changes: dict[str, Any]) -> str:
    return json.dumps(
        {
            "format_version": "1.2",
            "terraform_version": "1.11.4",
            "planned_values": {"root_module": {}},
            "resource_changes": list(changes),
            "configuration": {"root_module": {}},
            "timestamp": "2026-11-30T09:00:00Z",
            "applyable": bool(changes),
            "complete": True,
            "errored": False,
        },
        indent=2,
    )


# --- a history of merged pull requests ------------------------------------------------------


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        [*GIT, *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class Pull:
    number: int
    author: str
    head: str
    merge: str
    files: list[str]
    reviews: list[dict[str, Any]] = field(default_factory=list)

    def approve(self, login: str, commit: str | None = None, review_id: int = 0) -> None:
        self.reviews.append(
            shape(
                "review",
                id=review_id or 2406019900 + len(self.reviews),
                user=user(login),
                state="APPROVED",
                commit_id=commit or self.head,
                submitted_at=f"2026-11-30T08:{40 + len(self.reviews):02d}:00Z",
            )
        )


@dataclass
class History:
    """A main branch whose commits arrive through merged pull requests."""

    root: Path
    pulls: list[Pull] = field(default_factory=list)

    def write(self, files: dict[str, str | None]) -> None:
        for path, text in files.items():
            target = self.root / path
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def branch(self, name: str, *commits: dict[str, str | None]) -> list[str]:
        """A branch off main with one commit per mapping; the commits' shas."""
        git(self.root, "checkout", "-qb", name, "main")
        shas = []
        for number, files in enumerate(commits):
            self.write(files)
            git(self.root, "add", "-A")
            git(self.root, "commit", "-qm", f"{name} {number}")
            shas.append(git(self.root, "rev-parse", "HEAD"))
        git(self.root, "checkout", "-q", "main")
        return shas

    def merge(self, number: int, name: str, author: str, files: list[str]) -> Pull:
        head = git(self.root, "rev-parse", name)
        git(self.root, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{number}", name)
        pull = Pull(number, author, head, git(self.root, "rev-parse", "HEAD"), files)
        self.pulls.append(pull)
        return pull

    def pull_request(
        self, number: int, author: str, *commits: dict[str, str | None]
    ) -> tuple[Pull, list[str]]:
        """Open, commit and merge a pull request; the pull and its commits' shas."""
        name = f"pr-{number}"
        shas = self.branch(name, *commits)
        paths = sorted({path for files in commits for path in files})
        return self.merge(number, name, author, paths), shas


def start_history(root: Path) -> History:
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "lapse repository")
    return History(root)


# --- GitHub, answering from the history -----------------------------------------------------


def pull_json(pull: Pull) -> dict[str, Any]:
    data = shape(
        "pull",
        number=pull.number,
        user=user(pull.author),
        merge_commit_sha=pull.merge,
        url=f"https://api.github.com/repos/example-org/access/pulls/{pull.number}",
        html_url=f"https://github.com/example-org/access/pull/{pull.number}",
    )
    data["head"] = {**data["head"], "sha": pull.head}
    return data


def serve_history(
    http: responses.RequestsMock, history: History, teams: dict[str, list[str]]
) -> None:
    """Answer the reads verification makes: pulls of a commit, files, reviews, contents, teams."""
    answers_may_go_unused(http, "a fake GitHub history serving every read a verification may make")

    def reply(status: int, data: Any) -> tuple[int, dict[str, str], str]:
        return status, {"Content-Type": "application/json"}, json.dumps(data)

    def pulls_of(request: Any) -> tuple[int, dict[str, str], str]:
        sha = request.path_url.split("/commits/", 1)[1].split("/")[0]
        found = [p for p in history.pulls if sha in (p.merge, p.head)]
        return reply(200, [pull_json(p) for p in found])

    def by_number(request: Any) -> Pull:
        number = int(request.path_url.split("/pulls/", 1)[1].split("/")[0])
        return next(p for p in history.pulls if p.number == number)

    def files(request: Any) -> tuple[int, dict[str, str], str]:
        listed = by_number(request).files
        return reply(200, [shape("pull_file", filename=f, status="modified") for f in listed])

    def reviews(request: Any) -> tuple[int, dict[str, str], str]:
        return reply(200, by_number(request).reviews)

    def contents(request: Any) -> tuple[int, dict[str, str], str]:
        path, _, query = request.path_url.split("/contents/", 1)[1].partition("?ref=")
        try:
            blob = subprocess.run(
                ["git", "show", f"{query}:{path}"],
                cwd=history.root,
                check=True,
                capture_output=True,
            ).stdout
        except subprocess.CalledProcessError:
            return reply(404, shape("error_404"))
        encoded = base64.b64encode(blob).decode()
        return reply(
            200, shape("content_file", path=path, name=path.rsplit("/", 1)[1], content=encoded)
        )

    def members(request: Any) -> tuple[int, dict[str, str], str]:
        team = request.path_url.split("/teams/", 1)[1].split("/")[0]
        return reply(200, [user(login) for login in teams.get(team, [])])

    escaped = re.escape(REPO_API)
    http.add_callback(responses.GET, re.compile(rf"{escaped}/commits/\w+/pulls.*"), pulls_of)
    http.add_callback(responses.GET, re.compile(rf"{escaped}/pulls/\d+/files.*"), files)
    http.add_callback(responses.GET, re.compile(rf"{escaped}/pulls/\d+/reviews.*"), reviews)
    http.add_callback(responses.GET, re.compile(rf"{escaped}/contents/.*"), contents)
    http.add_callback(
        responses.GET,
        re.compile(rf"{re.escape(API)}/orgs/example-org/teams/[^/]+/members.*"),
        members,
    )
