"""Year-month values.

Contributions are owed per calendar month, so months are the unit of every rule. A ``Month`` is an
immutable ``(year, month)`` pair with arithmetic, never a ``date`` on the 1st, so that "the 31st"
or a time zone can never leak into a month count.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

_MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits, two-digit month
# The days a rule file may describe (its years are 1990..2200): a quote is given only when every date
# it states — the paying day, a resume day, a line, a 居民医保 coverage year — falls between them.
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2200, 12, 31)


class BeyondYears(ValueError):
    """A date a quote needs falls after :data:`LAST_DAY`: the quote cannot be given."""


@dataclass(frozen=True, order=True, slots=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")
        if not 1900 <= self.year <= 2200:
            raise ValueError(f"year out of range: {self.year}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse ``YYYY-MM`` exactly (``2025-01``, never ``2025-1``): the one month format of every
        input, form and file, so a month is never read two ways. Anything else is a ValueError."""
        match = _MONTH_RE.fullmatch(text.strip())
        if not match:
            raise ValueError(f"not a year-month (YYYY-MM): {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def index(self) -> int:
        """Months since year 0; differences of indexes count months."""
        return self.year * 12 + self.month - 1

    @classmethod
    def from_index(cls, index: int) -> Month:
        return cls(index // 12, index % 12 + 1)

    def __add__(self, months: int) -> Month:
        return Month.from_index(self.index + months)

    def __sub__(self, other: int) -> Month:
        return Month.from_index(self.index - other)

    def months_until(self, other: Month) -> int:
        """How many months from ``self`` to ``other`` (negative when other is earlier)."""
        return other.index - self.index

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def month_range(first: Month, last: Month) -> Iterator[Month]:
    """Every month from ``first`` to ``last``, both included (empty when last < first)."""
    for index in range(first.index, last.index + 1):
        yield Month.from_index(index)


def add_months_to_date(day: date, months: int) -> date:
    """Same day-of-month ``months`` later, clamped to the month's end (Jan 31 + 1 → Feb 28/29)."""
    target = Month.of(day) + months
    return min(date(target.year, target.month, 1) + timedelta(days=day.day - 1), target.last_day)
