"""Writing files: whole or not at all, and a failure is an error that names the file and why.

A read-only checkout, a full disk or a folder without permission is something the person
running lapse must fix, not a crash: every write lapse makes goes through `writing`, and a
command that works long before it writes checks its folder first with `check_writable`.
"""

from __future__ import annotations

import errno
import itertools
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from generator.core.errors import ConfigError


class WriteFailed(ConfigError):
    """A file or folder could not be written: read-only checkout, full disk, no permission."""


def shown(path: Path) -> str:
    """`path` relative to the working directory when it lies below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (OSError, ValueError):
        return str(path)


def cause(exc: OSError) -> str:
    """The operating system's words for the failure, and its code: `No space left on device
    (ENOSPC)`."""
    words = exc.strerror or str(exc) or type(exc).__name__
    code = errno.errorcode.get(exc.errno) if exc.errno is not None else None
    return f"{words} ({code})" if code else words


@contextmanager
def writing(path: Path, *, exclusive: bool = False) -> Iterator[None]:
    """Turn an OSError raised while writing `path` into WriteFailed naming it and its cause.

    `exclusive`: a FileExistsError is the caller's to handle (the file was to be new).
    """
    try:
        yield
    except WriteFailed:
        raise
    except OSError as exc:
        if exclusive and isinstance(exc, FileExistsError):
            raise
        raise WriteFailed(f"cannot write {shown(path)}: {cause(exc)}") from exc


def write_file(path: Path, data: str | bytes, *, exclusive: bool = False) -> None:
    """Write `path` whole: a crash or a full disk leaves the old content or the new, never half.

    `exclusive`: refuse (FileExistsError) when anything is already there, and create it in place.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with writing(path, exclusive=exclusive):
        path.parent.mkdir(parents=True, exist_ok=True)
        if exclusive:
            _create(path, raw)
            return
        _replace(path, raw)


def write_files(folder: Path, files: Mapping[str, str]) -> None:
    """`write_file` for each name -> text of `files` in `folder`, the folder made once.

    Thousands of files are written by one render: each costs the four system calls of an
    atomic replace (create, write, close, rename), nothing more.
    """
    with writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        with writing(path):
            _replace(path, text.encode("utf-8"))


_TEMPORARY = itertools.count()


def _replace(path: Path, raw: bytes) -> None:
    """Write `raw` to a new file beside `path`, then rename it over `path`.

    The temporary name holds this process's id and a counter, so no other run picks it; one
    left by a crashed process that had the same id is stale, and is replaced.
    """
    temporary = path.with_name(f".lapse-{os.getpid()}-{next(_TEMPORARY)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        fd = os.open(temporary, flags, 0o644)
    except FileExistsError:
        os.unlink(temporary)
        fd = os.open(temporary, flags, 0o644)
    try:
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _create(path: Path, raw: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def temporary_folder(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A folder only this user can read, in the system's temporary folder, removed when closed;
    WriteFailed naming the temporary folder when none can be made there."""
    with writing(Path(tempfile.gettempdir())):
        return tempfile.TemporaryDirectory(prefix=prefix)


def append_file(path: Path, text: str) -> None:
    """Add `text` at the end of `path`."""
    with writing(path), open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def remove_file(path: Path) -> None:
    """Remove `path` if it is there."""
    with writing(path):
        path.unlink(missing_ok=True)


def check_writable(folder: Path) -> None:
    """WriteFailed now, before long work, when files cannot be created in `folder`.

    The folder need not exist: its nearest existing parent must then be writable. A probe file
    is created and removed, so a read-only mount and a full disk are caught, not only modes.
    """
    place = folder
    while not place.exists() and place != place.parent:
        place = place.parent
    with writing(folder):
        if not place.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(place))
        fd, probe = tempfile.mkstemp(dir=place, prefix=".lapse-probe-")
        try:
            os.write(fd, b"\n")
        finally:
            os.close(fd)
            os.unlink(probe)
