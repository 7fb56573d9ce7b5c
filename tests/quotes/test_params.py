"""What-if input checks shared by the API, the form and the CLI (pure: no app, no database)."""

from __future__ import annotations

from datetime import date

import pytest

from miniservice.quotes.errors import BadParameter
from miniservice.quotes.params import join_day, join_month, parse_what_if, split_gap
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.months import Month

TODAY = date(2026, 11, 25)
GOOD = {"region": "440300", "scheme": "flexible", "first": "2026-07", "last": "2026-10", "cause": "self", "on": ""}


def test_a_good_request_defaults_to_a_self_caused_gap_quoted_today() -> None:
    wanted = parse_what_if(**GOOD | {"cause": None, "on": None}, today=TODAY)

    assert (wanted.region, wanted.scheme, wanted.cause, wanted.on_date) == ("440300", Scheme.FLEXIBLE, Cause.SELF,
                                                                            TODAY)
    assert (wanted.first, wanted.last) == (Month(2026, 7), Month(2026, 10))


def test_a_resident_gap_is_whole_years() -> None:
    wanted = parse_what_if(**GOOD | {"scheme": "resident", "first": "2023-01", "last": "2024-12"}, today=TODAY)

    assert (wanted.first, wanted.last) == (Month(2023, 1), Month(2024, 12))


def test_a_resident_premium_needs_no_gap() -> None:
    wanted = parse_what_if(**GOOD | {"scheme": "resident", "first": "", "last": ""}, today=TODAY)

    assert wanted.first is None and wanted.last is None


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"region": ""}, "region", "请选择地区"),
    ({"region": "44030x"}, "region", "6 位数字"),
    ({"scheme": "pension"}, "scheme", "flexible"),
    ({"scheme": "pensioner"}, "scheme", "retiree"),
    ({"region": "999999"}, "region", "GB/T 2260"),
    ({"region": "110199"}, "region", "GB/T 2260"),
    ({"on": "2201-01-01"}, "on", "2200-12-31"),
    ({"on": "9999-12-31"}, "on", "2200-12-31"),
    ({"continuous": "-3"}, "continuous", "整数"),
    ({"continuous": "99999"}, "continuous", "整数"),
    ({"base": "abc"}, "base", "缴费基数"),
    ({"base": "0"}, "base", "缴费基数"),
    ({"base": "1e9"}, "base", "缴费基数"),
    ({"sex": "male"}, "sex", "退休人员"),
    ({"cause": "boss"}, "cause", "unit"),
    ({"cause": "unit"}, "cause", "只有职工医保"),
    ({"on": "2026/11/25"}, "on", "请按 2026-11-25 这样的格式填写测算日期"),
    ({"on": "2026-02-30"}, "on", "不存在"),
    ({"first": ""}, "first", "起始月份"),
    ({"last": ""}, "last", "结束月份"),
    ({"first": "2026-13"}, "first", "请按 2025-03 这样的格式填写断缴起始月份"),
    ({"last": "2026-7-1"}, "last", "请按 2025-03 这样的格式填写断缴结束月份"),
    ({"first": "2026-7"}, "first", "请按 2025-03 这样的格式填写断缴起始月份"),
    ({"last": "2026-010"}, "last", "请按 2025-03 这样的格式填写断缴结束月份"),
    ({"first": "２０２６-07"}, "first", "请按 2025-03 这样的格式填写断缴起始月份"),
    ({"region": "４４０３００"}, "region", "6 位数字"),
    ({"base": "６０００"}, "base", "缴费基数"),
    ({"continuous": "１２"}, "continuous", "整数"),
    ({"first": "2026-10", "last": "2026-07"}, "last", "早于起始月份"),
    ({"last": "2026-12"}, "last", "晚于测算日期所在月份"),
    ({"first": "2016-01"}, "first", "最长 120 个月"),
    ({"scheme": "resident", "first": "2025-03", "last": "2025-05"}, "first", "断保请按整年填写"),  # audit finding 26
    ({"scheme": "resident", "first": "2024-01", "last": "2025-10"}, "last", "断保请按整年填写"),
])
def test_each_bad_field_is_named_with_a_chinese_reason(change: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(BadParameter) as raised:
        parse_what_if(**GOOD | change, today=TODAY)

    assert raised.value.field == field and words in raised.value.message


@pytest.mark.parametrize("text", ["2025-01", "2025-01..", "..2025-04", "2025-01 2025-04"])
def test_a_gap_without_two_ends_is_a_gap_error(text: str) -> None:
    with pytest.raises(BadParameter) as raised:
        split_gap(text)

    assert raised.value.field == "gap"


def test_a_district_code_is_accepted_and_kept_for_its_city_to_answer() -> None:
    wanted = parse_what_if(**GOOD | {"region": "440305"}, today=TODAY)

    assert wanted.region == "440305"


def test_what_if_takes_continuity_and_a_declared_base() -> None:
    wanted = parse_what_if(**GOOD, continuous="11", base="4500.5", today=TODAY)

    assert (wanted.continuous_months, str(wanted.base)) == (11, "4500.5")


def test_a_retiree_what_if_needs_sex_and_months_paid_and_no_gap() -> None:
    wanted = parse_what_if(**GOOD | {"scheme": "retiree", "first": "", "last": ""}, sex="female",
                           paid_months="180", actual_months="150", birth="1965-03-01", today=TODAY)

    assert (wanted.scheme, wanted.paid_months, wanted.actual_months) == (Scheme.RETIREE, 180, 150)
    for change, field in (({"first": "2026-01"}, "first"), ({"sex": ""}, "sex"), ({"paid_months": ""}, "paid_months"),
                          ({"actual_months": "181"}, "actual_months"), ({"birth": "2030-01-01"}, "birth")):
        values = {"sex": "female", "paid_months": "180", "actual_months": "150", "birth": "1965-03-01"}
        gap = {"first": change.pop("first", ""), "last": ""}
        with pytest.raises(BadParameter) as raised:
            parse_what_if(**GOOD | {"scheme": "retiree"} | gap, **values | change, today=TODAY)
        assert raised.value.field == field


def test_a_month_picked_from_two_lists_is_joined_and_a_half_picked_one_refused() -> None:
    assert join_month("2025", "3", "first", "断缴起始月份") == "2025-03"
    assert join_month("2025", "11", "first", "断缴起始月份") == "2025-11"
    assert join_month("", " ", "first", "断缴起始月份") == ""  # nothing picked: no gap month given
    for year, month in (("2025", ""), ("", "03")):
        with pytest.raises(BadParameter) as caught:
            join_month(year, month, "last", "断缴结束月份")
        assert caught.value.field == "last" and "断缴结束月份的年份和月份" in caught.value.message


def test_a_date_picked_from_three_lists_is_joined_and_a_day_the_month_lacks_refused() -> None:
    assert join_day("1965", "3", "1", "birth", "出生日期") == "1965-03-01"
    assert join_day("", "", " ", "birth", "出生日期") == ""  # nothing picked: no birth date given
    with pytest.raises(BadParameter) as half:
        join_day("1965", "03", "", "birth", "出生日期")
    assert half.value.field == "birth" and "出生日期的年、月、日都选上" in half.value.message
    with pytest.raises(BadParameter) as missing:
        join_day("1965", "02", "30", "birth", "出生日期")
    assert missing.value.field == "birth" and missing.value.message == "1965 年 2 月没有 30 日，请重新选择出生日期"
    assert join_day("1964", "02", "29", "birth", "出生日期") == "1964-02-29"  # a leap year's 29 February exists
