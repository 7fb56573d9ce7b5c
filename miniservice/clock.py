"""Time with an explicit zone.

Instants are stored as UTC; calendar questions (which month is it, is it quiet hours) are asked in
the bureau's zone (``MINISERVICE_TZ``); :mod:`miniservice.columns` keeps instants UTC in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now_utc() -> datetime:
    return datetime.now(UTC)


def local_now(tz: str) -> datetime:
    return datetime.now(ZoneInfo(tz))


def local_today(tz: str) -> date:
    return local_now(tz).date()


def local_text(moment: datetime, tz: str) -> str:
    """A stored instant as every page and message shows it: ``2026-12-25 14:30``, local time.
    Dates alone are shown the same way, ``2026-12-25`` (``date.isoformat``), so one format reads everywhere."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Clock:
    """The bureau's clock, one per app (:func:`miniservice.state.clock`): views and commands ask it
    for today's date once and hand that date to services, which take ``today`` as an argument."""

    timezone: str

    def now(self) -> datetime:
        return now_utc()

    def today(self) -> date:
        return local_today(self.timezone)
