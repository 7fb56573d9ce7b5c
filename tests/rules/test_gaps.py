"""Gap detection: month and year boundaries, the three-month line, continuity, 居民医保 years."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from miniservice.rules.gaps import (
    CollectionPeriod,
    Gap,
    GapPolicy,
    MonthRecord,
    date_gap_reaches,
    detect_gaps,
    due_date,
    last_due_month,
    three_month_line,
)
from miniservice.rules.kinds import PayStatus, Scheme
from miniservice.rules.months import Month, month_range

M = Month.parse
PAID, UNPAID, BACK = PayStatus.PAID, PayStatus.UNPAID, PayStatus.BACK_PAID


def paid(first: str, last: str, status: PayStatus = PAID) -> list[MonthRecord]:
    return [MonthRecord(m, status) for m in month_range(M(first), M(last))]


def report(records, as_of: date, *, enrolled: str = "2020-01", scheme=Scheme.FLEXIBLE, **policy):
    return detect_gaps(records, scheme=scheme, enrolled_from=M(enrolled), as_of=as_of,
                       policy=GapPolicy(**policy))


# --- due dates -------------------------------------------------------------------------------

def test_month_is_due_on_its_own_last_day_by_default():
    assert due_date(M("2025-04")) == date(2025, 4, 30)


def test_due_day_next_month_is_clamped_to_february_in_a_leap_year():
    assert due_date(M("2028-01"), due_day_next_month=31) == date(2028, 2, 29)
    assert due_date(M("2027-01"), due_day_next_month=31) == date(2027, 2, 28)


def test_due_day_next_month_crosses_new_year():
    assert due_date(M("2025-12"), due_day_next_month=15) == date(2026, 1, 15)


def test_last_due_month_is_strictly_before_the_as_of_day():
    assert last_due_month(date(2025, 4, 30)) == M("2025-03")  # April is due today, not yet missed
    assert last_due_month(date(2025, 5, 1)) == M("2025-04")
    assert last_due_month(date(2025, 5, 15), due_day_next_month=15) == M("2025-03")
    assert last_due_month(date(2025, 5, 16), due_day_next_month=15) == M("2025-04")


# --- gaps ------------------------------------------------------------------------------------

def test_fully_paid_record_has_no_gap():
    r = report(paid("2020-01", "2025-03"), date(2025, 4, 10))
    assert r.current is None and r.gaps == () and r.line is None
    assert r.continuous_months == 63


def test_unpaid_current_month_is_not_a_gap_until_its_due_date_passes():
    records = paid("2024-01", "2025-03")
    assert report(records, date(2025, 4, 30), enrolled="2024-01").current is None
    r = report(records, date(2025, 5, 1), enrolled="2024-01")
    assert r.current == Gap(M("2025-04"), M("2025-04"), open=True)


def test_missing_records_count_as_unpaid_and_explicit_unpaid_too():
    records = [*paid("2024-01", "2024-10"), MonthRecord(M("2024-11"), UNPAID)]
    r = report(records, date(2025, 1, 5), enrolled="2024-01")
    assert (r.current.first, r.current.last, r.current.months) == (M("2024-11"), M("2024-12"), 2)
    assert r.current.open


def test_gap_crossing_new_year_counts_months_across_the_year_boundary():
    records = paid("2024-01", "2024-10")
    r = report(records, date(2025, 2, 1), enrolled="2024-01")
    assert r.current.first == M("2024-11") and r.current.last == M("2025-01")
    assert r.current.months == 3


def test_three_month_line_is_the_due_date_of_the_fourth_month():
    r = report(paid("2024-01", "2024-10"), date(2024, 12, 20), enrolled="2024-01")
    assert r.line.last_day_within == date(2025, 2, 28)  # Nov, Dec, Jan missed; Feb due on Feb 28
    assert r.line.first_day_beyond == date(2025, 3, 1)
    assert not r.line.passed(date(2025, 2, 28)) and r.line.passed(date(2025, 3, 1))


def test_three_month_line_lands_on_february_29_in_a_leap_year():
    r = report(paid("2027-01", "2027-10"), date(2027, 12, 5), enrolled="2027-01")
    assert r.line.last_day_within == date(2028, 2, 29)
    assert r.line.first_day_beyond == date(2028, 3, 1)


def test_three_month_line_with_a_next_month_due_day():
    line = three_month_line(M("2025-01"), due_day_next_month=15)
    assert line.last_day_within == date(2025, 5, 15)  # April is due on May 15
    assert date_gap_reaches(M("2025-01"), 4, due_day_next_month=15) == line.first_day_beyond


def test_date_gap_reaches_one_and_two_months():
    assert date_gap_reaches(M("2025-11"), 1) == date(2025, 12, 1)
    assert date_gap_reaches(M("2025-11"), 2) == date(2026, 1, 1)


def test_open_gap_past_the_line_is_reported_as_passed():
    r = report(paid("2020-01", "2024-06"), date(2025, 1, 15))
    assert r.current.months == 6 and r.line.passed(date(2025, 1, 15))
    assert r.line.days_left(date(2025, 1, 15)) < 0


def test_back_paid_months_close_the_gap_and_keep_continuity():
    records = [*paid("2024-01", "2024-06"), *paid("2024-07", "2024-09", BACK), *paid("2024-10", "2025-03")]
    r = report(records, date(2025, 4, 2), enrolled="2024-01")
    assert r.current is None and r.gaps == ()
    assert r.repaired == (Gap(M("2024-07"), M("2024-09"), paid_back=True),)
    assert r.continuous_months == 15


def test_partly_back_paid_gap_leaves_the_unpaid_rest():
    records = [*paid("2024-01", "2024-06"), *paid("2024-07", "2024-08", BACK)]
    r = report(records, date(2024, 11, 1), enrolled="2024-01")
    assert r.current == Gap(M("2024-09"), M("2024-10"), open=True)


def test_paid_beats_a_duplicate_unpaid_line():
    records = [MonthRecord(M("2025-01"), UNPAID), MonthRecord(M("2025-01"), PAID)]
    assert report(records, date(2025, 2, 3), enrolled="2025-01").current is None


def test_resumed_payment_closes_the_gap_but_keeps_it_as_current():
    records = [*paid("2024-01", "2024-03"), *paid("2024-06", "2024-12")]
    r = report(records, date(2025, 1, 2), enrolled="2024-01")
    assert r.current == Gap(M("2024-04"), M("2024-05"), open=False)
    assert r.line is None


def test_paying_the_not_yet_due_month_stops_the_gap_being_open():
    records = [*paid("2024-01", "2024-12"), *paid("2025-04", "2025-04")]
    r = report(records, date(2025, 4, 10), enrolled="2024-01")
    assert r.current.months == 3 and not r.current.open


def test_past_gaps_are_listed_oldest_first():
    records = [*paid("2020-01", "2020-05"), *paid("2020-08", "2021-12"), *paid("2022-04", "2025-03")]
    r = report(records, date(2025, 4, 1))
    assert [(g.first, g.months) for g in r.gaps] == [(M("2020-06"), 2), (M("2022-01"), 3)]
    assert r.missed_months == 5


def test_continuity_passes_over_short_gaps_and_stops_at_a_long_one():
    records = [*paid("2020-01", "2020-05"), *paid("2021-01", "2022-12"), *paid("2023-03", "2025-03")]
    r = report(records, date(2025, 4, 1), continuity_reset_after=6)
    # 2023-03..2025-03 = 25 months, the 2-month gap is passed over, 2021..2022 = 24, then a 7-month gap
    assert r.continuous_months == 49


def test_gap_of_exactly_the_threshold_does_not_reset_continuity():
    records = [*paid("2021-01", "2022-12"), *paid("2023-07", "2025-03")]
    assert report(records, date(2025, 4, 1), enrolled="2021-01").continuous_months == 21 + 24
    records = [*paid("2021-01", "2022-12"), *paid("2023-08", "2025-03")]
    assert report(records, date(2025, 4, 1), enrolled="2021-01").continuous_months == 20


def test_continuity_stops_at_any_gap_when_no_threshold():
    records = [*paid("2021-01", "2022-12"), *paid("2023-03", "2025-03")]
    r = report(records, date(2025, 4, 1), enrolled="2021-01", continuity_reset_after=None)
    assert r.continuous_months == 25


def test_open_gap_longer_than_the_threshold_loses_continuity():
    records = paid("2023-01", "2024-06")
    assert report(records, date(2025, 2, 1), enrolled="2023-01").continuity_lost  # 7 months
    assert not report(records, date(2025, 1, 1), enrolled="2023-01").continuity_lost  # 6 months


def test_records_before_enrolment_are_ignored():
    r = report(paid("2019-01", "2019-12"), date(2020, 2, 1), enrolled="2020-01")
    assert r.current == Gap(M("2020-01"), M("2020-01"), open=True)
    assert r.latest_paid is None and r.continuous_months == 0


def test_retiree_with_required_years_never_has_a_gap():
    r = detect_gaps([], scheme=Scheme.RETIREE, enrolled_from=M("2000-01"), as_of=date(2025, 6, 1),
                    has_required_years=True)
    assert r.gaps == () and r.line is None


def test_retiree_short_of_the_required_years_is_checked_like_a_payer():
    r = detect_gaps([], scheme=Scheme.RETIREE, enrolled_from=M("2025-01"), as_of=date(2025, 6, 1))
    assert r.current.months == 5


def test_employee_scheme_uses_the_same_month_logic():
    r = report(paid("2025-01", "2025-02"), date(2025, 5, 1), enrolled="2025-01", scheme=Scheme.EMPLOYEE)
    assert r.current == Gap(M("2025-03"), M("2025-04"), open=True)


# --- 居民医保 -----------------------------------------------------------------------------------

SEPT_DEC = CollectionPeriod.parse("09-01", "12-31")
JIANGXI = CollectionPeriod.parse("09-15", "02-28")


def resident(records, as_of: date, enrolled: str = "2022-01", period=SEPT_DEC):
    return detect_gaps(records, scheme=Scheme.RESIDENT, enrolled_from=M(enrolled), as_of=as_of,
                       policy=GapPolicy(resident_period=period))


def year(y: int) -> MonthRecord:
    return MonthRecord(Month(y, 1))


def test_collection_period_bounds_within_a_year_and_across_new_year():
    assert SEPT_DEC.bounds(2025) == (date(2024, 9, 1), date(2024, 12, 31))
    assert JIANGXI.bounds(2025) == (date(2024, 9, 15), date(2025, 2, 28))
    assert JIANGXI.bounds(2029) == (date(2028, 9, 15), date(2029, 2, 28))


def test_collection_period_ending_on_february_29_is_clamped_in_common_years():
    leap_end = CollectionPeriod.parse("09-01", "02-29")
    assert leap_end.bounds(2028)[1] == date(2028, 2, 29)
    assert leap_end.bounds(2027)[1] == date(2027, 2, 28)


@pytest.mark.parametrize("bad", ["13-01", "02-30", "x"])
def test_collection_period_rejects_bad_month_days(bad):
    with pytest.raises(ValueError):
        CollectionPeriod.parse("09-01", bad)


def test_unpaid_next_year_while_the_period_is_open_is_a_coming_gap():
    r = resident([year(2022), year(2023), year(2024), year(2025)], date(2025, 11, 20))
    assert r.current is None
    assert r.coming == Gap(M("2026-01"), M("2026-12"), open=True, unit="year", deadline=date(2025, 12, 31))


def test_coming_gap_deadline_runs_into_the_next_year_for_jiangxi():
    r = resident([year(2023), year(2024)], date(2025, 1, 20), enrolled="2023-01", period=JIANGXI)
    assert r.coming.deadline == date(2025, 2, 28) and r.coming.first == M("2025-01")
    assert r.current is None  # 2025 is not missed until the period ends


def test_year_is_missed_once_its_period_has_ended():
    r = resident([year(2022), year(2023)], date(2025, 1, 1))
    assert r.current == Gap(M("2024-01"), M("2025-12"), open=True, unit="year")
    assert r.current.years == 2 and r.coming is None


def test_paid_next_year_has_no_coming_gap_and_counts_continuity_in_years():
    r = resident([year(y) for y in range(2022, 2027)], date(2025, 10, 1))
    assert r.coming is None and r.current is None
    assert r.continuous_months == 60


def test_resident_gap_of_a_whole_year_resets_continuity():
    r = resident([year(2022), year(2024), year(2025)], date(2025, 6, 1))
    assert r.past == () and r.current == Gap(M("2023-01"), M("2023-12"), unit="year")
    assert r.continuous_months == 24


def test_resident_scheme_needs_a_collection_period():
    with pytest.raises(ValueError, match="集中缴费期"):
        detect_gaps([], scheme=Scheme.RESIDENT, enrolled_from=M("2024-01"), as_of=date(2025, 1, 1))


# --- properties ------------------------------------------------------------------------------

months_2020s = st.integers(Month(2020, 1).index, Month(2026, 12).index).map(Month.from_index)


@given(st.sets(months_2020s, max_size=60), st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 3, 1)))
def test_gaps_and_covered_months_partition_the_due_months(paid_months, as_of):
    r = detect_gaps([MonthRecord(m) for m in paid_months], scheme=Scheme.FLEXIBLE,
                    enrolled_from=Month(2020, 1), as_of=as_of)
    if r.last_due is None:
        assert r.gaps == ()
        return
    due = set(month_range(Month(2020, 1), r.last_due))
    in_gaps = {m for g in r.gaps for m in month_range(g.first, g.last)}
    assert in_gaps == due - paid_months
    assert r.continuous_months <= len(paid_months)
    assert sum(1 for g in r.gaps if g.open) <= 1


@given(months_2020s, st.integers(min_value=1, max_value=28) | st.none())
def test_gap_reaches_the_line_exactly_on_first_day_beyond(first, due_day):
    line = three_month_line(first, due_day)
    assert date_gap_reaches(first, 4, due_day) == line.first_day_beyond
    assert last_due_month(line.last_day_within, due_day) == first + 2
    assert last_due_month(line.first_day_beyond, due_day) == first + 3
