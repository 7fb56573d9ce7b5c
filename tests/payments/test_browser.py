"""The pay page in a real Chromium: pay.js asks for the signed parameters and opens the cashier."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from miniservice.devtools.fake_wechat import OPENID_COOKIE, FakeWeChat
from miniservice.devtools.fake_wechatpay import FakeWeChatPay
from tests.conftest import LiveServer, save_screenshot
from tests.payments.conftest import FLEX_OPENID, receipts


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_citizen_pays_in_the_cashier_and_the_gap_closes(
        app: Flask, live_server: LiveServer, flexible: int, fake_pay: FakeWeChatPay, fake_wechat: FakeWeChat,
        phone_page: Any) -> None:
    fake_wechat.add_follower(FLEX_OPENID)
    page = phone_page
    page.context.add_cookies([{"name": OPENID_COOKIE, "value": FLEX_OPENID, "url": fake_wechat.base_url}])
    page.goto(live_server.url + "/h5/pay")
    page.click("button:has-text('用微信支付缴费')")
    expect(page.locator("#pay-amount")).to_contain_text("元")
    save_screenshot(page, "pay-order")
    page.click("#pay-button")
    page.wait_for_url(fake_pay.base_url + "__fake__/pay/cashier*")
    page.click("button:has-text('确认支付')")
    page.wait_for_url("**/result")
    expect(page.locator("#pay-result")).to_contain_text("缴费成功")
    page.click("a:has-text('查看缴费记录')")
    expect(page.locator("body")).to_contain_text("目前没有断缴")
    assert len(receipts(app, fake_wechat, FLEX_OPENID)) == 1
