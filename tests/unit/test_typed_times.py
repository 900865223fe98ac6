"""Times as people type them on the command line, and durations as people write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.core.times import (
    EARLIEST,
    LATEST,
    LONGEST,
    OutOfRange,
    format_duration,
    parse_duration,
    parse_instant,
    read_duration,
    read_instant,
    read_instant_or_duration,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("now", NOW),
        ("NOW", NOW),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
        ("+2h", NOW + timedelta(hours=2)),
        ("-3d", NOW - timedelta(days=3)),
        ("+1h30m", NOW + timedelta(minutes=90)),
        ("2026-12-01T10:00:00+01:00", datetime(2026, 12, 1, 9, tzinfo=UTC)),
    ],
)
def test_read_instant(typed: str, expected: datetime) -> None:
    assert read_instant(typed, NOW) == expected


@pytest.mark.parametrize(
    "typed", ["", "yesterday", "2026-02-30", "+", "+2x", "2026-12-01T10:00:00", "1h"]
)
def test_unreadable_instants(typed: str) -> None:
    with pytest.raises(ValueError, match=r"instant|date"):
        read_instant(typed, NOW)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("0", timedelta(0)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("2d12h", timedelta(days=2, hours=12)),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_read_duration(typed: str, expected: timedelta) -> None:
    assert read_duration(typed) == expected


@pytest.mark.parametrize("typed", ["", "h", "1.5h", "-1h", "30m1h", "1 h", "forever"])
def test_unreadable_durations(typed: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        read_duration(typed)


def test_since_takes_either() -> None:
    assert read_instant_or_duration("2d", NOW) == NOW - timedelta(days=2)
    assert read_instant_or_duration("2026-11-27", NOW) == datetime(2026, 11, 27, tzinfo=UTC)
    with pytest.raises(ValueError, match="neither an instant"):
        read_instant_or_duration("soon", NOW)


@pytest.mark.parametrize(
    ("delta", "written"),
    [
        (timedelta(minutes=479), "7h59m"),
        (timedelta(minutes=2880), "2d"),
        (timedelta(minutes=2879), "1d23h59m"),
        (timedelta(0), "0"),
        (timedelta(seconds=-90), "-1m30s"),
    ],
)
def test_durations_print_as_people_write_them(delta: timedelta, written: str) -> None:
    assert format_duration(delta) == written


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=999)))
def test_printed_durations_read_back(delta: timedelta) -> None:
    whole = timedelta(seconds=int(delta.total_seconds()))
    assert read_duration(format_duration(whole)) == whole


def test_files_keep_their_one_strict_spelling() -> None:
    with pytest.raises(ValueError):
        parse_duration("1h30m")
    with pytest.raises(ValueError):
        parse_instant("now")


@pytest.mark.parametrize(
    "written",
    [
        "9999-12-31T23:59:59-23:59",  # a real local time; in UTC, the year 10000
        "0001-01-01T00:00:00+00:01",  # in UTC, the year 0
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "1899-12-31T23:59:59Z",
        "9000-01-01T00:00:00Z",
    ],
)
def test_instants_outside_the_years_lapse_computes_with_are_refused(written: str) -> None:
    with pytest.raises(OutOfRange, match=re.escape(f"{written!r} is outside the years")):
        parse_instant(written)


def test_the_range_ends_are_held_exactly() -> None:
    assert parse_instant("1900-01-01T00:00:00Z") == EARLIEST
    assert parse_instant("8999-12-31T23:59:59.999999Z") == LATEST - timedelta(microseconds=1)
    assert parse_instant("1900-01-01T00:59:00+00:59") == EARLIEST


@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-1439, max_value=1439),
)
def test_every_instant_a_file_can_hold_computes_without_overflow(
    local: datetime, minutes: int
) -> None:
    sign, offset = ("+" if minutes >= 0 else "-"), abs(minutes)
    clock = f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local.strftime('%H:%M:%S')}"
    written = f"{clock}{sign}{offset // 60:02d}:{offset % 60:02d}"
    try:
        moment = parse_instant(written)
    except OutOfRange:
        return
    # The longest policy duration (9999d) and typed one (LONGEST), either way.
    for delta in (timedelta(days=9999), LONGEST):
        assert moment - delta < moment < moment + delta


@pytest.mark.parametrize("typed", ["9999-12-31", "0001-01-01", "9999-12-31T23:59:59-23:59"])
def test_typed_instants_stay_in_range_too(typed: str) -> None:
    with pytest.raises(ValueError, match="outside the years"):
        read_instant(typed, NOW)


def test_relative_instants_stay_in_range() -> None:
    with pytest.raises(ValueError, match="outside the years"):
        read_instant("+5000w", datetime(8999, 6, 1, tzinfo=UTC))


def test_typed_durations_stop_at_a_hundred_years() -> None:
    assert read_duration("5200w") == LONGEST
    with pytest.raises(ValueError, match="at most 5200w"):
        read_duration("5201w")
    with pytest.raises(ValueError, match="outside the years"):
        read_instant_or_duration("5200w", EARLIEST)
