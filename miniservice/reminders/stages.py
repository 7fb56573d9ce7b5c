"""Which reminder stage is due on a given day, for a gap starting in a given month (pure, no I/O).

The stage dates of a gap depend only on its first missed month and the region's rules, never on
the person, so the planner asks this module once per region for the small table "gap starting in
month M → stage due today" and lets the database match every citizen against it in one statement.

A stage stays *in effect* from its date until the next stage's date (or until the gap passes the
line), so a day the scheduler did not run is caught up the next day, and a citizen who shows up with
a two-month gap gets the two-month reminder, not the one-month one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from miniservice.rules.gaps import CollectionPeriod, date_gap_reaches, three_month_line
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.months import Month
from miniservice.rules.quote import line_for
from miniservice.rules.schema import RegionRules

MONTHLY_SCHEMES = (Scheme.EMPLOYEE, Scheme.FLEXIBLE)
LINE_STAGE = "line"
LOOKBACK_MONTHS = 24  # gap starts considered; a gap older than its line has no stage (the unit window is 24)


@dataclass(frozen=True, slots=True)
class Stage:
    """One reminder stage of one gap: what the planner writes into a reminder row."""

    scheme: Scheme
    kind: str  # "gap_reminder" or "resident_period"
    name: str  # "gap_1m", "gap_2m", "line", "period_30d", ...
    gap_start: Month
    due_on: date
    deadline: date
    gap_months: int


@dataclass(frozen=True, slots=True)
class MonthlyTiming:
    """职工医保 (in-unit or 灵活就业) timings: due day, the line, and when to remind."""

    due_day_next_month: int | None
    line_months: int
    gap_months: tuple[int, ...]
    days_before_line: int
    # The region's line for a gap starting in a month (the quote's, from the region's own rules);
    # without rules, the national three-month line. Not part of equality: the stage rows are.
    region_line: Callable[[Month], date | None] | None = field(default=None, compare=False, hash=False)

    def line_day(self, first: Month) -> date:
        """The last day paying avoids every consequence: exactly the day the citizen's quote gives."""
        day = self.region_line(first) if self.region_line else None
        if day is None and self.region_line is None:
            day = three_month_line(first, self.due_day_next_month, self.line_months).last_day_within
        return day if day is not None else date.max

    def stages(self, scheme: Scheme, first: Month) -> list[Stage]:
        """Every stage of a gap starting at ``first``, in date order (the line stage last on a tie)."""
        deadline = self.line_day(first)
        stages = [
            Stage(scheme, "gap_reminder", f"gap_{n}m", first, date_gap_reaches(first, n, self.due_day_next_month),
                  deadline, n)
            for n in self.gap_months
            if n >= 1
        ]
        if self.days_before_line >= 1 and deadline < date.max:
            stages.append(Stage(scheme, "gap_reminder", LINE_STAGE, first,
                                deadline + timedelta(days=1 - self.days_before_line), deadline,
                                self.line_months))
        return sorted((s for s in stages if s.due_on <= deadline), key=lambda s: s.due_on)  # none past the line

    def stage_on(self, scheme: Scheme, first: Month, on: date) -> Stage | None:
        """The stage in effect on ``on``; None before the first stage and once the line has passed."""
        if on > self.line_day(first):
            return None
        reached = [s for s in self.stages(scheme, first) if s.due_on <= on]
        return reached[-1] if reached else None

    def stages_on(self, scheme: Scheme, on: date) -> list[Stage]:
        """The stage in effect on ``on`` for every gap start that can have one (a handful of months)."""
        latest = Month.of(on)
        lookback = LOOKBACK_MONTHS
        found = (self.stage_on(scheme, latest - back, on) for back in range(lookback + 1))
        return [stage for stage in found if stage is not None]


@dataclass(frozen=True, slots=True)
class ResidentTiming:
    """居民医保: remind N days before the 集中缴费期 for next year ends, while that year is unpaid."""

    period: CollectionPeriod
    days_before_end: tuple[int, ...]

    def stage_on(self, on: date) -> Stage | None:
        year = self.period.open_for(on)
        if year is None:
            return None
        _, end = self.period.bounds(year)
        stages = sorted(
            (Stage(Scheme.RESIDENT, "resident_period", f"period_{days}d", Month(year, 1),
                   end - timedelta(days=days), end, 0)
             for days in self.days_before_end if days >= 0),
            key=lambda s: s.due_on,
        )
        reached = [s for s in stages if s.due_on <= on]
        return reached[-1] if reached else None


@dataclass(frozen=True, slots=True)
class RegionTiming:
    """A region's reminder timings, read from its rules in force (national defaults inherited)."""

    employee: MonthlyTiming
    flexible: MonthlyTiming
    resident: ResidentTiming

    @classmethod
    def from_rules(cls, rules: RegionRules) -> RegionTiming:
        reminders = rules.reminders

        def monthly(scheme: Scheme) -> MonthlyTiming:
            section = rules.contribution(scheme)
            return MonthlyTiming(
                due_day_next_month=section.due_day_next_month.value or None,
                line_months=section.line_months.value,
                gap_months=tuple(reminders.gap_months.value),
                days_before_line=reminders.days_before_line.value,
                region_line=partial(_region_line, rules, scheme),
            )

        return cls(
            employee=monthly(Scheme.EMPLOYEE),
            flexible=monthly(Scheme.FLEXIBLE),
            resident=ResidentTiming(rules.resident.period(), tuple(reminders.resident_days_before_period_end.value)),
        )

    def monthly_stages_on(self, on: date) -> tuple[Stage, ...]:
        return (*self.employee.stages_on(Scheme.EMPLOYEE, on), *self.flexible.stages_on(Scheme.FLEXIBLE, on))

    def resident_stage_on(self, on: date) -> Stage | None:
        return self.resident.stage_on(on)


def _region_line(rules: RegionRules, scheme: Scheme, first: Month) -> date | None:
    """The line of a self-caused gap (what the citizen can pay) starting at ``first``; None: no day matters."""
    line = line_for(rules, scheme, Cause.SELF, first, first.first_day)
    return line.last_day_within if line else None
