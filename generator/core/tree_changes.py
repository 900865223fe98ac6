"""What changed under some top-level folders, file by file, as git sees it.

A change is judged by what git would commit: each side's mode (a regular file, an executable,
a symlink, a submodule) and its bytes. Folders are matched whatever their case (`Archive/` is
`archive/` on a checkout that ignores case), and renames are never paired up by git: a move is
a removal and an addition, each judged on its own.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.core.errors import ConfigError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's tree with no entries
SYMLINK = "120000"
GITLINK = "160000"
REGULAR = frozenset({"100644", "100755"})
_ABSENT = frozenset({"000000"})
_NO_BLOB = "0" * 40


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a change: git's mode, and the blob, or "" when the bytes are on disk."""

    mode: str
    blob: str = ""


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str
    before: Side | None
    after: Side | None

    @property
    def top(self) -> str:
        """The top-level folder, case folded."""
        return _top(self.path)


def _pathspecs(folders: Iterable[str]) -> list[str]:
    return [f":(icase){folder}" for folder in folders]


def _parse_raw(text: str, *, on_disk: bool) -> list[FileChange]:
    """`git diff --raw -z` output: `:old new oldsha newsha status` NUL path NUL, repeated."""
    fields = text.split("\0")
    found: list[FileChange] = []
    for header, path in zip(fields[0::2], fields[1::2], strict=False):
        if not header.startswith(":"):
            continue
        old_mode, new_mode, old_sha, new_sha, _status = header[1:].split(" ")
        before = None if old_mode in _ABSENT else Side(old_mode, old_sha)
        after = None
        if new_mode not in _ABSENT:
            after = Side(new_mode, "" if on_disk or new_sha == _NO_BLOB else new_sha)
        found.append(FileChange(path, before, after))
    return found


def commit_changes(
    root: Path, commit: str, folders: Iterable[str], *, parent: str | None = None
) -> list[FileChange]:
    """What `commit` changed under `folders` against `parent`, by default its first parent
    (a root commit: everything)."""
    if parent is None:
        parents = git(root, "rev-list", "--parents", "-n", "1", commit).split()
        parent = parents[1] if len(parents) > 1 else EMPTY_TREE
    text = git(
        root,
        "diff-tree",
        "-r",
        "-z",
        "--raw",
        "--no-renames",
        "--no-abbrev",
        parent,
        commit,
        "--",
        *_pathspecs(folders),
    )
    return _parse_raw(text, on_disk=False)


def worktree_changes(root: Path, base: str, folders: Iterable[str]) -> list[FileChange]:
    """What the files on disk under `folders` change against commit `base`, untracked and
    ignored files included: what is on disk is what lapse reads."""
    specs = _pathspecs(list(folders))
    tracked = git(root, "diff", "--raw", "-z", "--no-renames", "--no-abbrev", base, "--", *specs)
    changes = _parse_raw(tracked, on_disk=True)
    untracked = git(root, "ls-files", "--others", "-z", "--", *specs)
    for path in sorted(p for p in untracked.split("\0") if p):
        mode = disk_mode(root / path)
        if mode is not None:
            changes.append(FileChange(path, None, Side(mode)))
    return changes


def disk_mode(file: Path) -> str | None:
    """The mode git would record for `file`; None when it is gone."""
    try:
        found = os.lstat(file)
    except OSError:
        return None
    if stat.S_ISLNK(found.st_mode):
        return SYMLINK
    return "100755" if found.st_mode & stat.S_IXUSR else "100644"


def read_side(root: Path, path: str, side: Side) -> bytes:
    """The bytes of one side: the blob from git, or the file (a symlink: its target) on disk;
    a submodule's are the commit it names."""
    if side.mode == GITLINK:
        return side.blob.encode()
    if side.blob:
        return git_bytes(root, "cat-file", "blob", side.blob)
    file = root / path
    try:
        if side.mode == SYMLINK:
            return os.fsencode(os.readlink(file))
        return file.read_bytes()
    except OSError:
        return b""


def git_bytes(root: Path, *args: str) -> bytes:
    """git's output as bytes (a blob need not be text); ConfigError with git's words."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    except OSError as exc:
        raise ConfigError(f"cannot run git: {exc}") from None
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip()
        raise ConfigError(f"git {' '.join(args)} failed: {why}")
    return done.stdout


def git(root: Path, *args: str) -> str:
    """git's output as text; a path that is not UTF-8 keeps its other characters."""
    return git_bytes(root, *args).decode("utf-8", errors="replace")


def tree_paths(root: Path, commit: str, folders: Iterable[str]) -> frozenset[str]:
    """Every file path under `folders` in `commit`."""
    wanted = {folder.casefold() for folder in folders}
    listed = git(root, "ls-tree", "-r", "-z", "--name-only", commit)
    return frozenset(p for p in listed.split("\0") if p and _top(p) in wanted)


def _top(path: str) -> str:
    return path.split("/", 1)[0].casefold()


def commits_between(root: Path, base: str, *, first_parent: bool) -> list[str]:
    """Commits in base..HEAD, oldest first: the main line's (`first_parent`), or every commit
    that is not a merge (a branch's own)."""
    line = ["--first-parent"] if first_parent else ["--no-merges"]
    listed = git(root, "rev-list", "--reverse", *line, f"{base}..HEAD")
    return listed.split()
