"""Where an entry copied data to: exports, BigQuery extract and copy jobs, object rewrites.

Such a copy can leave the cardholder data environment even when the role allows it, so the
review judges its destination, not only its source. Each shape below is one real services
writes; a copy whose destination the entry does not show reads as an unknown destination.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

# Methods that copy data somewhere (lower-case substrings of methodName).
_COPY_MARKERS = ("export", "rewrite", "objects.copy", "copyobject")
# Methods that make a copy inside the project that outlives the window and can be moved on.
SNAPSHOT_MARKERS = (
    "snapshots.insert",
    "disks.createsnapshot",
    "images.insert",
    "machineimages.insert",
    "createbackup",
    "backupruns.insert",
)
_BIGQUERY_COPY_TYPES = frozenset({"EXPORT", "EXTRACT", "COPY", "TABLE_COPY"})
UNKNOWN = "(destination not in the entry)"


def copy_destination(method: str, payload: Mapping[str, Any]) -> str:
    """The destination of a copy the entry records; "" when the entry is not a copy."""
    found = _bigquery_destination(payload)
    if found is not None:
        return found or UNKNOWN
    if names_a_copy(method):
        return (
            _first_text(
                payload,
                ("request", "exportContext", "uri"),
                ("request", "body", "exportContext", "uri"),
                ("request", "outputUriPrefix"),
                ("request", "outputUrl"),
                ("request", "destinationBucket"),
                ("request", "destination", "bucket"),
            )
            or UNKNOWN
        )
    return ""


# A log holds few distinct method names: each is looked at once (a bound keeps a hostile log's
# many names from growing memory).
@functools.lru_cache(maxsize=4096)
def names_a_copy(method: str) -> bool:
    """Whether the method copies data out when it is not a BigQuery job: its request names
    where to."""
    lowered = method.lower()
    return any(marker in lowered for marker in _COPY_MARKERS)


@functools.lru_cache(maxsize=4096)
def is_snapshot(method: str) -> bool:
    lowered = method.lower()
    return any(marker in lowered for marker in SNAPSHOT_MARKERS)


def _bigquery_destination(payload: Mapping[str, Any]) -> str | None:
    """An extract or copy job's destination ("" when unnamed); None when not such a job."""
    if "metadata" not in payload and "serviceData" not in payload:
        return None  # most entries: nothing to walk
    for job in (
        _dig(payload, "metadata", "jobInsertion", "job", "jobConfig"),
        _dig(payload, "metadata", "jobChange", "job", "jobConfig"),
    ):
        if isinstance(job, Mapping) and str(job.get("type", "")).upper() in _BIGQUERY_COPY_TYPES:
            uris = _dig(job, "extractConfig", "destinationUris")
            table = _dig(job, "tableCopyConfig", "destinationTable")
            return _first_of(uris) or (table if isinstance(table, str) else "")
    for config in (
        _dig(payload, "serviceData", "jobInsertRequest", "resource", "jobConfiguration"),
        _dig(payload, "serviceData", "jobCompletedEvent", "job", "jobConfiguration"),
    ):
        if not isinstance(config, Mapping):
            continue
        if isinstance(config.get("extract"), Mapping):
            return _first_of(_dig(config, "extract", "destinationUris"))
        if isinstance(config.get("tableCopy"), Mapping):
            table = _dig(config, "tableCopy", "destinationTable")
            if isinstance(table, Mapping):
                parts = (table.get("projectId"), table.get("datasetId"), table.get("tableId"))
                if all(isinstance(p, str) for p in parts):
                    return "projects/{}/datasets/{}/tables/{}".format(*parts)
            return ""
    return None


def _first_text(payload: Mapping[str, Any], *paths: tuple[str, ...]) -> str:
    for path in paths:
        value = _dig(payload, *path)
        if isinstance(value, str) and value:
            return value
    return ""


def _first_of(value: object) -> str:
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return ""


def _dig(value: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
