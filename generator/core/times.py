"""Instants and durations as requests and policies write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^([1-9][0-9]{0,3})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`30m`, `4h`, `7d` -> timedelta. Raises ValueError on anything else."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 4h or 7d")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def parse_instant(text: str) -> datetime:
    """An RFC 3339 timestamp with offset -> aware UTC datetime. ValueError if not a real instant."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$", text):
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp with offset")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def format_utc(moment: datetime) -> str:
    """The canonical form written into IAM conditions: UTC, seconds, `Z`."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def format_duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
