"""居民医保 quotes: 集中缴费期, 3-month fixed wait, +1 per extra 断保 year, repair, 6-month floor."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from miniservice.rules.kinds import Scheme
from miniservice.rules.loading import rulebook_from_texts
from miniservice.rules.months import BeyondYears, Month
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts, Route
from tests.rules.helpers import NATIONAL_TEXT, POLICIES, region_text

CLOSED_OFF_PERIOD = ('[resident]\noff_period_enrolment = { value = false, source = "art-taiyuan", '
                     'quote = "通常只能等待下一年度集中缴费期重新参保" }\n')


def resident_quote(book, region: str, on: date, first: str | None = None, last: str | None = None, **facts):
    gap = (Month.parse(first), Month.parse(last)) if first and last else (None, None)
    return quote(book.region_for(region), CitizenFacts(region, Scheme.RESIDENT, *gap, **facts), on)


def test_paying_inside_the_period_has_no_wait_and_covers_next_year(book):
    q = resident_quote(book, "360100", date(2024, 11, 1))
    assert q.resident.in_period and q.resident.coverage_year == 2025
    assert q.benefits.waiting_months == 0 and q.benefits.resume_on == date(2025, 1, 1)
    assert q.to_json()["totals"]["citizen_owes"] == "400.00"  # 江西 and the national minimum, not 南昌's 380
    premium = q.citations["resident.premium.2025"]
    assert [d.says for d in premium.differs] == ["南昌每人每年380元"]


def test_jiangxi_period_runs_into_february_and_then_covers_from_next_month(book):
    q = resident_quote(book, "360100", date(2025, 2, 10))
    assert q.resident.in_period and q.resident.period_end == date(2025, 2, 28)
    assert q.benefits.resume_on == date(2025, 3, 1)


def test_paying_after_new_year_in_the_period_cites_why_cover_starts_next_month(book):
    """Audit finding 23: covered from the next month, not 1 January, was an uncited engine choice."""
    nanchang = resident_quote(book, "360100", date(2026, 2, 28))
    jiangxi = resident_quote(book, "360000", date(2026, 2, 28))
    key = "resident.from_next_month_after_new_year"
    assert nanchang.benefits.resume_on == jiangxi.benefits.resume_on == date(2026, 3, 1)
    assert "1月1日之后缴费" in nanchang.benefits.rule and "次月" in nanchang.benefits.rule
    assert key in nanchang.benefits.cites and key in jiangxi.benefits.cites
    assert not nanchang.citations[key].illustrative  # 南昌's own article says so
    assert jiangxi.citations[key].illustrative and key in jiangxi.to_json()["illustrative_keys"]
    assert key not in resident_quote(book, "360100", date(2025, 12, 1)).citations  # before 1 January: not used


def test_a_region_whose_cover_starts_on_1_january_even_when_paid_later(book):
    body = ('[resident]\nperiod_end = { value = "02-28", source = "art-jiangxi-period", quote = "2025年2月28日" }\n'
            'from_next_month_after_new_year = { value = false, source = "art-jiangxi-period", quote = "x" }\n')
    whole = rulebook_from_texts({"national.toml": NATIONAL_TEXT, "110000.toml": region_text("110000", body)})
    q = quote(whole.resolve("110000"), CitizenFacts("110000", Scheme.RESIDENT), date(2026, 2, 10))
    assert q.resident.in_period and q.benefits.resume_on == date(2026, 1, 1)


def test_rules_stored_before_the_new_year_figure_still_quote_as_before():
    """Rule versions stored before ``from_next_month_after_new_year`` existed still resolve (a release must
    not break the quotes of dates still governed by them); cover then starts the next month, uncited."""
    old = "\n".join(line for line in NATIONAL_TEXT.splitlines()
                    if not line.startswith("from_next_month_after_new_year"))
    body = '[resident]\nperiod_end = { value = "02-28", source = "art-jiangxi-period", quote = "2025年2月28日" }\n'
    rules = rulebook_from_texts({"national.toml": old, "110000.toml": region_text("110000", body)}).resolve("110000")
    assert rules.resident.from_next_month_after_new_year is None
    q = quote(rules, CitizenFacts("110000", Scheme.RESIDENT), date(2026, 2, 10))
    assert q.resident.in_period and q.benefits.resume_on == date(2026, 3, 1)
    assert "resident.from_next_month_after_new_year" not in q.citations


def test_outside_the_period_the_fixed_wait_is_three_months(book):
    q = resident_quote(book, "110000", date(2025, 5, 10))
    assert not q.resident.in_period and q.route.how is Route.ONLINE
    assert (q.resident.fixed_wait_months, q.resident.variable_wait_months) == (3, 0)
    assert q.benefits.resume_on == date(2025, 8, 10)


@pytest.mark.parametrize(("gap_years", "expected"), [(1, 3), (2, 4), (3, 5), (4, 6), (5, 7)])
def test_each_extra_year_of_gap_adds_one_month(book, gap_years, expected):
    last = 2025 + gap_years - 1
    q = resident_quote(book, "110000", date(last + 1, 5, 10), "2025-01", f"{last}-12")
    assert q.resident.gap_years_counted == gap_years
    assert q.benefits.waiting_months == expected


def test_four_years_of_gap_wait_six_months(book):
    q = resident_quote(book, "110000", date(2029, 5, 10), "2025-01", "2028-12")
    assert q.benefits.waiting_months == 6 and q.benefits.resume_on == date(2029, 11, 10)


def test_payment_repair_removes_a_month_per_year_paid_back(book):
    q = resident_quote(book, "110000", date(2028, 5, 10), "2025-01", "2027-12", resident_repair_years=1)
    assert q.benefits.waiting_months == 4
    assert q.resident.repair_amount == q.resident.premium
    assert q.totals.citizen_owes == 2 * q.resident.premium


def test_repair_cannot_go_below_six_months_after_four_years_of_gap(book):
    q = resident_quote(book, "110000", date(2030, 5, 10), "2025-01", "2029-12", resident_repair_years=5)
    assert q.benefits.waiting_months == 6


def test_gap_years_before_the_counting_year_do_not_count(book):
    q = resident_quote(book, "110000", date(2026, 5, 10), "2022-01", "2025-12")
    assert q.resident.gap_years_counted == 1 and q.benefits.waiting_months == 3


def test_gap_years_can_be_given_as_a_number(book):
    q = resident_quote(book, "110000", date(2026, 5, 10), resident_gap_years=4)
    assert q.benefits.waiting_months == 6


def test_missing_premium_year_falls_back_to_the_latest_and_says_so(book):
    q = resident_quote(book, "110000", date(2029, 5, 10))
    citation = q.citations["resident.premium.2026"]
    assert citation.illustrative and "暂无 2029 年的数据，按 2026 年的数据测算" in citation.note
    assert q.resident.premium == Decimal(400)


def test_region_without_off_period_enrolment_waits_for_the_next_period(book):
    body = CLOSED_OFF_PERIOD
    closed = rulebook_from_texts({"national.toml": NATIONAL_TEXT, "110000.toml": region_text("110000", body)})
    q = quote(closed.resolve("110000"), CitizenFacts("110000", Scheme.RESIDENT), date(2025, 5, 10))
    assert q.route.how is Route.NEXT_PERIOD and q.resident.coverage_year == 2026
    assert q.resident.period_start == date(2025, 9, 10)
    assert q.benefits.resume_on == date(2026, 1, 1) and q.benefits.waiting_months == 0


def test_next_period_after_a_gap_still_waits_for_the_gap(book):
    body = CLOSED_OFF_PERIOD
    closed = rulebook_from_texts({"national.toml": NATIONAL_TEXT, "110000.toml": region_text("110000", body)})
    facts = CitizenFacts("110000", Scheme.RESIDENT, resident_gap_years=2)
    q = quote(closed.resolve("110000"), facts, date(2025, 5, 10))
    assert q.benefits.waiting_months == 4 and q.benefits.resume_on == date(2026, 5, 1)


def _resident(book, region: str, on: date):
    return quote(book.region_for(region), CitizenFacts(region, Scheme.RESIDENT), on)


def test_enrolling_after_the_period_pays_for_the_year_the_benefits_fall_in(book):
    """Audit finding 1: on 2025-12-26 太原 sold the 2025 premium with benefits from 2026-03-26."""
    result = _resident(book, "140100", date(2025, 12, 26))

    assert result.resident.coverage_year == 2026 and result.route.how is Route.ONLINE
    assert result.benefits.resume_on == date(2026, 3, 26) and result.benefits.resume_on.year == 2026


def test_the_next_period_is_offered_when_it_opens_before_the_wait_would_end(book):
    """Audit finding 1: on 2025-09-09 the 2025 premium bought 22 days after a 3-month wait; the
    2026 period opened the next day, on time, without a wait."""
    result = _resident(book, "140100", date(2025, 9, 9))

    assert result.route.how is Route.NEXT_PERIOD and result.resident.coverage_year == 2026
    assert result.benefits.waiting_months == 0 and result.benefits.resume_on == date(2026, 1, 1)


@pytest.mark.parametrize("code", ["360100", "140100", "110000"])
def test_an_earlier_years_premium_standing_in_for_the_year_is_illustrative_in_every_region(book, code):
    """Audit finding 6: 南昌's 2025 premium was shown as the official 2026 premium (太原's was marked);
    any by-year fallback is an extrapolation, so the figure is 示例数据 wherever it happens."""
    q = resident_quote(book, code, date(2025, 10, 10))
    assert q.resident.coverage_year == 2026
    key = next(k for k in q.resident.cites if k.startswith("resident.premium."))
    citation = q.citations[key]
    if key != "resident.premium.2026":
        assert "暂无 2026 年的数据" in citation.note
    assert citation.illustrative and key in q.illustrative_keys and q.illustrative


def test_a_premium_for_a_year_after_2200_is_not_quoted(book):
    """Audit finding 11: on 2200-10-10 the year open for payment is 2201, which the rules cannot describe."""
    with pytest.raises(BeyondYears):
        resident_quote(book, "140100", date(2200, 10, 10))


@pytest.mark.parametrize(("code", "on", "stated_year"), [("360100", date(2026, 10, 1), 2025),
                                                        ("360000", date(2026, 10, 1), 2025),
                                                        ("140100", date(2025, 10, 1), 2025)])
def test_a_period_given_for_one_year_is_example_data_for_any_other_year(book, code, on, stated_year):
    """Issue 15: 江西's notice gives the 2025 period and the national article the 2025 one; quoting another
    year with the same month-days is an estimate, so both dates are 示例数据 and say which year they were for."""
    q = resident_quote(book, code, on)

    assert q.resident.coverage_year != stated_year and q.resident.period_estimated
    for key in ("resident.period_start", "resident.period_end"):
        citation = q.citations[key]
        assert citation.illustrative and key in q.illustrative_keys
        assert f"来源公布的是{stated_year}年度的集中缴费期" in citation.note and "以当地当年通知为准" in citation.note
    assert q.to_json()["resident"]["period_estimated"] is True
    assert q.citations["resident.period_years"].value == (stated_year,)


def test_the_period_of_the_year_its_source_states_is_not_example_data(book):
    q = resident_quote(book, "360100", date(2024, 11, 1))  # 2025, the year of 江西's notice

    assert q.resident.coverage_year == 2025 and not q.resident.period_estimated
    assert not q.citations["resident.period_start"].illustrative and not q.illustrative
    assert "resident.period_years" not in q.citations  # read only to rule the estimate out


def test_the_national_period_is_example_data_for_a_region_even_in_the_year_it_was_given_for(book):
    """The national dates are those of “全国多数地区”: no source gives them for 太原, in any year."""
    q = resident_quote(book, "140100", date(2024, 10, 1))

    citation = q.citations["resident.period_end"]
    assert q.resident.coverage_year == 2025 and q.resident.period_estimated
    assert citation.illustrative and "全国多数地区" in citation.note and "来源公布的是" not in citation.note


def test_rules_stored_before_the_period_years_figure_take_their_dates_for_every_year_as_before():
    """Rule versions stored before ``period_years`` existed still resolve and quote unchanged."""
    old = "\n".join(line for line in NATIONAL_TEXT.splitlines() if not line.startswith("period_years"))
    jiangxi = "\n".join(line for line in (POLICIES / "360000.toml").read_text(encoding="utf-8").splitlines()
                         if not line.startswith("period_years"))
    rules = rulebook_from_texts({"national.toml": old, "360000.toml": jiangxi}).resolve("360000")

    q = quote(rules, CitizenFacts("360000", Scheme.RESIDENT), date(2027, 10, 1))

    assert rules.resident.period_years is None and not q.resident.period_estimated
    assert not q.citations["resident.period_start"].illustrative
