"""Events parked on disk while a review streams, so memory does not grow with the log.

Each key (the whole read, or one grant) is a JSON-lines file in a temporary directory that only
this user can read (the entries are audit data), removed when the last review that reads it is
gone. Writes are buffered per key and flushed by a small
bound, so at most `HELD` events are ever in memory here, whatever the log's size.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from generator.core.audit_event import Event
from generator.core.writing import writing

# Events buffered before a key's lines are written out, and in all keys together.
PER_KEY = 64
HELD = 1024


class EventSpool:
    def __init__(self) -> None:
        with writing(Path(tempfile.gettempdir())):  # a full or read-only TMPDIR is named
            self._directory = tempfile.TemporaryDirectory(prefix="lapse-review-")
        self._buffers: dict[str, list[bytes]] = {}
        self._paths: dict[str, Path] = {}
        self.held = 0
        self.peak_held = 0  # the most events buffered at once, for tests to bound

    def add(self, key: str, event: Event) -> None:
        buffer = self._buffers.setdefault(key, [])
        buffer.append(orjson.dumps(_data(event)) + b"\n")
        self.held += 1
        self.peak_held = max(self.peak_held, self.held)
        if len(buffer) >= PER_KEY:
            self._flush(key)
        if self.held >= HELD:
            self.flush()

    def flush(self) -> None:
        for key in list(self._buffers):
            self._flush(key)

    def read(self, key: str) -> Iterator[Event]:
        """The key's events in the order they were added."""
        self._flush(key)
        path = self._path(key)
        if not path.exists():
            return
        with path.open("rb") as stream:
            for line in stream:
                yield _event(orjson.loads(line))

    def files(self) -> dict[str, Path]:
        """Each key's file, every event written out: for another process's spool to `absorb`."""
        self.flush()
        return {key: path for key, path in self._paths.items() if path.exists()}

    def absorb(self, key: str, path: Path) -> None:
        """Park the events of another spool's file after this key's own."""
        self._flush(key)
        target = self._path(key)
        with writing(target), path.open("rb") as source, target.open("ab") as out:
            shutil.copyfileobj(source, out)

    def _flush(self, key: str) -> None:
        lines = self._buffers.pop(key, [])
        if not lines:
            return
        path = self._path(key)
        with writing(path), path.open("ab") as out:
            out.writelines(lines)
        self.held -= len(lines)

    def _path(self, key: str) -> Path:
        path = self._paths.get(key)
        if path is None:
            # Hex-encoded: any key, whatever its characters, is one plain file name.
            path = self._paths[key] = Path(self._directory.name) / f"{key.encode().hex()}.jsonl"
        return path


def _data(event: Event) -> list[Any]:
    return [
        event.insert_id,
        event.timestamp.isoformat(),
        event.log_name,
        event.principal,
        event.service,
        event.method,
        event.resource_name,
        event.status_code,
        event.permissions,
        event.binding_deltas,
        event.caller_ip,
        event.chain,
        event.delta_conditions,
        event.copied_to,
    ]


def _event(data: list[Any]) -> Event:
    return Event(
        insert_id=data[0],
        timestamp=datetime.fromisoformat(data[1]),
        log_name=data[2],
        principal=data[3],
        service=data[4],
        method=data[5],
        resource_name=data[6],
        status_code=data[7],
        permissions=tuple((p, r, bool(g)) for p, r, g in data[8]),
        binding_deltas=tuple((a, m, r) for a, m, r in data[9]),
        caller_ip=data[10],
        chain=tuple(data[11]),
        delta_conditions=tuple(data[12]),
        copied_to=data[13],
    )
