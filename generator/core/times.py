"""Instants and durations: as files write them (strict) and as people type them (forgiving).

Files (requests, policy) keep one spelling each, so reviewers read one form: `parse_instant`
and `parse_duration`. The command line accepts what people type in `git log` or `gcloud`:
`read_instant` and `read_duration`. Durations are printed as people write them.

Every instant lapse holds lies in [EARLIEST, LATEST), and every typed duration is at most
LONGEST (a hundred years): far enough from the ends of `datetime` (years 1 and 9999) that no
window, grace, slack or typed duration added to or taken from an instant overflows. So
`9999-12-31T23:59:59-23:59` (in UTC, the year 10000) is refused where it is read, with the
line it is on, not where it is used.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from generator.core.errors import ConfigError

_DURATION = re.compile(r"^([1-9][0-9]{0,3})([mhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TYPED_DURATION = re.compile(
    r"^(?:(\d{1,5})w)?(?:(\d{1,5})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?(?:(\d{1,7})s)?$"
)
_RELATIVE = re.compile(r"^([+-])(.+)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")

# Typed durations stop at LONGEST and policy ones at 9999d: both far shorter than the margins.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
LONGEST = timedelta(weeks=5200)
_SPAN = f"from {EARLIEST.year} to {LATEST.year - 1} (UTC)"

INSTANT_HELP = "RFC 3339, `now`, a date (midnight UTC) or relative: +2h, -3d"
DURATION_HELP = "0, 90m, 1h30m, 1d, 1w"


def parse_duration(text: str) -> timedelta:
    """`30m`, `4h`, `7d` -> timedelta, as policy files write them. ValueError on anything else."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 4h or 7d")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def parse_instant(text: str) -> datetime:
    """An RFC 3339 timestamp with offset -> aware UTC datetime. ValueError if not a real instant."""
    if not _RFC3339.match(text):
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp with offset")
    written = datetime.fromisoformat(text.replace("Z", "+00:00"))
    try:
        moment = written.astimezone(UTC)
    except OverflowError:
        raise OutOfRange(text) from None
    if not EARLIEST <= moment < LATEST:
        raise OutOfRange(text)
    return moment


class OutOfRange(ConfigError, ValueError):
    """A real instant, outside the years lapse computes with."""

    def __init__(self, text: str) -> None:
        super().__init__(f"{text!r} is outside the years lapse computes with: {_SPAN}")


def within_range(moment: datetime) -> datetime:
    """`moment` itself when lapse can compute with it; OutOfRange when before EARLIEST or from
    LATEST on."""
    if not EARLIEST <= moment < LATEST:
        raise OutOfRange(moment.isoformat())
    return moment


def read_duration(text: str) -> timedelta:
    """A typed duration: `0`, `45s`, `90m`, `1h30m`, `1d`, `1w`, `2d12h`. ValueError otherwise."""
    spoken = text.strip().lower()
    if spoken == "0":
        return timedelta(0)
    match = _TYPED_DURATION.match(spoken)
    if not spoken or not match:
        raise ValueError(f"{text!r} is not a duration; write e.g. {DURATION_HELP}")
    parts = dict(zip("wdhms", match.groups(), strict=True))
    found = timedelta(**{_UNITS[unit]: int(value) for unit, value in parts.items() if value})
    if found > LONGEST:
        weeks = LONGEST.days // 7
        raise ValueError(f"{text!r} is longer than lapse computes with: at most {weeks}w")
    return found


def read_instant(text: str, now: datetime) -> datetime:
    """A typed instant: RFC 3339, `now`, `YYYY-MM-DD` (midnight UTC), `+2h` or `-3d` from `now`."""
    return within_range(_typed_instant(text, now))


def _typed_instant(text: str, now: datetime) -> datetime:
    spoken = text.strip()
    if spoken.lower() == "now":
        return now.astimezone(UTC)
    relative = _RELATIVE.match(spoken)
    if relative:
        try:
            delta = read_duration(relative[2])
        except ValueError:
            raise ValueError(_instant_error(text)) from None
        return (now + delta if relative[1] == "+" else now - delta).astimezone(UTC)
    if _DATE.match(spoken):
        try:
            day = date.fromisoformat(spoken)
        except ValueError:
            raise ValueError(f"{text!r} is not a real date") from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        return parse_instant(spoken)
    except OutOfRange:
        raise
    except ValueError:
        raise ValueError(_instant_error(text)) from None


def read_instant_or_duration(text: str, now: datetime) -> datetime:
    """`--since`: an instant, or a bare duration meaning that long before `now`."""
    try:
        return read_instant(text, now)
    except OutOfRange:
        raise
    except ValueError:
        pass
    try:
        back = read_duration(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an instant ({INSTANT_HELP}) nor a duration ({DURATION_HELP})"
        ) from None
    return within_range((now - back).astimezone(UTC))


def _instant_error(text: str) -> str:
    return f"{text!r} is not an instant; write {INSTANT_HELP}"


def format_utc(moment: datetime) -> str:
    """The canonical form written into IAM conditions: UTC, seconds, `Z`."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def format_local(moment: datetime) -> str:
    """The same instant on this machine's clock (TZ), for people: `2026-12-01 10:00 CET`."""
    local = moment.astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def format_duration(delta: timedelta) -> str:
    """As people write durations: `2d`, `7h59m`, `1d4h`, `45s`; `0` for nothing."""
    seconds = int(delta.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    if seconds == 0:
        return "0"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)
