"""The 补缴测算 button and keywords, through WeChat's protocol (signed XML to the live callback)."""

from __future__ import annotations

from datetime import date
from typing import Any

from miniservice.db import Database
from miniservice.devtools.simulator import Simulator
from miniservice.quotes.service import quote_for_person
from miniservice.rules.money import format_yuan
from tests.quotes.conftest import TODAY, Registry, page_text, sign_in


def test_quote_button_gives_the_gap_what_is_owed_the_deadline_and_a_link(simulator: Simulator, db: Database,
                                                                         registry: Registry) -> None:
    person = registry.person(openid="o-gap", enrolled=date(2024, 1, 1))
    registry.months(person, "2024-01", "2026-08")
    expected = quote_for_person(db, person, TODAY).quote

    reply = simulator.click("o-gap", "QUOTE")

    text = reply.content or ""
    assert "2026-09 至 2026-10，共 2 个月" in text
    assert f"本人需缴 {format_yuan(expected.totals.citizen_owes)} 元" in text
    assert f"滞纳金 {format_yuan(expected.totals.late_fee)} 元" in text
    assert expected.line is not None and f"请在 {expected.line.last_day_within} 前补缴" in text
    assert "示例数据" in text  # 深圳's wage and rates are illustrative in the rule file
    assert text.rstrip().endswith("/h5/quote")


def test_typed_keyword_reaches_the_same_answer_with_the_waiting_period(simulator: Simulator,
                                                                       registry: Registry) -> None:
    person = registry.person(region="420502", openid="o-yichang", enrolled=date(2024, 1, 1))
    registry.months(person, "2024-01", "2026-07")  # 宜昌 counts the lapse in days: > 60 days waits 3 months

    text = simulator.text("o-yichang", "补缴测算").content or ""

    assert "共 3 个月" in text and "待遇等待期 3 个月（至 2027-01-31）" in text


def test_a_unit_caused_gap_is_the_units_to_pay(simulator: Simulator, registry: Registry) -> None:
    person = registry.person(region="330203", scheme="employee", employer="宁波某公司", openid="o-unit",
                             enrolled=date(2024, 1, 1))
    registry.months(person, "2024-01", "2026-08", payer="unit", scheme="employee")
    registry.months(person, "2026-09", "2026-10", status="unpaid", payer="unit", scheme="employee")

    text = simulator.text("o-unit", "补缴").content or ""

    assert "单位原因" in text and "您个人无需缴纳" in text


def test_unbound_user_gets_the_binding_link(simulator: Simulator, rules: None) -> None:
    text = simulator.click("o-stranger", "QUOTE").content or ""

    assert "/h5/bind" in text and "补缴测算" not in text


def test_citizen_without_a_gap_is_told_so_with_the_next_due_date(simulator: Simulator,
                                                                 registry: Registry) -> None:
    person = registry.person(region="110105", scheme="employee", employer="北京某公司", openid="o-paid",
                             enrolled=date(2024, 1, 1))
    registry.months(person, "2024-01", "2026-10", payer="unit", scheme="employee")

    text = simulator.click("o-paid", "QUOTE").content or ""

    assert "您目前没有断缴，无需补缴。下一次缴费截止日：2026-11-30。" in text


def test_resident_is_told_next_years_premium_and_the_wait_if_paid_late(simulator: Simulator,
                                                                       registry: Registry) -> None:
    person = registry.person(region="140105", scheme="resident", openid="o-resident", enrolled=date(2024, 1, 1))
    registry.years(person, 2024, 2025, 2026)

    text = simulator.click("o-resident", "QUOTE").content or ""

    assert "2027 年度个人缴费 400.00 元，集中缴费期 2026-09-10 至 2026-12-25" in text
    assert "逾期缴纳：待遇等待期 3 个月" in text


def test_registry_facts_the_rules_refuse_get_whom_to_ask_not_a_failure(
        simulator: Simulator, client: Any, registry: Registry) -> None:
    """A retiree whose registered birth date makes them 31 cannot be quoted a top-up; their records button and
    page say whom to ask instead of failing (the callback answered nothing, the page was a 500)."""
    registry.person(openid="o-young-retiree", scheme="retiree", born=date(1995, 6, 15), enrolled=date(2015, 1, 1))

    reply = simulator.click("o-young-retiree", "RECORDS").content or ""
    sign_in(client, "o-young-retiree")
    page = client.get("/h5/records")

    assert "参保登记信息需要核对" in reply and "12393" in reply
    assert page.status_code == 503 and "参保登记信息需要核对" in page_text(page)
