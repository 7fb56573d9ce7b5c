"""Every example of shared/policy-facts.md as a named test, through the shipped rule files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.months import Month
from miniservice.rules.quote_model import Route
from miniservice.rules.schema import ContinuityEffect
from tests.rules.helpers import POLICIES, gap_quote


def test_shenzhen_four_months_at_8000_costs_3200_and_resumes_next_month(book):
    q = gap_quote(book, "440300", "2025-01", "2025-04", date(2025, 5, 20))
    data = q.to_json()
    assert data["totals"]["contributions"] == "3200.00"
    assert [m["base"] for m in data["months"]] == ["8000.00"] * 4
    assert data["benefits"]["resume_on"] == "2025-06-01" and data["benefits"]["waiting_months"] == 0
    wage = data["citations"]["wage.average_monthly.2024"]
    assert wage["file"] == "440300.toml" and wage["illustrative"] is True and "社保网" in wage["source"]
    assert wage["sources"][0]["id"] == "art-taiyuan" and "张女士断缴4个月" in wage["sources"][0]["quote"]
    assert data["illustrative"] is True


def test_beijing_three_month_gap_resumes_next_month_without_waiting(book):
    q = gap_quote(book, "110000", "2025-02", "2025-04", date(2025, 5, 10), scheme=Scheme.EMPLOYEE)
    assert (q.benefits.resume_on, q.benefits.waiting_months) == (date(2025, 6, 1), 0)
    assert q.continuity.effect is ContinuityEffect.KEPT
    assert q.citations[q.benefits.cites[0]].file == "110000.toml"


def test_beijing_four_month_gap_needs_six_months_of_payment_first(book):
    q = gap_quote(book, "110000", "2025-01", "2025-04", date(2025, 5, 10), scheme=Scheme.EMPLOYEE)
    assert q.benefits.waiting_months == 6
    assert q.benefits.resume_on == date(2025, 11, 1)  # May..Oct paid, benefits from November
    assert q.benefits.waiting_ends == date(2025, 10, 31)
    assert q.continuity.effect is ContinuityEffect.RECOUNTED


def test_beijing_line_advice_says_paying_by_the_fourth_due_date_avoids_six_months(book):
    q = gap_quote(book, "110000", "2025-02", "2025-03", date(2025, 4, 10), scheme=Scheme.EMPLOYEE)
    assert q.line.last_day_within == date(2025, 5, 31) and not q.line.passed
    assert q.line.avoided_waiting_months == 6


def test_chengdu_waits_six_months_only_above_four_months(book):
    four = gap_quote(book, "510100", "2025-01", "2025-04", date(2025, 5, 10))
    five = gap_quote(book, "510100", "2024-12", "2025-04", date(2025, 5, 10))
    assert four.benefits.waiting_months == 0
    assert five.benefits.waiting_months == 6 and five.benefits.resume_on == date(2025, 11, 1)
    assert five.route.possible  # 成都: 补缴后需连续缴费满6个月, so back-pay is accepted


@pytest.mark.parametrize("scheme", [Scheme.EMPLOYEE, Scheme.FLEXIBLE])
def test_xiamen_continuity_below_twelve_months_pays_half(book, scheme):
    q = gap_quote(book, "350200", "2025-03", "2025-04", date(2025, 5, 10), scheme=scheme,
                  continuous_months_before=5)
    assert q.continuity.months_after == 7
    assert q.reduced_ratio.ratio == Decimal("0.5") and q.reduced_ratio.below_months == 12
    assert q.reduced_ratio.normal_from == date(2025, 10, 1)  # May..Sep adds 5 → 12 months
    assert {q.citations[k].file for k in q.reduced_ratio.cites} == {"350000.toml"}


def test_xiamen_long_continuity_is_not_reduced_and_beijing_never_is(book):
    assert gap_quote(book, "350200", "2025-03", "2025-04", date(2025, 5, 10),
                     continuous_months_before=30).reduced_ratio is None
    assert gap_quote(book, "110000", "2025-03", "2025-04", date(2025, 5, 10),
                     continuous_months_before=5).reduced_ratio is None


def test_yichang_lapse_up_to_60_days_resumes_next_month(book):
    q = gap_quote(book, "420500", "2025-01", "2025-02", date(2025, 3, 2))  # 60 days since Jan 1
    assert q.benefits.resume_on == date(2025, 4, 1) and q.benefits.waiting_months == 0


def test_yichang_lapse_61_to_180_days_waits_three_months_from_the_paying_month(book):
    q61 = gap_quote(book, "420500", "2025-01", "2025-02", date(2025, 3, 3))
    q180 = gap_quote(book, "420500", "2025-01", "2025-06", date(2025, 6, 30))
    assert (q61.benefits.resume_on, q61.benefits.waiting_months) == (date(2025, 6, 1), 3)
    assert q180.benefits.waiting_months == 3 and q180.continuity.effect is ContinuityEffect.KEPT


def test_yichang_keeping_continuity_after_61_to_180_days_is_example_data(book):
    """Issue 15: 宜昌's rule states the 3-month wait for this band but is silent on continuity, which the
    band keeps; only the lapse over 180 days is said to lose it. The band is 示例数据 and says why."""
    q = gap_quote(book, "420500", "2025-01", "2025-03", date(2025, 4, 10), continuous_months_before=24)

    key = q.benefits.cites[0]
    band = q.citations[key]
    assert key == "flexible.waiting.self_bands[1]" and q.continuity.effect is ContinuityEffect.KEPT
    assert band.illustrative and key in q.illustrative_keys and key in q.continuity.cites
    assert "没有说中断前的缴费时间是否还计入连续缴费时间" in band.note


def test_yichang_lapse_over_180_days_is_a_new_enrolment(book):
    q = gap_quote(book, "420500", "2025-01", "2025-06", date(2025, 7, 1), continuous_months_before=40)
    assert q.continuity.effect is ContinuityEffect.RESET and q.continuity.months_after == 0
    band = q.citations[q.benefits.cites[0]]
    assert band.illustrative and "视同重新参加" in band.main.quote and "宜昌市" in band.source


def test_ningbo_gap_bills_are_reimbursable_up_to_three_months_only(book):
    short = gap_quote(book, "330200", "2025-02", "2025-04", date(2025, 5, 10))
    long = gap_quote(book, "330200", "2025-01", "2025-04", date(2025, 5, 10))
    assert short.benefits.gap_bills_reimbursable and "零星报销" in short.benefits.rule
    assert short.citations[short.benefits.cites[0]].file == "330200.toml"
    assert not long.benefits.gap_bills_reimbursable


def test_national_flexible_gap_over_three_months_waits_until_the_fourth_paid_month(book):
    q = gap_quote(book, "140100", "2025-01", "2025-05", date(2025, 6, 10))
    assert q.benefits.resume_on == date(2025, 9, 1)  # June, July, August paid; September is the 4th
    assert q.benefits.waiting_months == 3
    band = q.citations[q.benefits.cites[0]]
    assert band.main.doc.id == "art-can-stop" and "第4个月起享受待遇" in band.main.quote
    assert [d.says for d in band.differs] == ["断缴4个月的例子需等待6个月才恢复待遇", "断缴3至6个月需等待1至6个月"]


def test_national_flexible_gap_within_three_months_resumes_next_month(book):
    q = gap_quote(book, "140100", "2025-03", "2025-05", date(2025, 6, 10))
    assert q.benefits.resume_on == date(2025, 7, 1) and q.benefits.waiting_months == 0


def test_nanjing_and_shanghai_citizens_may_back_pay_only_the_last_three_months(book):
    for region in ("320100", "310000"):
        ok = gap_quote(book, region, "2025-03", "2025-05", date(2025, 6, 10))
        too_old = gap_quote(book, region, "2025-02", "2025-05", date(2025, 6, 10))
        assert ok.route.how is Route.ONLINE
        # the last three months of the longer gap can be paid; its first month stays a break
        assert too_old.route.how is Route.ONLINE and too_old.route.unpayable == (Month(2025, 2),)
        assert [line.month for line in too_old.lines] == [line.month for line in ok.lines]
        assert too_old.continuity.effect is not ContinuityEffect.KEPT


def test_unit_caused_gap_costs_the_citizen_nothing_and_resumes_the_day_after_arrival(book):
    q = gap_quote(book, "310000", "2025-01", "2025-04", date(2025, 5, 20), scheme=Scheme.EMPLOYEE,
                  cause=Cause.UNIT)
    data = q.to_json()
    assert data["totals"]["citizen_owes"] == "0.00"
    assert data["totals"]["unit_owes"] == data["totals"]["total"] != "0.00"
    assert {m["payer"] for m in data["months"]} == {"unit"}
    assert q.benefits.resume_on == date(2025, 5, 21) and q.benefits.gap_bills_reimbursable
    assert q.route.how is Route.WINDOW and "《社会保险补缴明细表》和《基本医疗保险补缴情况表》(加盖公章)" in \
        q.guidance.materials


def test_unit_may_back_pay_at_most_two_years(book):
    q = gap_quote(book, "310000", "2023-01", "2023-04", date(2025, 5, 20), scheme=Scheme.EMPLOYEE,
                  cause=Cause.UNIT)
    assert not q.route.possible and q.route.code == "unit_window_passed" and "24 个月" in q.route.reason


def test_self_caused_late_fee_is_five_per_ten_thousand_per_day_from_the_due_date(book):
    q = gap_quote(book, "440300", "2025-04", "2025-04", date(2025, 5, 20))
    line = q.lines[0]
    assert line.due_date == date(2025, 4, 30) and line.late_days == 20
    assert line.late_fee == Decimal(800) * Decimal("0.0005") * 20  # 8.00 元
    assert q.to_json()["totals"]["late_fee"] == "8.00"


def test_unemployed_base_is_sixty_percent_and_the_fund_pays(book):
    q = gap_quote(book, "440300", "2025-03", "2025-04", date(2025, 5, 20), unemployed=True)
    assert q.lines[0].base == Decimal(8000) * Decimal("0.60")
    assert q.totals.citizen_owes == 0 and q.totals.fund_owes == Decimal(4800) * Decimal("0.10") * 2
    assert q.totals.late_fee == 0


def test_unit_declared_wage_is_clamped_to_the_base_band(book):
    low = gap_quote(book, "440300", "2025-04", "2025-04", date(2025, 5, 20), scheme=Scheme.EMPLOYEE,
                    cause=Cause.UNIT, declared_base=Decimal(2000), base_source="declared_input")
    high = gap_quote(book, "440300", "2025-04", "2025-04", date(2025, 5, 20), scheme=Scheme.EMPLOYEE,
                     cause=Cause.UNIT, declared_base=Decimal(99999), base_source="declared_input")
    assert low.lines[0].base == Decimal(4800) and high.lines[0].base == Decimal(24000)


def test_chengdus_unlimited_back_pay_window_is_marked_an_estimate(book):
    """Audit finding 7: no source says how far back 成都 lets a citizen pay; a 10-year quote rested on it."""
    result = gap_quote(book, "510100", "2015-01", "2024-12", date(2025, 2, 20))

    assert result.route.possible and "flexible.backpay.self_window_months" in result.illustrative_keys


REGIONS = sorted(p.stem for p in POLICIES.glob("*.toml") if p.stem.isdigit())


@pytest.mark.parametrize("scheme", [Scheme.EMPLOYEE, Scheme.FLEXIBLE])
@pytest.mark.parametrize("region", REGIONS)
def test_a_three_month_gap_is_never_told_its_rule_is_for_fewer_than_three_months(book, region, scheme):
    """Audit finding 20: the band for 1–3 months was labelled and cited “欠费不足3个月”."""
    q = gap_quote(book, region, "2025-01", "2025-03", date(2025, 4, 10), scheme=scheme)
    cited = q.to_json()["citations"][q.benefits.cites[0]]
    assert "不足3个月" not in q.benefits.rule
    if "不足3个月" in cited["sources"][0]["quote"]:  # the article's words leave exactly 3 months open
        assert any("3个月(含)" in source["quote"] for source in cited["sources"]) and "正好3个月" in cited["note"]


@pytest.mark.parametrize("scheme", [Scheme.EMPLOYEE, Scheme.FLEXIBLE])
def test_beijing_over_six_months_resets_continuity_as_the_national_rule_does(book, scheme):
    """Audit finding 25: 北京's two bands replaced the national >6-month band, so its continuity was only
    recounted; 北京's source says nothing beyond 3 months, so the national reset applies, with a note."""
    beijing = gap_quote(book, "110000", "2025-01", "2025-07", date(2025, 8, 15), scheme=scheme)
    national = gap_quote(book, "440100", "2025-01", "2025-07", date(2025, 8, 15), scheme=scheme)
    assert beijing.continuity.effect is national.continuity.effect is ContinuityEffect.RESET
    assert beijing.benefits.waiting_months == 6  # 北京: 连续缴费满6个月
    assert "没有说" in beijing.to_json()["citations"][beijing.benefits.cites[0]]["note"]


