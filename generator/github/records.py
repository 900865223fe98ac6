"""What lapse reads from GitHub, as plain values, and how it reads GitHub's answers.

In: PyGithub objects and exceptions. Out: frozen values (pull requests, changed files, reviews),
and the rules the client applies to every call: which failures are transient, what to tell the
person running lapse, and when a paginated listing goes round in circles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import requests
from github.File import File
from github.GithubException import GithubException
from github.Issue import Issue
from github.IssueComment import IssueComment
from github.PullRequest import PullRequest
from github.PullRequestReview import PullRequestReview

from generator.core.errors import ServiceError
from generator.core.retry import cut_short

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.github.com"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
FILE_MODE = "100644"

# What the person running lapse can do about a permanent failure, by HTTP status.
HINTS = {
    401: "the token was refused: check that it is set and has not expired",
    403: (
        "the token lacks permission for this call: it needs write access to contents, pull "
        "requests and issues, and read access to organization members for team lookups"
    ),
    404: "not found, or not visible to this token: check the repository, branch or team name",
    422: "GitHub rejected the request as invalid",
}


@dataclass(frozen=True, slots=True)
class PullInfo:
    number: int
    author: str
    merged: bool
    merge_commit_sha: str | None
    head_sha: str
    base_ref: str
    html_url: str
    merged_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChangedFile:
    filename: str
    status: str  # added, removed, modified, renamed, copied, changed, unchanged
    previous_filename: str | None


@dataclass(frozen=True, slots=True)
class ReviewInfo:
    id: int
    user_login: str | None  # None when the reviewer's account was deleted
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
    commit_id: str | None
    submitted_at: datetime | None


class FileUnreadable(ServiceError):
    """A file is missing at a ref, is not a regular file, or is not UTF-8 text."""


class PaginationLoop(ServiceError):
    """GitHub's pages handed back an item already seen: following them would never end."""


def once(items: Iterable[T]) -> Iterator[T]:
    """`items` from a paginated listing, refusing to go round in circles.

    Two distinct objects never arrive with identical data, so a repeat means a page came back
    again. The raw data is what the listing delivered; reading it fetches nothing more.
    """
    seen: set[str] = set()
    for item in items:
        mark = json.dumps(getattr(item, "_rawData", None), sort_keys=True, default=str)
        if mark in seen:
            raise PaginationLoop("a page of the listing came back again; its pages loop")
        seen.add(mark)
        yield item


def hidden_marker(key: str) -> str:
    """The invisible HTML comment that identifies lapse's own issue or comment for `key`."""
    return f"<!-- lapse:{key} -->"


def markers_in(body: str) -> list[str]:
    """Every `hidden_marker` a body holds, in order."""
    return _MARKER.findall(body)


_MARKER = re.compile(r"<!-- lapse:.*? -->")


def is_transient(error: BaseException) -> bool:
    """Whether trying the same call again later may succeed."""
    if isinstance(error, requests.ConnectionError | requests.Timeout) or cut_short(error):
        return True
    if not isinstance(error, GithubException):
        return False
    # Rate limits (403 or 429 with GitHub's signs) never get here: rate_limits waits them out.
    return error.status in RETRYABLE_STATUS


def status_of(error: BaseException | None) -> int | None:
    return error.status if isinstance(error, GithubException) else None


def marked(comment: IssueComment, marker: str, by: str | None) -> bool:
    """`comment` holds `marker` and, when `by` is named, is by that login: anyone can write one."""
    login = comment.user.login.lower() if comment.user else ""
    return marker in (comment.body or "") and (by is None or login == by.lower())


def with_marker(body: str, marker: str) -> str:
    return body if marker in body else f"{body}\n\n{marker}"


def pull_info(pull: PullRequest) -> PullInfo:
    # The commit->pulls listing returns the "simple" pull request shape without `merged`;
    # `merged_at` is present in every shape and is set exactly when the pull was merged.
    return PullInfo(
        number=pull.number,
        author=pull.user.login,
        merged=pull.merged_at is not None,
        merge_commit_sha=pull.merge_commit_sha,
        head_sha=pull.head.sha,
        base_ref=pull.base.ref,
        html_url=pull.html_url,
        merged_at=pull.merged_at,
    )


def changed_file(item: File) -> ChangedFile:
    return ChangedFile(item.filename, item.status, item.previous_filename or None)


def review_info(review: PullRequestReview) -> ReviewInfo:
    return ReviewInfo(
        id=review.id,
        user_login=review.user.login if review.user else None,
        state=review.state,
        commit_id=review.commit_id,
        submitted_at=review.submitted_at,
    )


def is_pull(issue: Issue) -> bool:
    # The issues listing includes pull requests; `html_url` tells them apart without the extra
    # request that reading `issue.pull_request` would make when the key is absent.
    return "/pull/" in issue.html_url
