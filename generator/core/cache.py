"""A local store of facts derived from files, keyed by content hashes only.

A key covers everything the fact depends on: the input bytes, and the source of the code that
derived it (lapse's own modules and templates, and the installed parser), so an entry is never
read by another version of lapse, of a template or of a parser. Entries are written once and
never updated; a store that cannot be read or written is the same as an empty one.

The store lives in `$LAPSE_CACHE_DIR`, else `$XDG_CACHE_HOME/lapse`, else `~/.cache/lapse`;
`LAPSE_CACHE_DIR=off` turns it off. Whoever can write there can vouch for facts: keep it where
only the jobs and people that run lapse write (a CI cache saved by the main branch only).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from functools import cache
from pathlib import Path

import orjson

OFF = "off"
# Import name -> distribution name, where they differ.
_DISTRIBUTIONS = {"hcl2": "python_hcl2", "yaml": "pyyaml"}
_SOURCE_SUFFIXES = frozenset({".py", ".j2", ".lark", ".json", ".pyi", ".so"})


def folder() -> Path | None:
    """Where entries live, or None when the store is turned off."""
    chosen = os.environ.get("LAPSE_CACHE_DIR")
    if chosen == OFF:
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lapse"


def digest(*parts: bytes | str) -> str:
    """One SHA-256 over `parts`, each length-prefixed so that no two sequences collide."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)
    return hasher.hexdigest()


@cache
def code_digest(*packages: str) -> str:
    """The code of `packages`, hashed, found without importing them.

    An installed distribution is named by its RECORD, which lists the SHA-256 of each of its
    files (reading it costs one file, not hundreds); a package without one, such as lapse in a
    checkout, by the content of every source file under its folder.
    """
    parts: list[bytes | str] = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            parts.append(f"{name}: not installed")
            continue
        origin = Path(spec.origin)
        top = origin.parent if origin.name == "__init__.py" else origin
        record = _record(top, name)
        parts += [name, record] if record is not None else list(_sources(top))
    return digest(*parts)


def _record(top: Path, package: str) -> bytes | None:
    distribution = _DISTRIBUTIONS.get(package, package)
    for info in top.parent.glob(f"{distribution}-*.dist-info"):
        try:
            return (info / "RECORD").read_bytes()
        except OSError:
            return None
    return None


def _sources(top: Path) -> list[bytes | str]:
    files = sorted(top.rglob("*")) if top.is_dir() else [top]
    parts: list[bytes | str] = []
    for path in files:
        if path.suffix in _SOURCE_SUFFIXES and path.is_file():
            parts += [path.relative_to(top.parent).as_posix(), path.read_bytes()]
    return parts


def read_table(kind: str, name: str) -> dict[str, str]:
    """A table of entries kept in one file (one file per run is far cheaper than one per entry)."""
    raw = read(kind, name)
    try:
        table = orjson.loads(raw) if raw is not None else {}
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(table, dict):
        return {}
    return {str(key): str(value) for key, value in table.items()}


def write_table(kind: str, name: str, table: dict[str, str]) -> None:
    write(kind, name, orjson.dumps(table, option=orjson.OPT_SORT_KEYS))


def read_lines(kind: str, name: str) -> dict[str, bytes]:
    """A table kept a line per entry, `KEY ENTRY`: read without decoding any entry, so that a
    run that uses a few entries of thousands, and keeps the rest, pays for the few only."""
    found: dict[str, bytes] = {}
    for line in (read(kind, name) or b"").split(b"\n"):
        key, space, entry = line.partition(b" ")
        if space:
            found[key.decode("ascii", errors="replace")] = entry
    return found


def write_lines(kind: str, name: str, table: dict[str, bytes]) -> None:
    """Store a table `read_lines` reads; an entry is one line (JSON as orjson writes it)."""
    write(kind, name, b"".join(b"%s %s\n" % (key.encode(), table[key]) for key in sorted(table)))


def read(kind: str, key: str) -> bytes | None:
    place = folder()
    if place is None:
        return None
    try:
        return (place / kind / key).read_bytes()
    except OSError:
        return None


def write(kind: str, key: str, data: bytes) -> None:
    """Store an entry atomically; a store that cannot be written is skipped, not an error."""
    place = folder()
    if place is None:
        return
    target = place / kind
    try:
        target.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target, prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target / key)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
