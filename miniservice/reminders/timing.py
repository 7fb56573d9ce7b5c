"""When a reminder may go out: quiet hours in the bureau's zone, and the back-off after a failure.

Nobody should be woken by a 医保 notice: messages leave only between ``reminder_quiet_start`` and
``reminder_quiet_end`` local time (09:00–20:00 by default). A window that ends before it starts
(22:00–06:00) wraps past midnight.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
DAILY_QUOTA = 45009  # WeChat's daily quota is spent: trying again within the hour is pointless


def parse_hhmm(text: str) -> time:
    """``"09:30"`` → 09:30; a precise error for anything else (it comes from configuration)."""
    try:
        hours, minutes = (int(part) for part in text.strip().split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise ValueError(f"expected a local time HH:MM, got {text!r}") from exc


def within_quiet_hours(local: datetime, start: str, end: str) -> bool:
    """True when ``local`` (an aware local time) is inside the sending window [start, end)."""
    opens, closes = parse_hhmm(start), parse_hhmm(end)
    now = local.time()
    if opens <= closes:
        return opens <= now < closes
    return now >= opens or now < closes


def retry_delay(attempts: int, errcode: int | None) -> timedelta:
    """Exponential back-off (1, 2, 4 … minutes, at most an hour) after ``attempts`` tries."""
    delay = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)
    return LONGEST_RETRY if errcode == DAILY_QUOTA else delay
