"""H5 pages: the full breakdown with citations, the what-if form without JavaScript, 居民医保 payment."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from miniservice.cli import main
from miniservice.clock import local_today
from miniservice.db import Database
from miniservice.devtools.fake_wechat import OPENID_COOKIE, FakeWeChat
from miniservice.quotes.params import WhatIf
from miniservice.quotes.service import quote_for_person, what_if
from miniservice.rules.gaps import last_due_month
from miniservice.rules.kinds import Cause, Scheme, Sex
from miniservice.rules.money import format_yuan
from miniservice.rules.months import Month
from tests.conftest import LiveServer, save_screenshot
from tests.quotes.conftest import TODAY, Registry, page_text, sign_in


def test_quote_page_breaks_the_gap_down_by_month_with_citations(client: Any, db: Database,
                                                                 registry: Registry) -> None:
    person = registry.person(openid="o-gap", enrolled=date(2024, 1, 1))
    registry.months(person, "2024-01", "2026-08")
    sign_in(client, "o-gap")
    expected = quote_for_person(db, person, TODAY).quote

    response = client.get("/h5/quote")

    assert response.status_code == 200
    html, text = response.get_data(as_text=True), page_text(response)
    assert len(re.findall(r'class="weui-cell weui-cell_wrap month-line"', html)) == 2
    for line in expected.lines:
        assert (f"缴费基数 {format_yuan(line.base)} 元 × 单位 8% = {format_yuan(line.unit_amount)} 元；"
                f"缴费基数 × 个人 2% = {format_yuan(line.personal_amount)} 元") in text  # every amount says 元
        assert f"滞纳金 {format_yuan(line.late_fee)} 元（逾期 {line.late_days} 天）" in text
    assert f"{format_yuan(expected.totals.total)} 元" in text
    assert "恢复待遇日期 2026-12-01" in text and "断缴期间费用 可追溯报销" in text  # 深圳 ≤ 3 months: national rule
    assert expected.line is not None
    assert "补缴后视为连续参保" in text and f"请在 {expected.line.last_day_within} 前补缴" in text
    wage = expected.citations["wage.average_monthly.2024"]
    assert "2024年当地职工月平均工资：8,000.00 元 示例数据，非官方" in text
    assert "依据：《医疗保险中间断交可以补交吗?山西太原职工医保断交怎么补缴?》（社保网，2025-05-18 发布）" in text
    assert f"本地规则，{wage.version} 版，{wage.effective_from} 起施行" in text
    assert 'id="mine-illustrative"' in html  # the whole quote says it rests on illustrative figures


def test_retiree_sees_one_off_against_year_by_year(client: Any, registry: Registry) -> None:
    person = registry.person(region="360102", scheme="retiree", openid="o-retired", deemed_months=36,
                             born=date(1962, 5, 1))
    registry.months(person, "2011-06", "2023-05", scheme="employee", payer="unit")
    sign_in(client, "o-retired")

    text = page_text(client.get("/h5/quote"))

    assert "一次性补足" in text and "逐年补缴合计" in text and "还差 15 年" in text


def test_what_if_form_works_as_a_plain_get_without_javascript(client: Any, db: Database, rules: None) -> None:
    sign_in(client, "o-visitor")
    query = {"region": "440300", "scheme": "flexible", "first": "2026-07", "last": "2026-10", "cause": "self"}

    response = client.get("/h5/quote", query_string=query)

    html, text = response.get_data(as_text=True), page_text(response)
    assert "<script" not in html
    expected = what_if(db, WhatIf("440300", Scheme.FLEXIBLE, Month(2026, 7), Month(2026, 10), Cause.SELF, TODAY))
    assert 'id="whatif-totals"' in html and f"{format_yuan(expected.totals.total)} 元" in text
    assert '<option value="440300" selected>' in html  # the form keeps its input …
    assert '<option value="2026" selected>2026 年</option>' in html
    assert '<option value="07" selected>7 月</option>' in html
    assert "/h5/bind" in html  # an unbound visitor is offered binding, and the calculator still works


def test_a_yichang_lapse_of_61_to_180_days_shows_its_band_as_example_data(client: Any, rules: None) -> None:
    """Issue 15: the band keeps continuity though 宜昌's rule does not say so; the page's 计算依据 says so."""
    sign_in(client, "o-visitor")
    query = {"region": "420500", "scheme": "flexible", "first": "2026-09", "last": "2026-10", "cause": "self"}

    text = page_text(client.get("/h5/quote", query_string=query))  # 85 days on TODAY: over 60, within 180

    band = text.split("中止60天以上至180天：从缴费当月开始计算，3个月后享受")[-1].split("起施行")[0]
    assert "示例数据，非官方" in band and "没有说中断前的缴费时间是否还计入连续缴费时间" in band


def test_what_if_form_quotes_a_retirees_top_up(client: Any, db: Database, rules: None) -> None:
    sign_in(client, "o-visitor")
    query = {"region": "360100", "scheme": "retiree", "first": "", "last": "", "cause": "self", "sex": "female",
             "paid_months": "120"}

    text = page_text(client.get("/h5/quote", query_string=query))

    expected = what_if(db, WhatIf("360100", Scheme.RETIREE, None, None, Cause.SELF, TODAY, sex=Sex.FEMALE,
                                  paid_months=120))
    assert expected.retirement is not None and expected.retirement.short_months
    assert f"一次性补足约 {format_yuan(expected.retirement.one_off)} 元" in text


def test_what_if_form_refuses_a_retiree_too_young_to_retire_at_the_birth_date(client: Any, rules: None) -> None:
    sign_in(client, "o-visitor")
    query = {"region": "360100", "scheme": "retiree", "cause": "self", "sex": "female", "paid_months": "120",
             "birth_year": "1990", "birth_month": "06", "birth_day": "15"}

    response = client.get("/h5/quote", query_string=query)

    html, text = response.get_data(as_text=True), page_text(response)
    assert 'data-field="birth"' in html and "才 36 周岁，女性最早 45 周岁才能退休，还不能办理退休补缴" in text
    assert 'class="weui-cell weui-cell_active month-pick weui-cell_warn" id="birth"' in html  # marked at the field …
    assert html.index('id="birth"') < html.index('id="whatif-error"') < html.index('id="paid_months"')  # said under it
    assert '<option value="1990" selected>1990 年</option>' in html  # what was picked stays picked
    assert '<option value="15" selected>15 日</option>' in html
    assert 'id="whatif-answer"' not in html and 'type="date"' not in html


def test_what_if_form_quotes_a_retiree_with_a_birth_date_as_the_api_and_cli_do(
    app: Any, client: Any, rules: None
) -> None:
    sign_in(client, "o-visitor")
    query = {"region": "360100", "scheme": "retiree", "cause": "self", "sex": "male", "paid_months": "180",
             "actual_months": "150", "birth_year": "1965", "birth_month": "03", "birth_day": "01"}

    text = page_text(client.get("/h5/quote", query_string=query))

    api = client.get("/api/quote?region=360100&scheme=retiree&sex=male&paid_months=180&actual_months=150"
                     "&birth=1965-03-01").get_json()["retirement"]
    cli = app.test_cli_runner().invoke(main, ["quote", "--region", "360100", "--scheme", "retiree", "--sex", "male",
                                              "--paid-months", "180", "--actual-months", "150", "--birth",
                                              "1965-03-01", "--json"])
    assert json.loads(cli.output)["retirement"] == api and api["age"] == 61
    assert f"年龄 61 周岁（按出生日期，算到 {TODAY}）" in text  # the birth date reached the engine
    assert f"一次性补足约 {format_yuan(Decimal(api['one_off']))} 元" in text
    assert f"逐年补缴合计约 {format_yuan(Decimal(api['year_by_year_total']))} 元" in text


def test_a_birth_date_given_in_a_link_shows_in_the_three_lists(client: Any, rules: None) -> None:
    sign_in(client, "o-visitor")
    query = {"region": "360100", "scheme": "retiree", "sex": "male", "paid_months": "180", "birth": "1965-03-01"}

    html = client.get("/h5/quote", query_string=query).get_data(as_text=True)

    assert '<option value="1965" selected>1965 年</option>' in html
    assert '<option value="01" selected>1 日</option>' in html
    assert 'id="whatif-error"' not in html


@pytest.mark.parametrize(("first", "last", "field", "words"), [
    ("2026-10", "2026-07", "last", "早于起始月份"),
    ("2026-7", "2026-10", "first", "请按 2025-03 这样的格式填写断缴起始月份"),  # YYYY-MM only
])
def test_what_if_form_marks_the_field_in_error(client: Any, rules: None, first: str, last: str, field: str,
                                               words: str) -> None:
    sign_in(client, "o-visitor")
    query = {"region": "440300", "scheme": "flexible", "first": first, "last": last, "cause": "self"}

    html = client.get("/h5/quote", query_string=query).get_data(as_text=True)

    assert f'data-field="{field}"' in html and words in html
    assert 'id="whatif-totals"' not in html


def test_gap_months_are_picked_as_year_and_month_lists_and_joined_for_the_same_checks(
    client: Any, db: Database, rules: None
) -> None:
    sign_in(client, "o-visitor")
    base = {"region": "440300", "scheme": "flexible", "cause": "self"}

    picked = client.get("/h5/quote", query_string=base | {"first_year": "2026", "first_month": "07",
                                                          "last_year": "2026", "last_month": "10"})
    expected = what_if(db, WhatIf("440300", Scheme.FLEXIBLE, Month(2026, 7), Month(2026, 10), Cause.SELF, TODAY))
    assert f"{format_yuan(expected.totals.total)} 元" in page_text(picked)
    html = picked.get_data(as_text=True)
    assert 'type="month"' not in html and "选择年份" in html and '<option value="12">12 月</option>' in html

    half = client.get("/h5/quote", query_string=base | {"first_year": "2026", "last_year": "2026", "last_month": "10"})
    html = half.get_data(as_text=True)
    assert 'data-field="first"' in html and "请把断缴起始月份的年份和月份都选上" in html
    assert '<option value="2026" selected>2026 年</option>' in html  # what was picked stays picked
    assert 'id="whatif-totals"' not in html

    wrong = client.get("/h5/quote", query_string=base | {"first_year": "2026", "first_month": "10",
                                                         "last_year": "2026", "last_month": "07"})
    assert "断缴结束月份 2026-07 早于起始月份 2026-10" in page_text(wrong)  # the checks are unchanged


def test_without_rule_versions_the_page_says_it_is_unavailable(client: Any) -> None:
    sign_in(client, "o-visitor")

    response = client.get("/h5/quote")

    assert response.status_code == 503 and "12393" in page_text(response)


def test_quote_page_sends_a_visitor_without_session_through_wechat_oauth(client: Any, rules: None) -> None:
    response = client.get("/h5/quote")

    assert response.status_code == 302 and "oauth2/authorize" in response.headers["Location"]


def test_resident_page_shows_period_amount_late_wait_channels_and_family(client: Any,
                                                                         registry: Registry) -> None:
    relative = registry.person(region="140105", scheme="resident", openid="o-mum", enrolled=date(2024, 1, 1))
    registry.years(relative, 2024, 2025, 2026)
    holder = registry.person(region="140105", scheme="employee", employer="太原某厂")
    registry.family_link(holder, relative)
    sign_in(client, "o-mum")

    response = client.get("/h5/resident")

    html, text = response.get_data(as_text=True), page_text(response)
    answer = text.split("本页暂不能直接付款")[0]  # how much, who pays, by when, what if not: before anything else
    assert "2027 年度居民医保尚未缴费：个人缴费 400.00 元 ，由本人" in answer
    assert "请在 2026-12-25 前缴费（集中缴费期 2026-09-10 至 2026-12-25）" in answer
    assert "2026-12-25 后才缴费，待遇等待期 3 个月" in answer
    ways = text.split("去哪里缴费、办理")[1].split("缴费标准、等待期和计算依据")[0]
    assert "当地医保部门网站或微信公众号" in ways and "医保经办机构窗口" in ways and "服务时间：" in ways  # 太原
    assert "网上缴费" not in ways  # never sent back to this very page
    assert 'href="tel:' in html
    assert 'href="/h5/family"' in html and "1 位已绑定家庭共济的亲属" in text
    assert html.count('class="weui-cells__title">计算依据') == 1  # one block, folded
    assert "全国默认规则，2025.5 版，2025-01-01 起施行" in text.split("缴费标准、等待期和计算依据")[1]
    assert ".toml" not in text


def test_resident_page_without_family_payers_has_no_family_link(client: Any, registry: Registry) -> None:
    person = registry.person(region="140105", scheme="resident", openid="o-alone", enrolled=date(2024, 1, 1))
    registry.years(person, 2024, 2025, 2026)
    sign_in(client, "o-alone")

    assert 'href="/h5/family"' not in client.get("/h5/resident").get_data(as_text=True)


def test_resident_page_explains_the_scheme_and_offers_binding_to_others(client: Any, rules: None) -> None:
    sign_in(client, "o-visitor")

    response = client.get("/h5/resident")

    html, text = response.get_data(as_text=True), page_text(response)
    assert "城乡居民医保面向没有参加职工医保的居民" in text and "全国默认" in text
    assert "集中缴费期后才缴费，待遇等待期 3 个月" in text
    assert 'id="go-bind"' in html


@pytest.mark.browser
def test_quote_page_on_a_phone(phone_page: Any, live_server: LiveServer, fake_wechat: FakeWeChat,
                               registry: Registry) -> None:
    """Through the fake WeChat OAuth, on a phone viewport, with the calculator submitted by a real browser."""
    registry.person(openid="o-phone", enrolled=date(2020, 1, 1))
    phone_page.context.add_cookies([{"name": OPENID_COOKIE, "value": "o-phone", "domain": "127.0.0.1", "path": "/"}])
    last = last_due_month(local_today("Asia/Shanghai"))  # the real clock: Chromium keeps cookies by it

    phone_page.goto(live_server.url + "/h5/quote")
    phone_page.select_option("#region", "440300")
    phone_page.select_option("#scheme", "flexible")
    for name, month in (("first", last - 1), ("last", last)):  # picked from two Chinese lists each
        phone_page.select_option(f"#{name}_year", label=f"{month.year} 年")
        phone_page.select_option(f"#{name}_month", label=f"{month.month} 月")
    phone_page.click("#whatif-submit")
    expect(phone_page.locator("#whatif-answer")).to_be_visible()  # the answer first …
    expect(phone_page.locator("#whatif-totals")).to_be_hidden()  # … the detail one tap away
    phone_page.click("#whatif-more > summary")
    expect(phone_page.locator("#whatif-totals")).to_be_visible()
    expect(phone_page.locator("body")).to_contain_text("测算结果")
    expect(phone_page.locator("#whatif-illustrative")).to_be_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page must not scroll sideways on a phone"
    save_screenshot(phone_page, "quote-phone")
