"""Which reminder stage is due on a given day, for a gap starting in a given month (pure, no I/O).

The stage dates of a gap depend only on its first missed month, who caused it and the region's
rules, never on anything else about the person, so the planner asks this module once per region
for the small table "gap of cause C starting in month M → stage due today" and lets the database
match every citizen (their gap start and cause, derived as the quote derives them) against it in
one statement. Each cause has its own line — a unit's arrears may arrive months after the day a
citizen's own gap would pass its line — and the stage deadline is exactly the line the citizen's
quote states on the day (:func:`~miniservice.rules.quote.line_for`, the function the quote uses).
A mixed gap (some months the unit's, some the citizen's) is the citizen's: its line is the
self-caused one, as :func:`miniservice.quotes.citizen.causes` and the quote decide.

A stage stays *in effect* from its date until the next stage's date (or until the gap passes the
line), so a day the scheduler did not run is caught up the next day, and a citizen who shows up with
a two-month gap gets the two-month reminder, not the one-month one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from miniservice.rules.gaps import CollectionPeriod, date_gap_reaches, last_due_month, three_month_line
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.months import Month
from miniservice.rules.quote import line_for
from miniservice.rules.schema import RegionRules

MONTHLY_SCHEMES = (Scheme.EMPLOYEE, Scheme.FLEXIBLE)
LINE_STAGE = "line"
LOOKBACK_MONTHS = 24  # gap starts considered; a gap older than its line has no stage (the unit window is 24)
# Who may cause a gap of each monthly scheme: 灵活就业 pay alone (社会保险法 §23), so their gaps are their own.
CAUSES = {Scheme.EMPLOYEE: (Cause.SELF, Cause.UNIT), Scheme.FLEXIBLE: (Cause.SELF,)}


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
    cause: Cause = Cause.SELF  # whose gap the row is for: the planner matches it to the citizen's own


@dataclass(frozen=True, slots=True)
class MonthlyTiming:
    """职工医保 (in-unit or 灵活就业) timings: due day, the line, and when to remind."""

    due_day_next_month: int | None
    line_months: int
    gap_months: tuple[int, ...]
    days_before_line: int
    # The region's line for a gap of a cause starting in a month (the quote's, from the region's own
    # rules); without rules, the national three-month line. Not part of equality: the stage rows are.
    region_line: Callable[[Cause, Month], date | None] | None = field(default=None, compare=False, hash=False)

    def line_day(self, first: Month, cause: Cause = Cause.SELF) -> date:
        """The last day paying avoids every consequence: exactly the day the citizen's quote gives."""
        day = self.region_line(cause, first) if self.region_line else None
        if day is None and self.region_line is None:
            day = three_month_line(first, self.due_day_next_month, self.line_months).last_day_within
        return day if day is not None else date.max

    def last_due(self, on: date) -> Month:
        """The latest month already due on ``on``: where an open gap ends, so where its cause is read."""
        return last_due_month(on, self.due_day_next_month)

    def stages(self, scheme: Scheme, first: Month, cause: Cause = Cause.SELF) -> list[Stage]:
        """Every stage of a gap starting at ``first``, in date order (the line stage last on a tie)."""
        return self._stages(scheme, first, cause, self.line_day(first, cause))

    def _stages(self, scheme: Scheme, first: Month, cause: Cause, deadline: date) -> list[Stage]:
        stages = [
            Stage(scheme, "gap_reminder", f"gap_{n}m", first, date_gap_reaches(first, n, self.due_day_next_month),
                  deadline, n, cause)
            for n in self.gap_months
            if n >= 1
        ]
        if self.days_before_line >= 1 and deadline < date.max:
            stages.append(Stage(scheme, "gap_reminder", LINE_STAGE, first,
                                deadline + timedelta(days=1 - self.days_before_line), deadline,
                                self.line_months, cause))
        return sorted((s for s in stages if s.due_on <= deadline), key=lambda s: s.due_on)  # none past the line

    def stage_on(self, scheme: Scheme, first: Month, on: date, cause: Cause = Cause.SELF) -> Stage | None:
        """The stage in effect on ``on``; None before the first stage and once the line has passed."""
        deadline = self.line_day(first, cause)  # searched once: the line is the costly part
        if on > deadline:
            return None
        reached = [s for s in self._stages(scheme, first, cause, deadline) if s.due_on <= on]
        return reached[-1] if reached else None

    def stages_on(self, scheme: Scheme, on: date) -> list[Stage]:
        """The stage in effect on ``on`` for every cause and gap start that can have one (a few dozen)."""
        latest = Month.of(on)
        found = (self.stage_on(scheme, latest - back, on, cause)
                 for cause in CAUSES[scheme] for back in range(LOOKBACK_MONTHS + 1))
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

    def last_due_on(self, on: date) -> tuple[tuple[Scheme, Month], ...]:
        """Each monthly scheme's latest month due on ``on`` (the end of an open gap there)."""
        return ((Scheme.EMPLOYEE, self.employee.last_due(on)), (Scheme.FLEXIBLE, self.flexible.last_due(on)))

    def resident_stage_on(self, on: date) -> Stage | None:
        return self.resident.stage_on(on)


def _region_line(rules: RegionRules, scheme: Scheme, cause: Cause, first: Month) -> date | None:
    """The line of a gap of ``cause`` starting at ``first``, as the citizen's quote states it (the
    line does not depend on the quote's day, only whether it has passed does); None: no day matters."""
    line = line_for(rules, scheme, cause, first, first.first_day)
    return line.last_day_within if line else None