def test_yichang_says_from_which_day_it_counts_and_marks_that_reading_illustrative(book):
    """Audit finding 24: day 0 or day 1, and from when, moved every 宜昌 line silently."""
    q = gap_quote(book, "420500", "2025-03", "2025-03", date(2025, 4, 30))
    key = "flexible.waiting.measure"
    assert q.benefits.waiting_months == 0  # 03-01 is day 0, so 04-30 is day 60: still “60天内(含60天)”
    assert key in q.benefits.cites and key in q.line.cites and key in q.to_json()["illustrative_keys"]
    assert "第0天" in q.citations[key].note and q.citations[key].illustrative


@pytest.mark.parametrize("region", ["110000", "510100"])
def test_resetting_continuity_after_six_months_in_beijing_and_chengdu_is_example_data(book, region):
    """Issue 15: neither city's own source says what a gap over 6 months does to continuity; the reset is
    another source's general statement, so the band is 示例数据 and its note says the city is silent."""
    q = gap_quote(book, region, "2025-01", "2025-07", date(2025, 8, 20), continuous_months_before=24)

    key = q.continuity.cites[0]
    band = q.citations[key]
    assert q.continuity.effect is ContinuityEffect.RESET
    assert band.illustrative and key in q.illustrative_keys
    assert "没有说断缴超过6个月对连续缴费年限的影响" in band.note
