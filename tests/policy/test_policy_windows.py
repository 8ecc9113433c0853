"""Freeze windows: cron + duration + time zone with fixed ``now`` values, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.policy.windows import (
    Cron,
    ScheduleError,
    WindowSpec,
    compute_windows,
    parse_duration,
    window_open,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def spec(name: str, kind: str, cron: str, hours: float, tz: ZoneInfo, *envs: str) -> WindowSpec:
    return WindowSpec(name, kind, Cron.parse(cron), timedelta(hours=hours), tz, envs)


def test_cron_fields() -> None:
    cron = Cron.parse("*/15 9-17 * * 1-5")
    assert cron.minutes == frozenset({0, 15, 30, 45})
    assert cron.hours == frozenset(range(9, 18))
    assert Cron.parse("0 0 * * 7").weekdays == frozenset({0})
    assert Cron.parse("0 0 1,15 * *").days == frozenset({1, 15})


def test_cron_day_fields_or_when_both_restricted() -> None:
    cron = Cron.parse("0 0 13 * 5")  # the 13th or any Friday (Vixie cron)
    assert cron.matches(datetime(2026, 3, 13))  # a Friday the 13th
    assert cron.matches(datetime(2026, 3, 6))  # a Friday
    assert cron.matches(datetime(2026, 4, 13))  # a Monday the 13th
    assert not cron.matches(datetime(2026, 3, 9))


@pytest.mark.parametrize("bad", ["* * * *", "60 * * * *", "* * 0 * *", "a * * * *", "*/0 * * * *"])
def test_cron_errors(bad: str) -> None:
    with pytest.raises(ScheduleError):
        Cron.parse(bad)


def test_durations() -> None:
    assert parse_duration("1d12h30m") == timedelta(days=1, hours=12, minutes=30)
    for bad in ("", "0m", "15d", "2 hours"):
        with pytest.raises(ScheduleError):
            parse_duration(bad)


WEEKEND = Cron.parse("0 18 * * 5")  # Friday 18:00 local, for 62 hours (until Monday 08:00)


@pytest.mark.parametrize(
    ("now", "is_open"),
    [
        ("2026-03-06T16:59:00", False),  # Friday 17:59 CET
        ("2026-03-06T17:00:00", True),  # Friday 18:00 CET
        ("2026-03-09T06:59:00", True),  # Monday 07:59 CET
        ("2026-03-09T07:00:00", False),  # Monday 08:00 CET: closed
    ],
)
def test_weekend_freeze_in_berlin(now: str, is_open: bool) -> None:
    assert window_open(WEEKEND, timedelta(hours=62), BERLIN, utc(now)) is is_open


def test_same_instant_differs_by_time_zone() -> None:
    now = utc("2026-03-06T20:00:00")  # 21:00 in Berlin, 15:00 in New York
    assert window_open(WEEKEND, timedelta(hours=62), BERLIN, now)
    assert not window_open(WEEKEND, timedelta(hours=62), NEW_YORK, now)


def test_spring_forward_duration_is_real_time() -> None:
    # Berlin skips 02:00-03:00 on 2026-03-29. A window from 00:00 local for 12 hours opens at
    # 23:00Z and closes 12 real hours later, at 11:00Z = 13:00 CEST wall clock.
    daily = Cron.parse("0 0 * * *")
    assert window_open(daily, timedelta(hours=12), BERLIN, utc("2026-03-29T10:59:00"))
    assert not window_open(daily, timedelta(hours=12), BERLIN, utc("2026-03-29T11:00:00"))


def test_start_in_skipped_hour_never_fires() -> None:
    at_0230 = Cron.parse("30 2 * * *")
    # 2026-03-29 02:30 does not exist in Berlin: nothing opens that night.
    for minute in range(0, 180, 10):
        now = utc("2026-03-29T00:00:00") + timedelta(minutes=minute)
        assert not window_open(at_0230, timedelta(minutes=30), BERLIN, now)
    # The next night it fires normally (00:30Z = 02:30 CEST).
    assert window_open(at_0230, timedelta(minutes=30), BERLIN, utc("2026-03-30T00:45:00"))


def test_start_in_repeated_hour_fires_twice() -> None:
    at_0230 = Cron.parse("30 2 * * *")
    # 2026-10-25 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET).
    duration = timedelta(minutes=20)
    assert window_open(at_0230, duration, BERLIN, utc("2026-10-25T00:40:00"))
    assert not window_open(at_0230, duration, BERLIN, utc("2026-10-25T01:00:00"))
    assert window_open(at_0230, duration, BERLIN, utc("2026-10-25T01:40:00"))


def test_new_york_dst_shift_moves_the_window_in_utc() -> None:
    nine = Cron.parse("0 9 * * *")
    # Before the US switch (2026-03-08) 09:00 EST = 14:00Z; after it 09:00 EDT = 13:00Z.
    assert window_open(nine, timedelta(hours=1), NEW_YORK, utc("2026-03-06T14:30:00"))
    assert not window_open(nine, timedelta(hours=1), NEW_YORK, utc("2026-03-06T13:30:00"))
    assert window_open(nine, timedelta(hours=1), NEW_YORK, utc("2026-03-09T13:30:00"))


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ScheduleError):
        window_open(WEEKEND, timedelta(hours=1), BERLIN, datetime(2026, 3, 6))


def test_compute_windows_selectors_and_kinds() -> None:
    specs = [
        spec("weekend", "deny", "0 18 * * 5", 62, BERLIN, "production"),
        spec("business-hours", "allow", "0 9 * * 1-5", 8, BERLIN, "production"),
        spec("staging-nightly", "deny", "0 1 * * *", 2, BERLIN, "staging"),
    ]
    saturday = utc("2026-03-07T12:00:00")
    prod = compute_windows(specs, ["production"], saturday)
    assert prod.active == ("weekend",)
    assert prod.deny_active and prod.allow_required
    tuesday = utc("2026-03-10T10:00:00")  # 11:00 CET
    prod = compute_windows(specs, ["production"], tuesday)
    assert prod.active == ("business-hours",)
    assert not prod.deny_active and not prod.allow_required
    staging = compute_windows(specs, ["staging"], saturday)
    assert staging.active == () and not staging.deny_active and not staging.allow_required
    everywhere = [spec("all", "deny", "0 0 * * *", 24, BERLIN)]
    assert compute_windows(everywhere, ["anything"], tuesday).deny_active
