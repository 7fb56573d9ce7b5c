"""Retirement top-up: required years by region and sex, one-off vs year-by-year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from miniservice.rules.citing import FactError, QuoteError
from miniservice.rules.kinds import Scheme, Sex
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts, Route


def retiree(book, region: str, sex: Sex | None, paid_years: int, actual_years: int | None = None):
    facts = CitizenFacts(region, Scheme.RETIREE, sex=sex, birth_date=date(1970, 3, 1), paid_months=paid_years * 12,
                         actually_paid_months=None if actual_years is None else actual_years * 12)
    return quote(book.region_for(region), facts, date(2025, 6, 1))


def test_nanchang_woman_with_20_years_is_5_years_short(book):
    q = retiree(book, "360100", Sex.FEMALE, 20, actual_years=18)
    top = q.retirement
    assert (top.required_months, top.short_months) == (300, 60)
    assert top.one_off == Decimal("6303.33") * Decimal("0.10") * 60  # 37,819.98 元
    assert q.to_json()["retirement"]["one_off"] == "37819.98"
    assert q.to_json()["retirement"]["short_years"] == "5"
    assert top.age == 55
    assert q.citations["retiree.required_years_female"].file == "360100.toml"


def test_a_retirees_allowed_top_up_is_a_possible_route_at_the_window(book):
    route = retiree(book, "360100", Sex.MALE, 15).route
    assert (route.possible, route.how, route.code) == (True, Route.WINDOW, "retiree_top_up")
    assert "retiree.top_up_allowed" in route.cites


def test_a_retiree_with_the_years_has_nothing_to_pay(book):
    route = retiree(book, "360100", Sex.MALE, 30).route
    assert (route.possible, route.code) == (False, "retiree_nothing_short")


def test_year_by_year_costs_more_than_one_off_under_the_stated_growth(book):
    top = retiree(book, "360100", Sex.FEMALE, 20, actual_years=18).retirement
    assert top.year_by_year_total > top.one_off
    growth = top.assumed_wage_growth
    expected = sum(Decimal("6303.33") * (1 + growth) ** year * Decimal("0.10") * 12 for year in range(5))
    assert top.year_by_year_total == expected


def test_growth_assumption_is_cited_as_illustrative(book):
    q = retiree(book, "360100", Sex.FEMALE, 20, actual_years=18)
    assert q.citations["retiree.assumed_wage_growth"].illustrative
    assert q.illustrative


def test_nanchang_man_needs_30_years(book):
    assert retiree(book, "360100", Sex.MALE, 25, actual_years=20).retirement.short_months == 60


def test_actually_paid_years_can_be_the_binding_shortfall(book):
    top = retiree(book, "360100", Sex.FEMALE, 26, actual_years=12).retirement
    assert top.short_months == 36  # total is met; actual 12 of 15 years


def test_national_example_is_25_years_with_5_actually_paid(book):
    assert retiree(book, "110000", Sex.MALE, 25, actual_years=5).retirement.short_months == 0
    assert retiree(book, "110000", Sex.MALE, 25, actual_years=4).retirement.short_months == 12


def test_zhuhai_retiree_below_20_years_may_top_up(book):
    q = retiree(book, "440400", Sex.MALE, 18)
    assert q.retirement.short_months == 24 and q.retirement.allowed
    assert "《珠海市社会保险费补缴申请表》" in q.guidance.materials


def test_retiree_with_the_required_years_owes_nothing(book):
    top = retiree(book, "440400", Sex.FEMALE, 21).retirement
    assert top.short_months == 0 and top.one_off == 0 and top.year_by_year_total == 0


def test_retirement_top_up_needs_sex(book):
    with pytest.raises(QuoteError, match="sex"):
        retiree(book, "360100", None, 20)


@pytest.mark.parametrize(("sex", "birth", "age"), [
    (Sex.MALE, date(2020, 1, 1), 5),  # audit finding 13: a top-up of 163,886.58 元 was quoted for a 5-year-old
    (Sex.MALE, date(1975, 6, 2), 49),
    (Sex.FEMALE, date(1980, 6, 2), 44),
])
def test_no_top_up_is_quoted_below_the_earliest_retirement_age(book, sex, birth, age):
    facts = CitizenFacts("360100", Scheme.RETIREE, sex=sex, birth_date=birth, paid_months=100)
    with pytest.raises(FactError) as refused:
        quote(book.region_for("360100"), facts, date(2025, 6, 1))
    assert refused.value.field == "birth"
    assert f"才 {age} 周岁" in str(refused.value) and "还不能办理退休补缴" in str(refused.value)


@pytest.mark.parametrize(("sex", "birth"), [(Sex.MALE, date(1975, 6, 1)), (Sex.FEMALE, date(1980, 6, 1))])
def test_from_the_earliest_retirement_age_the_top_up_is_quoted_and_the_age_rule_cited(book, sex, birth):
    facts = CitizenFacts("360100", Scheme.RETIREE, sex=sex, birth_date=birth, paid_months=100)
    q = quote(book.region_for("360100"), facts, date(2025, 6, 1))
    key = f"retiree.earliest_age_{sex.value}"
    assert q.retirement.short_months > 0 and key in q.retirement.cites
    assert "国发〔1978〕104号" in q.citations[key].source and q.citations[key].shown.endswith("周岁")


def test_without_a_birth_date_the_age_is_not_checked_nor_cited(book):
    q = retiree(book, "360100", Sex.MALE, 10)
    assert q.retirement.short_months > 0
    facts = CitizenFacts("360100", Scheme.RETIREE, sex=Sex.MALE, paid_months=120)
    plain = quote(book.region_for("360100"), facts, date(2025, 6, 1))
    assert not [k for k in plain.citations if k.startswith("retiree.earliest_age")]


@pytest.mark.parametrize(("sex", "paid", "actual", "years"), [
    (Sex.FEMALE, 300, 100, "6.67"),  # audit finding 12: was "6.666666666666666666666666667"
    (Sex.MALE, 359, None, "0.08"),
    (Sex.MALE, 300, None, "5"),
])
def test_short_years_are_rounded_half_up_to_two_decimals(book, sex, paid, actual, years):
    facts = CitizenFacts("360100", Scheme.RETIREE, sex=sex, paid_months=paid, actually_paid_months=actual)
    data = quote(book.region_for("360100"), facts, date(2025, 4, 15)).to_json()["retirement"]
    assert data["short_years"] == years
    assert Decimal(years) == round(Decimal(data["short_months"]) / 12, 2)


def test_rules_stored_before_the_age_figures_still_quote_without_the_check():
    """Rule versions stored before ``earliest_age_*`` existed still resolve; no age is checked then."""
    from miniservice.rules.loading import rulebook_from_texts
    from tests.rules.helpers import NATIONAL_TEXT

    old = "\n".join(line for line in NATIONAL_TEXT.splitlines() if not line.startswith("earliest_age_"))
    rules = rulebook_from_texts({"national.toml": old}).resolve("national")
    facts = CitizenFacts("national", Scheme.RETIREE, sex=Sex.MALE, birth_date=date(2020, 1, 1), paid_months=100)
    assert rules.retiree.earliest_age_male is None
    assert quote(rules, facts, date(2025, 6, 1)).retirement.short_months > 0
