"""The 家庭共济 entry points: the menu's H5 page behind WeChat OAuth, the keyword reply, a real phone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from miniservice.devtools.fake_wechat import OPENID_COOKIE, FakeWeChat
from miniservice.devtools.simulator import Simulator
from tests.conftest import save_screenshot
from tests.family.conftest import Family, add_relative, signed_in


def test_the_page_sends_a_visitor_without_openid_through_wechat_oauth(app: Flask, family: Family) -> None:
    response = app.test_client().get("/h5/family")
    assert response.status_code == 302
    assert "connect/oauth2/authorize" in response.headers["Location"]
    assert "snsapi_base" in response.headers["Location"]


def test_a_visitor_who_has_not_bound_their_identity_is_sent_to_bind(app: Flask, family: Family) -> None:
    response = signed_in(app, "o-stranger").get("/h5/family")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "请先在“身份绑定”中绑定本人身份" in page and 'href="/h5/bind"' in page


def test_the_pages_are_weui_without_javascript(app: Flask, family: Family) -> None:
    client = signed_in(app, "o-holder")
    add_relative(client, family.mother, "parent", attested=True)
    for path in ("/h5/family", "/h5/family/add"):
        page = client.get(path).get_data(as_text=True)
        assert "weui.min.css" in page and "weui-cells" in page and "市医疗保障局" in page
        assert "<script" not in page.lower() and "onclick" not in page.lower()
    overview = client.get("/h5/family").get_data(as_text=True)
    assert "钱*兰" in overview and "钱桂兰" not in overview and family.mother.id_number not in overview
    assert "全国默认规则，2025.5 版，2025-01-01 起施行" in overview  # every rule shown says where it comes from
    assert "家庭共济可绑定的近亲属：" in overview and ".toml" not in overview


def test_the_keyword_replies_with_the_holders_status_and_the_link(
    app: Flask, family: Family, simulator: Simulator, live_server: Any
) -> None:
    add_relative(signed_in(app, "o-holder"), family.mother, "parent", attested=True)
    reply = simulator.text("o-holder", "家庭共济")
    assert reply.content is not None
    assert "个人账户余额：5,000.00 元" in reply.content
    assert "已绑定亲属：1 位" in reply.content
    assert "待缴费用：1 项，合计 400.00 元" in reply.content
    assert reply.content.endswith(live_server.url + "/h5/family")


def test_the_keyword_tells_a_relative_who_may_pay_for_them(
    app: Flask, family: Family, simulator: Simulator
) -> None:
    add_relative(signed_in(app, "o-holder"), family.son, "child", attested=True)
    reply = simulator.text("o-son", "家庭共济")
    assert reply.content is not None
    assert "没有职工医保个人账户" in reply.content and "可为您缴费的亲属：1 位" in reply.content


def test_the_keyword_asks_an_unbound_follower_to_bind(family: Family, simulator: Simulator, live_server: Any) -> None:
    reply = simulator.text("o-unbound", "家庭共济")
    assert reply.content is not None
    assert "还没有绑定身份" in reply.content and live_server.url + "/h5/bind" in reply.content


@pytest.mark.browser
def test_a_holder_links_a_mother_and_pays_her_premium_on_a_phone_without_javascript(
    app: Flask, chromium: Any, live_server: Any, family: Family, fake_wechat: FakeWeChat
) -> None:
    # The app's clock is frozen in 2025 while Chromium's is not: keep the session cookie alive for it.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=3650)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                   java_script_enabled=False, locale="zh-CN")
    context.add_cookies([{"name": OPENID_COOKIE, "value": "o-holder", "url": fake_wechat.base_url}])
    page = context.new_page()
    try:
        page.goto(live_server.url + "/h5/family")
        expect(page.locator("#balance")).to_have_text("5,000.00 元")
        page.click("text=添加亲属")
        page.fill("input[name=name]", family.mother.name)
        page.fill("input[name=id_number]", family.mother.id_number)
        page.fill("input[name=card_number]", family.mother.card)
        page.click("label:has-text('父母')")
        page.click("label:has-text('本人承诺已取得亲属同意')")
        save_screenshot(page, "family-add")
        page.click("input[type=submit]")
        expect(page.locator("text=绑定成功")).to_be_visible()
        page.click("text=返回家庭共济")
        expect(page.locator("text=2026 年度居民医保个人缴费")).to_be_visible()
        save_screenshot(page, "family-overview")
        page.click("button:has-text('使用个人账户支付 400.00 元')")
        expect(page.locator("#confirm-amount")).to_have_text("400.00 元")  # the amount and what follows, first
        expect(page.locator("#confirm")).to_contain_text("不能撤销")
        expect(page.locator("#confirm-balance-after")).to_have_text("4,600.00 元")
        save_screenshot(page, "family-pay-confirm")
        page.click("#cancel")  # changing one's mind debits nothing
        expect(page.locator("#balance")).to_have_text("5,000.00 元")
        page.click("button:has-text('使用个人账户支付 400.00 元')")
        page.click("#confirm-pay")
        expect(page.locator("text=缴费成功")).to_be_visible()
        expect(page.locator("#balance-after")).to_have_text("4,600.00 元")
        save_screenshot(page, "family-paid")
        page.click("text=返回家庭共济")
        page.click("button:has-text('解除绑定')")
        expect(page.locator("#confirm")).to_contain_text("不能再用个人账户为其缴费")
        save_screenshot(page, "family-revoke-confirm")
        page.click("#confirm-revoke")
        expect(page.locator("text=已解除家庭共济绑定")).to_be_visible()
    finally:
        context.close()
