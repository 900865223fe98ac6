"""A thin adapter over PyGithub: the few GitHub operations lapse needs, each idempotent.

PyGithub's retry and throttling are off: `call_with_retry` decides what is transient, and
`rate_limits.RateLimitWaits` waits out rate limits as GitHub documents them (tests inject
`sleep` and `clock`). Each retried unit is a whole read-then-write step (find the issue, else
create it), so retrying a write that timed out after it succeeded finds the result instead.
Objects are created lazily, so no request leaves this module except inside a retried unit;
every unit returns plain values, not PyGithub objects that would fetch on attribute access.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from github import Auth, Github
from github.GitCommit import GitCommit
from github.GithubException import GithubException, UnknownObjectException
from github.GithubObject import NotSet
from github.GitRef import GitRef
from github.GitTree import GitTree
from github.InputGitTreeElement import InputGitTreeElement
from github.Issue import Issue
from github.IssueComment import IssueComment
from github.PullRequest import PullRequest

from generator.core.errors import ConfigError, ServiceError
from generator.core.retry import call_with_retry
from generator.github.rate_limits import RateLimitWaits
from generator.github.records import (
    DEFAULT_BASE_URL,
    FILE_MODE,
    HINTS,
    ChangedFile,
    FileUnreadable,
    PullInfo,
    ReviewInfo,
    changed_file,
    hidden_marker,
    is_pull,
    is_transient,
    marked,
    markers_in,
    once,
    pull_info,
    review_info,
    status_of,
    with_marker,
)

T = TypeVar("T")


class GitHubClient:
    """One repository on GitHub, as lapse uses it."""

    def __init__(
        self,
        repo_full_name: str,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        login: str | None = None,
    ) -> None:
        owner, _, name = repo_full_name.partition("/")
        self._login = login  # only issues lapse's own login opened count as already filed
        if not owner or not name or "/" in name:
            raise ConfigError(f"GitHub repository must be OWNER/NAME, got {repo_full_name!r}")
        self._full_name = repo_full_name
        self._owner = owner
        self._waits = RateLimitWaits(sleep=sleep, clock=clock)  # one budget for the whole run
        self._retry: dict[str, Any] = {"is_transient": is_transient, "sleep": sleep}
        self._teams: dict[tuple[str, str], frozenset[str]] = {}
        self._issues: dict[str, dict[str, int]] = {}  # see _own_issues
        self._github = Github(
            auth=Auth.Token(token),
            base_url=base_url,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
            per_page=100,  # GitHub's maximum: fewer requests against the rate limit
            lazy=True,
        )
        self._repo = self._github.get_repo(repo_full_name)

    # --- reading -------------------------------------------------------------------------

    def pulls_for_commit(self, sha: str) -> list[PullInfo]:
        return self._call(
            f"GET /repos/{self._full_name}/commits/{sha}/pulls (pull requests of commit {sha})",
            lambda: [pull_info(pull) for pull in once(self._repo.get_commit(sha).get_pulls())],
        )

    def open_pulls(self) -> list[PullInfo]:
        return self._call(
            f"GET /repos/{self._full_name}/pulls?state=open (open pull requests)",
            lambda: [pull_info(pull) for pull in once(self._repo.get_pulls(state="open"))],
        )

    def pull_files(self, number: int) -> list[ChangedFile]:
        return self._call(
            f"GET /repos/{self._full_name}/pulls/{number}/files (files changed by #{number})",
            lambda: [changed_file(item) for item in once(self._repo.get_pull(number).get_files())],
        )

    def reviews(self, number: int) -> list[ReviewInfo]:
        return self._call(
            f"GET /repos/{self._full_name}/pulls/{number}/reviews (reviews of #{number})",
            lambda: [review_info(r) for r in once(self._repo.get_pull(number).get_reviews())],
        )

    def team_members(self, org: str, team_slug: str) -> frozenset[str]:
        """Logins of the team's members (child teams included), fetched once per run."""
        key = (org.lower(), team_slug.lower())
        if key not in self._teams:
            self._teams[key] = self._call(
                f"GET /orgs/{org}/teams/{team_slug}/members (members of @{org}/{team_slug})",
                lambda: frozenset(
                    user.login
                    for user in once(
                        self._github.get_organization(org).get_team_by_slug(team_slug).get_members()
                    )
                ),
            )
        return self._teams[key]

    def file_text(self, path: str, ref: str) -> str:
        """The UTF-8 text of `path` at `ref`; FileUnreadable when it is not such a file."""
        what = f"GET /repos/{self._full_name}/contents/{path}?ref={ref} (reading {path})"
        try:
            found = self._call(what, lambda: self._repo.get_contents(path, ref=ref))
        except ServiceError as error:
            if status_of(error.__cause__) == 404:
                raise FileUnreadable(f"{path} does not exist at {ref}") from error.__cause__
            raise
        if isinstance(found, list) or found.type != "file" or found.encoding != "base64":
            raise FileUnreadable(f"{path} at {ref} is not a regular file GitHub returns inline")
        try:
            return found.decoded_content.decode("utf-8")
        except (UnicodeDecodeError, ValueError) as error:
            raise FileUnreadable(f"{path} at {ref} is not UTF-8 text") from error

    def read_json(self, path: str, *, accept: str | None = None) -> Any:
        """GET `path` (from the API root, e.g. `/repos/o/r/labels/x`); None when GitHub says 404.

        For the settings PyGithub has no object for (rulesets, CODEOWNERS errors, environments'
        branch policies); any other failure ends in a ServiceError after retries.
        """
        headers = {"Accept": accept} if accept else None

        def get() -> Any:
            try:
                return self._github.requester.requestJsonAndCheck("GET", path, headers=headers)[1]
            except GithubException as error:
                # "Not Found", "Branch not protected", ...: every 404 means there is none.
                if error.status == 404:
                    return None
                raise

        return self._call(f"GET {path}", get)

    # --- writing -------------------------------------------------------------------------

    def commit_changes(
        self,
        branch: str,
        base_branch: str,
        files: Mapping[str, bytes | None],
        message: str,
        *,
        accumulate: bool = False,
    ) -> str:
        """Make `branch` hold `base_branch` plus `files` (None deletes a path) in ONE commit.

        Deletions and their replacements travel in the same tree, so nothing is removed before
        what replaces it exists. When `branch` already holds exactly that tree, no commit is
        made and its head is returned. With `accumulate`, while a pull request from `branch`
        into `base_branch` is open, the commit goes on top of `branch` instead, keeping what
        earlier runs put there until it is merged.
        """
        if not files:
            raise ValueError("commit_changes needs at least one file to add or delete")
        base = self._call(f"reading branch {base_branch}", lambda: self._tip(base_branch))
        if base is None:
            raise ServiceError(f"GitHub: branch {base_branch} does not exist in {self._full_name}")
        current = self._call(f"reading branch {branch}", lambda: self._tip(branch))
        if accumulate and current is not None:
            still_open = self._call(
                f"listing open pull requests from {branch}",
                lambda: self._open_pull(branch, base_branch) is not None,
            )
            if still_open:
                base = current
        tree = self._tree(base, files)
        if current is not None and current.tree.sha == tree.sha:
            return current.sha
        commit = self._call(
            f"POST /repos/{self._full_name}/git/commits (commit for {branch})",
            lambda: self._repo.create_git_commit(message, tree, [base]).sha,
        )
        self._call(
            f"setting refs/heads/{branch} in {self._full_name}",
            lambda: self._move_branch(branch, commit),
        )
        return commit

    def ensure_pull_request(
        self, branch: str, base: str, title: str, body: str, labels: Sequence[str]
    ) -> PullInfo:
        """The one open pull request from `branch` into `base`, with this title, body and labels."""
        return self._call(
            f"ensuring one pull request {branch} -> {base} in {self._full_name}",
            lambda: self._ensure_pull(branch, base, title, body, labels),
        )

    def ensure_issue(
        self,
        key: str,
        title: str,
        body: str,
        labels: Sequence[str],
        assignees: Sequence[str] = (),
    ) -> int:
        """The number of the one issue for `key`, opened unless one exists (open or closed).

        Only an issue lapse's own identity opened counts: anyone can open one with the marker
        and label, and must not silence an incident that way. The first label narrows the
        search (keep it stable); `assignees` are set on opening."""
        self._own_login()
        return self._call(
            f"ensuring one issue for {key} in {self._full_name}",
            lambda: self._ensure_issue(hidden_marker(key), title, body, labels, assignees),
        )

    def issue_comments(self, number: int) -> list[tuple[str, str]]:
        """(author login, body) of every comment on issue #`number`, oldest first."""
        return self._call(
            f"GET /repos/{self._full_name}/issues/{number}/comments",
            lambda: [
                (c.user.login if c.user else "", c.body or "")
                for c in once(self._repo.get_issue(number).get_comments())
            ],
        )

    def upsert_comment(self, number: int, marker: str, body: str) -> None:
        """Keep one comment for `marker` (a short key) on issue or pull #`number`, up to date."""
        text = with_marker(body, hidden_marker(marker))
        self._call(
            f"updating the {marker} comment on #{number} in {self._full_name}",
            lambda: self._upsert_comment(number, hidden_marker(marker), text),
        )

    def comment_once(self, number: int, marker: str, body: str, *, own: bool = False) -> bool:
        """Comment on #`number` unless a comment for `marker` exists (with `own`, one by lapse's
        own identity); True when it commented."""
        by = self._own_login() if own else None
        return self._call(
            f"commenting {marker} once on #{number} in {self._full_name}",
            lambda: self._comment_once(number, hidden_marker(marker), body, by),
        )

    # --- retried units -------------------------------------------------------------------

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call_with_retry(
                partial(self._waits.run, call), what=f"GitHub {what}", **self._retry
            )
        except ServiceError as error:
            if (hint := HINTS.get(status_of(error.__cause__) or 0)) is None:
                raise
            raise ServiceError(f"{error}; {hint}") from error.__cause__

    def _ref(self, branch: str) -> GitRef | None:
        try:
            ref = self._repo.get_git_ref(f"heads/{branch}")
            ref.complete()
        except UnknownObjectException:
            return None
        return ref

    def _tip(self, branch: str) -> GitCommit | None:
        ref = self._ref(branch)
        return None if ref is None else self._repo.get_git_commit(ref.object.sha)

    def _tree(self, base: GitCommit, files: Mapping[str, bytes | None]) -> GitTree:
        # Trees are content-addressed: the same files on the same base give the same sha, which
        # is how a re-run recognises that the branch already holds this change.
        entries = [self._tree_entry(path, content) for path, content in sorted(files.items())]
        return self._call(
            f"POST /repos/{self._full_name}/git/trees (tree on {base.sha[:12]})",
            lambda: self._repo.create_git_tree(entries, base_tree=base.tree),
        )

    def _tree_entry(self, path: str, content: bytes | None) -> InputGitTreeElement:
        # A tree entry whose sha is None deletes the path from the base tree.
        if content is None:
            return InputGitTreeElement(path, FILE_MODE, "blob", sha=None)
        blob = self._call(
            f"POST /repos/{self._full_name}/git/blobs (content of {path})",
            lambda: (
                self._repo.create_git_blob(base64.b64encode(content).decode("ascii"), "base64").sha
            ),
        )
        return InputGitTreeElement(path, FILE_MODE, "blob", sha=blob)

    def _move_branch(self, branch: str, sha: str) -> None:
        # The ref is read again inside the retried unit: a create that timed out after it
        # succeeded is then seen as existing and updated, instead of failing as a duplicate.
        ref = self._ref(branch)
        if ref is None:
            self._repo.create_git_ref(f"refs/heads/{branch}", sha)
        elif ref.object.sha != sha:
            ref.edit(sha, force=True)

    def _open_pull(self, branch: str, base: str) -> PullRequest | None:
        listing = self._repo.get_pulls(state="open", head=f"{self._owner}:{branch}", base=base)
        return next(iter(listing), None)

    def _ensure_pull(
        self, branch: str, base: str, title: str, body: str, labels: Sequence[str]
    ) -> PullInfo:
        pull = self._open_pull(branch, base)
        if pull is None:
            pull = self._repo.create_pull(base=base, head=branch, title=title, body=body)
        missing = [name for name in labels if name not in {label.name for label in pull.labels}]
        if (pull.title, pull.body or "") != (title, body):
            pull.edit(title=title, body=body)
        if missing:  # as an object: the only body GitHub's OpenAPI description declares
            post = self._github.requester.requestJsonAndCheck
            post("POST", f"{pull.issue_url}/labels", input={"labels": missing})
        return pull_info(pull)

    def _own_login(self) -> str:
        """The login of the token's identity (GET /user), unless the constructor was told it."""
        if self._login is None:
            try:
                login = self._call("GET /user", lambda: self._github.get_user().login)
            except ServiceError as exc:
                raise ConfigError(
                    f"cannot tell which GitHub identity lapse acts as ({exc}): set "
                    "LAPSE_GITHUB_LOGIN to the login that opens lapse's issues"
                ) from None
            self._login = login
        return self._login

    def _own_issues(self, label: str) -> dict[str, int]:
        """Marker -> number of lapse's own issues with `label` (newest first), listed once."""
        if label not in self._issues:
            found: dict[str, int] = {}
            own, labelled = (self._login or "").lower(), [label] if label else NotSet
            for issue in once(self._repo.get_issues(state="all", labels=labelled)):
                if not is_pull(issue) and issue.user and issue.user.login.lower() == own:
                    for marker in markers_in(issue.body or ""):
                        found.setdefault(marker, issue.number)
            self._issues[label] = found
        return self._issues[label]

    def _ensure_issue(
        self, marker: str, title: str, body: str, labels: Sequence[str], assignees: Sequence[str]
    ) -> int:
        label = labels[0] if labels else ""
        known = self._own_issues(label)
        if marker in known:
            return known[marker]
        try:
            made = self._repo.create_issue(
                title,
                body=with_marker(body, marker),
                labels=list(labels),
                assignees=list(assignees) if assignees else NotSet,
            )
        except BaseException:
            self._issues.pop(label, None)  # it may have opened anyway: a retry lists again
            raise
        known[marker] = made.number
        return made.number

    def _find_comment(self, issue: Issue, marker: str, by: str | None) -> IssueComment | None:
        return next((c for c in once(issue.get_comments()) if marked(c, marker, by)), None)

    def _upsert_comment(self, number: int, marker: str, text: str) -> None:
        issue = self._repo.get_issue(number)
        existing = self._find_comment(issue, marker, None)
        if existing is None:
            issue.create_comment(text)
        elif existing.body != text:
            existing.edit(text)

    def _comment_once(self, number: int, marker: str, body: str, by: str | None) -> bool:
        issue = self._repo.get_issue(number)
        if self._find_comment(issue, marker, by) is not None:
            return False
        issue.create_comment(with_marker(body, marker))
        return True
