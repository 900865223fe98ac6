"""The few git questions lapse asks of the local checkout."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from generator.core.errors import ConfigError


def git(root: Path, *args: str) -> str:
    """Run git in `root`; its output, or a ConfigError naming the command and git's words."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ConfigError(f"cannot run git: {exc}") from None
    if done.returncode != 0:
        raise ConfigError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def changed_since(root: Path, ref: str) -> list[str]:
    """Files changed between `ref` and the working tree, plus new untracked files."""
    diff = git(root, "diff", "--name-only", "--no-renames", "--diff-filter=AMR", ref, "--")
    untracked = git(root, "ls-files", "--others", "--exclude-standard")
    return sorted({line for line in (diff + untracked).splitlines() if line})


def user_email(root: Path) -> str | None:
    try:
        return git(root, "config", "user.email").strip() or None
    except ConfigError:
        return None


def require_full_history(root: Path, why: str) -> None:
    """ConfigError unless the checkout has its whole history: a shallow one rewrites the past."""
    if git(root, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise ConfigError(
            f"the checkout is shallow, so {why}: check out the full history "
            "(actions/checkout with fetch-depth: 0)"
        )


def head_commit(root: Path) -> str:
    return git(root, "rev-parse", "--verify", "HEAD^{commit}").strip()


def on_first_parent_line(root: Path, sha: str) -> bool:
    """Whether `sha` is HEAD or a first parent of it, however far back: a commit main held."""
    return sha.lower() in git(root, "rev-list", "--first-parent", "HEAD").split()


def first_commit(root: Path) -> str:
    """The commit HEAD's first-parent line starts from."""
    return git(root, "rev-list", "--first-parent", "--max-parents=0", "HEAD").split()[-1]


def last_change(root: Path, path: str) -> str | None:
    """The newest commit on HEAD's first-parent line that changed `path`: on main, the merge
    (or squash) that brought its current content."""
    found = git(root, "log", "--first-parent", "-n", "1", "--format=%H", "HEAD", "--", path)
    return found.strip() or None


def first_parent_changes(root: Path, since: str, folder: str) -> list[tuple[str, tuple[str, ...]]]:
    """(commit, files it changed under `folder`) for each first-parent commit in since..HEAD,
    newest first. A merge counts with what it changed against main before it."""
    try:
        git(root, "merge-base", "--is-ancestor", since, "HEAD")
    except ConfigError:
        raise ConfigError(
            f"{since} is not a commit HEAD descends from: give the last commit applied from main"
        ) from None
    text = git(
        root,
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--no-renames",
        "--name-only",
        "--format=%x00%H",
        f"{since}..HEAD",
        "--",
        folder,
    )
    found: list[tuple[str, tuple[str, ...]]] = []
    for chunk in text.split("\x00")[1:]:
        sha, *files = [line for line in chunk.splitlines() if line]
        found.append((sha, tuple(files)))
    return found


@dataclass(frozen=True, slots=True)
class Addition:
    """The commit on the main line (first parents of HEAD) that first brought a path in."""

    sha: str
    at: datetime


def is_shallow(root: Path) -> bool:
    try:
        return git(root, "rev-parse", "--is-shallow-repository").strip() == "true"
    except ConfigError:
        return False


def mainline_additions(root: Path, folder: str) -> dict[str, Addition]:
    """Path under `folder` -> the first commit on HEAD's first-parent line that added it.

    On a main branch merged through pull requests that commit is the merge (or squash) commit,
    whatever the branch's own commits said. Its date is a committer date, which whoever makes
    a commit can set, so it is never taken as earlier than a commit before it on the main line.
    Outside git: an empty mapping.
    """
    try:
        line = git(root, "log", "--first-parent", "--format=%H %cI", "HEAD").split("\n")
        added = git(
            root,
            "log",
            "--first-parent",
            "--diff-merges=first-parent",
            "--reverse",
            "--no-renames",
            "--diff-filter=A",
            "--name-only",
            "--format=%x00%H",
            "HEAD",
            "--",
            f"{folder}/",
        )
    except ConfigError:
        return {}
    dates = _clamped_dates([row.split(" ", 1) for row in line if " " in row])
    found: dict[str, Addition] = {}
    for block in added.split("\x00")[1:]:
        sha, *paths = block.split("\n")
        at = dates.get(sha.strip())
        if at is None:
            continue
        for path in paths:
            if path.strip():
                found.setdefault(path.strip(), Addition(sha.strip(), at))
    return found


def _clamped_dates(newest_first: list[list[str]]) -> dict[str, datetime]:
    """Each commit's date, raised to the latest date of the commits before it on the line."""
    result: dict[str, datetime] = {}
    latest: datetime | None = None
    for sha, text in reversed(newest_first):
        at = datetime.fromisoformat(text.strip())
        latest = at if latest is None else max(latest, at)
        result[sha] = latest
    return result


def _quiet(root: Path, *args: str) -> str | None:
    """git's output, or None when git is absent, this is no repository, or the answer is no."""
    try:
        return git(root, *args).strip()
    except ConfigError:
        return None


# Where the default branch is looked for, in order; origin's HEAD names it when it is set.
_DEFAULT_REFS = (
    "refs/remotes/origin/HEAD",
    "refs/remotes/origin/main",
    "refs/remotes/origin/master",
    "refs/heads/main",
    "refs/heads/master",
)


def default_branch(root: Path) -> str | None:
    """The ref of the default branch: origin's HEAD, else origin/main|master, else main|master.

    One `git for-each-ref` answers for every candidate: a check runs it on every validate.
    """
    listed = _quiet(
        root,
        "for-each-ref",
        "--format=%(refname)%00%(symref:short)%00%(refname:short)%00%(objecttype)",
        *_DEFAULT_REFS,
    )
    found: dict[str, str] = {}
    for line in (listed or "").splitlines():
        name, target, short, kind = [*line.split("\0"), "", "", ""][:4]
        if kind == "commit":
            found[name] = target or short
    return next((found[ref] for ref in _DEFAULT_REFS if ref in found), None)


def current_branch(root: Path) -> str | None:
    """The checked-out branch's short name; None when HEAD is detached or there is no git."""
    return _quiet(root, "symbolic-ref", "-q", "--short", "HEAD") or None


def against_default(root: Path) -> tuple[str, str] | None:
    """(default branch, the merge base of HEAD with it): what a pull request from HEAD is
    compared with. None outside git or without a default branch."""
    branch = default_branch(root)
    if branch is None:
        return None
    base = _quiet(root, "merge-base", "HEAD", branch)
    return (branch, base) if base else None


def changed_against_default(root: Path) -> tuple[str, list[str]] | None:
    """(default branch, files changed since the merge base with it), as a pull request shows.

    None outside git or without a default branch: then only named files are held to the time
    rules, as before any branch exists.
    """
    found = against_default(root)
    return None if found is None else (found[0], changed_since(root, found[1]))


def merge_base_with_default(root: Path) -> str | None:
    """The commit a pull request from HEAD to the default branch is compared with."""
    found = against_default(root)
    return None if found is None else found[1]


def untracked_even_ignored(root: Path, *folders: str) -> list[str]:
    """Files under `folders` git does not track, those .gitignore hides included."""
    listed = git(root, "ls-files", "--others", "-z", "--", *folders)
    return sorted(path for path in listed.split("\0") if path)


def dirty_paths(root: Path) -> list[str]:
    """Paths with uncommitted changes, staged or not, and untracked files (ignored excluded)."""
    status = git(root, "status", "--porcelain", "-z", "--untracked-files=all", "--no-renames")
    return sorted({entry[3:] for entry in status.split("\0") if len(entry) > 3})


def committed_files(root: Path, folder: str) -> frozenset[str]:
    """Files under `folder` in HEAD; none outside a git checkout or before the first commit."""
    listed = _quiet(root, "ls-tree", "-r", "-z", "--name-only", "HEAD", "--", folder)
    return frozenset(path for path in (listed or "").split("\0") if path)


# OWNER/NAME in a remote's URL: https://HOST/O/N(.git), ssh://[USER@]HOST[:PORT]/O/N(.git) or
# USER@HOST:O/N(.git), as GitHub spells owners (no leading hyphen) and names.
_REMOTE = re.compile(
    r"(?:(?:https?|ssh|git)://(?:[^@/]+@)?[^/@]+/|[^@/:\s]+@[^/:\s]+:)"
    r"(?P<owner>[A-Za-z0-9][A-Za-z0-9-]{0,38})/(?P<name>[A-Za-z0-9._-]{1,100}?)(?:\.git)?/?"
)


def origin_repository(root: Path) -> str | None:
    """OWNER/NAME of the remote `origin`; None without one, or when its URL names no repository."""
    url = _quiet(root, "remote", "get-url", "origin")
    return repository_of_url(url) if url else None


def repository_of_url(url: str) -> str | None:
    found = _REMOTE.fullmatch(url.strip())
    if found is None or found["name"] in (".", ".."):
        return None
    return f"{found['owner']}/{found['name']}"
