"""Quiet hours in the bureau's zone and the back-off after transient failures."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from miniservice.reminders.timing import parse_hhmm, retry_delay, within_quiet_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 12, 1, hour, minute, tzinfo=SHANGHAI)


def test_sending_hours_include_the_opening_minute_and_exclude_the_closing_one() -> None:
    assert not within_quiet_hours(at(8, 59), "09:00", "20:00")
    assert within_quiet_hours(at(9, 0), "09:00", "20:00")
    assert within_quiet_hours(at(19, 59), "09:00", "20:00")
    assert not within_quiet_hours(at(20, 0), "09:00", "20:00")


def test_a_window_past_midnight_wraps() -> None:
    assert within_quiet_hours(at(23), "22:00", "06:00")
    assert within_quiet_hours(at(5, 59), "22:00", "06:00")
    assert not within_quiet_hours(at(12), "22:00", "06:00")


def test_a_bad_time_setting_names_the_value() -> None:
    with pytest.raises(ValueError, match="'9h'"):
        parse_hhmm("9h")


def test_retries_back_off_exponentially_up_to_an_hour_and_a_spent_daily_quota_waits_the_hour() -> None:
    assert [retry_delay(n, -1) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert retry_delay(10, None) == timedelta(hours=1)
    assert retry_delay(1, 45009) == timedelta(hours=1)
