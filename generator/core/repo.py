"""Where things live in a lapse repository, and reading them."""

from __future__ import annotations

import os
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path

from generator.core.errors import ConfigError
from generator.core.request_paths import EMERGENCY_FOLDER, is_month


@dataclass(frozen=True, slots=True)
class Repo:
    """A checkout of a lapse repository. All paths in problems are relative to `root`."""

    root: Path

    @classmethod
    def at(cls, root: Path) -> Repo:
        root = root.resolve()
        if not (root / "policy" / "policy.yaml").is_file():
            raise ConfigError(
                f"{root} is not a lapse repository: policy/policy.yaml is missing",
            )
        return cls(root)

    @property
    def policy(self) -> Path:
        return self.root / "policy" / "policy.yaml"

    @property
    def roles_lock(self) -> Path:
        return self.root / "policy" / "roles.lock.json"

    @property
    def requests(self) -> Path:
        return self.root / "requests"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def terraform(self) -> Path:
        return self.root / "terraform"

    @property
    def grants(self) -> Path:
        return self.root / "terraform" / "grants"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def schema(self, name: str) -> Path:
        return self.root / "schemas" / f"{name}.schema.json"

    def relative(self, path: Path) -> str:
        # Files listed from the repository are under `root` already; only others are resolved
        # (resolving costs a system call per path component).
        text, root = str(path), str(self.root)
        if text.startswith(root + os.sep) and ".." not in path.parts:
            return text[len(root) + 1 :].replace(os.sep, "/")
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def relative_name(self, name: str) -> str:
        """`relative` for a file name as `file_names` lists it, without making a Path of it
        (thousands of them cost more than the rest of what is done with a name)."""
        root = str(self.root) + os.sep
        if name.startswith(root) and f"{os.sep}..{os.sep}" not in name:
            return name[len(root) :].replace(os.sep, "/")
        return self.relative(Path(name))

    def request_files(self) -> list[Path]:
        """Every file under requests/, whatever its name: misplaced files are problems too."""
        return _files(self.requests)

    def archive_files(self) -> list[Path]:
        return _files(self.archive)

    def archive_names(self) -> list[str]:
        """Every file under archive/, as repository paths (`archive/<target>/...`)."""
        return [self.relative(Path(name)) for name in file_names(self.archive)]

    def archive_files_of(self, months: Container[str]) -> list[Path]:
        """The archived files of `months` (YYYY-MM), plus every file that is in no month.

        Month folders outside `months` are not even listed: how long the archive has grown
        costs nothing. A file outside the layout (LAPSE134 refuses it) is always returned, so
        that nothing misplaced escapes whoever reads by month.
        """
        found: list[str] = []
        for target in _entries(self.archive):
            if not target.is_dir(follow_symlinks=False):
                found.append(target.path)
                continue
            for entry in _entries(target.path):
                if entry.name == EMERGENCY_FOLDER and entry.is_dir(follow_symlinks=False):
                    for inner in _entries(entry.path):
                        found += _month_files(inner, months)
                else:
                    found += _month_files(entry, months)
        return [Path(name) for name in sorted(found)]

    def symlinks(self) -> list[str]:
        """Every symlink, to a file or a folder, under the folders lapse reads.

        Walked with os.scandir, whose entries say whether they are links without a system call
        each: requests/ and terraform/grants/ hold a file per request."""
        found: list[str] = []
        terraform = str(self.terraform)
        for name in READ_FOLDERS:
            pending = [str(self.root / name)]
            while pending:
                top = pending.pop()
                for entry in _listing(top):
                    if top == terraform and entry.name == ".terraform" and _is_folder(entry):
                        continue  # `terraform init`'s own cache, never committed
                    if entry.is_symlink():
                        found.append(self.relative_name(entry.path))
                    elif entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
            if (self.root / name).is_symlink():
                found.append(name)
        return sorted(found)


# The folders whose files lapse reads and whose owners CODEOWNERS names.
READ_FOLDERS = ("requests", "archive", "policy", "schemas", "terraform")


def _listing(directory: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except OSError:
        return []


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _entries(directory: str | Path) -> list[os.DirEntry[str]]:
    try:
        return sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return []


def _month_files(entry: os.DirEntry[str], months: Container[str]) -> list[str]:
    """A month folder's files when the month is wanted; anything else whole."""
    if not entry.is_dir(follow_symlinks=False):
        return [] if entry.name.startswith(".") else [entry.path]
    if is_month(entry.name) and entry.name not in months:
        return []
    return file_names(Path(entry.path))


def _files(folder: Path) -> list[Path]:
    return [Path(path) for path in file_names(folder)]


def file_names(folder: Path) -> list[str]:
    """Files below `folder` (symlinked files too, symlinked folders not), sorted by path parts.

    Walked with os.scandir and kept as strings: archive/ grows by thousands of files a year,
    and pathlib objects and comparisons would cost more than everything else done with them.
    """
    if not folder.is_dir():
        return []
    found: list[tuple[tuple[str, ...], str]] = []
    pending: list[tuple[str, tuple[str, ...]]] = [(str(folder), ())]
    while pending:
        directory, parts = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append((entry.path, (*parts, entry.name)))
            elif not entry.name.startswith(".") and entry.is_file():
                found.append(((*parts, entry.name), entry.path))
    found.sort()
    return [path for _, path in found]


def first_bytes(name: str, limit: int | None = None) -> bytes:
    """The file `name`'s bytes, at most `limit` of them; OSError when it cannot be read.

    Read with plain system calls, without a buffered file object: a run reads a file per
    request and one per grant, thousands of them, and the file object costs more than the read."""
    handle = os.open(name, os.O_RDONLY)
    try:
        chunks: list[bytes] = []
        left = limit
        while left is None or left > 0:
            chunk = os.read(handle, _CHUNK if left is None else left)
            if not chunk:
                break
            chunks.append(chunk)
            left = None if left is None else left - len(chunk)
        return b"".join(chunks)
    finally:
        os.close(handle)


_CHUNK = 1 << 20


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding policy/policy.yaml, as git finds .git."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / "policy" / "policy.yaml").is_file():
            return folder
    return None
