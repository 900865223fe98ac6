"""A checkout that cannot be written: read-only folders, or a full disk.

`read_only` takes the write permission off every folder of the working tree (not .git, which a
read-only working tree need not share). Modes do not bind root, so when the tests run as root
every write below the checkout is also answered EACCES, as the kernel answers anyone else.
`disk_full` answers every write below the checkout ENOSPC. Both work at the level of the `os`
and `io` calls every Python write goes through, so they hold for any code path a command takes
(the command must run in this process: `LAPSE_CLI_IN_PROCESS=1`).
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _below(root: Path) -> Callable[[Any], bool]:
    top = os.path.abspath(root) + os.sep

    def inside(path: Any) -> bool:
        if isinstance(path, int):
            return False
        return os.path.abspath(os.fsdecode(path)).startswith(top)

    return inside


@contextlib.contextmanager
def failing_writes(monkeypatch: pytest.MonkeyPatch, root: Path, code: int) -> Iterator[None]:
    """Every write, creation, rename and removal below `root` fails with `code`."""
    inside = _below(root)

    def refuse(path: Any) -> None:
        raise OSError(code, os.strerror(code), os.fsdecode(path))

    real = {name: getattr(os, name) for name in ("open", "mkdir", "replace", "rename", "unlink")}
    real_open = io.open

    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & _WRITE_FLAGS and inside(path):
            refuse(path)
        return int(real["open"](path, flags, *args, **kwargs))

    def io_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+") and inside(file):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if inside(path) and not os.path.exists(path):
            refuse(path)
        real["mkdir"](path, *args, **kwargs)

    def moving(name: str) -> Callable[..., None]:
        def move(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
            if inside(source) or inside(target):
                refuse(target)
            real[name](source, target, *args, **kwargs)

        return move

    def unlink(path: Any, *args: Any, **kwargs: Any) -> None:
        if inside(path):
            refuse(path)
        real["unlink"](path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "open", os_open)
        patch.setattr(io, "open", io_open)
        patch.setattr(builtins, "open", io_open)
        patch.setattr(os, "mkdir", mkdir)
        patch.setattr(os, "replace", moving("replace"))
        patch.setattr(os, "rename", moving("rename"))
        patch.setattr(os, "unlink", unlink)
        patch.setattr(os, "remove", unlink)
        yield


@contextlib.contextmanager
def read_only(monkeypatch: pytest.MonkeyPatch, root: Path) -> Iterator[None]:
    folders = [
        Path(top)
        for top, dirs, _ in os.walk(root)
        if ".git" not in Path(top).relative_to(root).parts
    ]
    modes = {folder: folder.stat().st_mode for folder in folders}
    try:
        for folder in folders:
            folder.chmod(modes[folder] & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        if os.geteuid() == 0:
            with failing_writes(monkeypatch, root, errno.EACCES):
                yield
        else:
            yield
    finally:
        for folder in folders:
            folder.chmod(modes[folder])


@contextlib.contextmanager
def disk_full(monkeypatch: pytest.MonkeyPatch, root: Path) -> Iterator[None]:
    with failing_writes(monkeypatch, root, errno.ENOSPC):
        yield


FAULTS = {"read-only": read_only, "disk-full": disk_full}
CAUSES = {
    "read-only": "Permission denied (EACCES)",
    "disk-full": "No space left on device (ENOSPC)",
}
