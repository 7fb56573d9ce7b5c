"""Stage dates from the rules alone: the planner's table "gap started in M → stage due today"."""

from __future__ import annotations

from datetime import date, timedelta

from miniservice.reminders.stages import MonthlyTiming, RegionTiming, ResidentTiming
from miniservice.rules.gaps import CollectionPeriod
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.loading import RuleBook, load_rulebook
from miniservice.rules.months import Month
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts
from tests.rules.helpers import POLICIES

NATIONAL = MonthlyTiming(due_day_next_month=None, line_months=3, gap_months=(1, 2), days_before_line=15)
NOV = Month(2025, 11)


def _book() -> RuleBook:
    return load_rulebook(POLICIES)


def test_gap_from_november_reaches_its_stages_across_the_new_year() -> None:
    stages = NATIONAL.stages(Scheme.FLEXIBLE, NOV)
    assert [(s.name, s.due_on) for s in stages] == [
        ("gap_1m", date(2025, 12, 1)),
        ("gap_2m", date(2026, 1, 1)),
        ("line", date(2026, 2, 14)),  # 15 days before 2026-03-01, when February falls due unpaid
    ]
    assert {s.deadline for s in stages} == {date(2026, 2, 28)}
    assert [s.gap_months for s in stages] == [1, 2, 3]


def test_a_stage_stays_in_effect_until_the_next_one_and_none_after_the_line() -> None:
    assert NATIONAL.stage_on(Scheme.FLEXIBLE, NOV, date(2025, 11, 30)) is None
    assert NATIONAL.stage_on(Scheme.FLEXIBLE, NOV, date(2025, 12, 31)).name == "gap_1m"
    assert NATIONAL.stage_on(Scheme.FLEXIBLE, NOV, date(2026, 2, 12)).name == "gap_2m"
    assert NATIONAL.stage_on(Scheme.FLEXIBLE, NOV, date(2026, 2, 28)).name == "line"
    assert NATIONAL.stage_on(Scheme.FLEXIBLE, NOV, date(2026, 3, 1)) is None


def test_a_due_day_in_the_next_month_moves_every_stage() -> None:
    timing = MonthlyTiming(due_day_next_month=15, line_months=3, gap_months=(1, 2), days_before_line=10)
    stages = timing.stages(Scheme.EMPLOYEE, NOV)
    assert [(s.name, s.due_on) for s in stages] == [
        ("gap_1m", date(2025, 12, 16)),
        ("gap_2m", date(2026, 1, 16)),
        ("line", date(2026, 3, 6)),  # February is due by 03-15; 10 days before 03-16
    ]
    assert stages[-1].deadline == date(2026, 3, 15)


def test_the_days_table_holds_one_stage_per_gap_start_still_before_its_line() -> None:
    today = date(2026, 1, 20)
    table = NATIONAL.stages_on(Scheme.FLEXIBLE, today)
    assert {(s.gap_start, s.name) for s in table} == {
        (Month(2025, 12), "gap_1m"),
        (Month(2025, 11), "gap_2m"),
        (Month(2025, 10), "line"),  # its line passes on 2026-02-01
    }


def test_resident_period_across_new_year_reminds_30_and_7_days_before_its_end() -> None:
    timing = ResidentTiming(CollectionPeriod.parse("09-15", "02-28"), (30, 7))
    assert timing.stage_on(date(2026, 1, 28)) is None
    first = timing.stage_on(date(2026, 1, 29))
    assert (first.name, first.gap_start, first.deadline) == ("period_30d", Month(2026, 1), date(2026, 2, 28))
    assert timing.stage_on(date(2026, 2, 21)).name == "period_7d"
    assert timing.stage_on(date(2026, 3, 1)) is None  # the period is over


def test_region_timings_come_from_the_rule_files_with_national_defaults() -> None:
    book = _book()
    national = RegionTiming.from_rules(book.region_for("110105"))
    assert national.flexible == NATIONAL
    jiangxi = RegionTiming.from_rules(book.region_for("360102"))
    assert jiangxi.resident.period == CollectionPeriod.parse("09-15", "02-28")
    assert jiangxi.resident.days_before_end == (30, 7)


def test_a_region_counting_days_is_reminded_before_its_own_line_the_quotes_line() -> None:
    """宜昌 waits 3 months once the lapse exceeds 60 days: the national three-month line (the end of
    the fourth month) would remind after the wait already applies; the region's line does not."""
    rules = _book().region_for("420502")
    timing = RegionTiming.from_rules(rules).flexible
    first = Month(2026, 5)

    stages = timing.stages(Scheme.FLEXIBLE, first)

    line = quote(rules, CitizenFacts("420502", Scheme.FLEXIBLE, first, first), date(2026, 6, 10)).line
    assert line is not None and line.measure == "days"
    assert {s.deadline for s in stages} == {line.last_day_within} == {first.first_day + timedelta(days=60)}
    assert stages[-1].name == "line" and stages[-1].due_on < line.last_day_within
    assert timing.stage_on(Scheme.FLEXIBLE, first, line.first_day_beyond) is None
    assert line.last_day_within < NATIONAL.stages(Scheme.FLEXIBLE, first)[-1].deadline


def test_a_gap_the_unit_owes_has_stages_up_to_the_line_its_quote_states() -> None:
    """宁波: a unit's arrears may arrive up to six months on, a citizen's own gap has a three-month line;
    the day's table holds a row of each cause, each with its own quote's line as the deadline."""
    rules = _book().region_for("330203")
    timing = RegionTiming.from_rules(rules).employee
    first, today = Month(2026, 9), date(2027, 2, 1)

    unit_stage = timing.stage_on(Scheme.EMPLOYEE, first, today, Cause.UNIT)

    facts = CitizenFacts("330203", Scheme.EMPLOYEE, first, Month(2027, 1), cause=Cause.UNIT)
    line = quote(rules, facts, today).line
    assert line is not None and unit_stage is not None
    assert (unit_stage.name, unit_stage.deadline) == ("gap_2m", line.last_day_within) == ("gap_2m", date(2027, 3, 31))
    assert timing.stage_on(Scheme.EMPLOYEE, first, today, Cause.SELF) is None  # the citizen's line passed 12-31
    table = {(s.gap_start, s.cause) for s in RegionTiming.from_rules(rules).monthly_stages_on(today)}
    assert (first, Cause.UNIT) in table and (first, Cause.SELF) not in table
