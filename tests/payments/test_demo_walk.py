"""The demo walk-through in a real Chromium at phone size: from the demo's phone a citizen with a
self-caused gap opens 网上缴费, pays in the fake cashier, sees the gap close on the records page and the
receipt in the chat; another fails, then cancels, and is charged nothing.

Screenshots of every step are kept in ``tests/artifacts/`` (``pay-demo-*``) for people to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from miniservice.clock import local_today
from miniservice.devtools.demo import prepare
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.devtools.fake_wechatpay import FakeWeChatPay
from tests.conftest import LiveServer, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
def app_overrides(app_overrides: dict[str, Any]) -> dict[str, Any]:
    """The payments' keys and fake pay server, in demo mode (the phone page exists only there)."""
    return app_overrides | {"env": "demo"}


class DemoWalk:
    """The demo's phone page as a tester uses it, with a screenshot of every step."""

    def __init__(self, app: Flask, server: LiveServer, page: Any, openid: str) -> None:
        self.app, self.server, self.page, self.openid = app, server, page, openid
        self.step = 0

    def shot(self, name: str) -> Path:
        self.step += 1
        return save_screenshot(self.page, f"pay-demo-{self.openid}-{self.step:02d}-{name}")

    def phone(self) -> None:
        from miniservice.outbox.sending import drain

        with self.app.app_context():
            drain()  # what the scheduler's outbox job does every few seconds in the demo
        self.page.goto(f"{self.server.url}/demo/phone?openid={self.openid}")

    def open_order(self) -> None:
        """Menu 我的医保 → 网上缴费, then 用微信支付缴费: the order's confirmation page."""
        self.phone()
        self.page.click("summary:has-text('我的医保')")
        self.shot("menu")
        self.page.get_by_role("link", name="网上缴费", exact=True).click()
        self.page.wait_for_url("**/h5/pay*")  # the fragment of WeChat's authorise URL survives
        self.shot("pay")
        self.page.click("button:has-text('用微信支付缴费')")

    def to_cashier(self, fake_pay: FakeWeChatPay) -> None:
        self.page.click("#pay-button")
        self.page.wait_for_url(fake_pay.base_url + "__fake__/pay/cashier*")
        self.shot("cashier")

    def cashier(self, button: str) -> None:
        self.page.click(f"button:has-text('{button}')")
        self.page.wait_for_url("**/result*")
        self.shot("result")


@pytest.fixture
def demo(app: Flask, live_server: LiveServer, fake_wechat: FakeWeChat,
         phone_page: Any, request: pytest.FixtureRequest) -> DemoWalk:
    openid = request.param
    with app.app_context():
        prepare(app, local_today(app.extensions["miniservice.settings"].timezone))
    fake_wechat.add_follower(openid)
    return DemoWalk(app, live_server, phone_page, openid)


@pytest.mark.parametrize("demo", ["demo_citizen_3"], indirect=True)
def test_from_the_demo_phone_a_citizen_pays_sees_the_gap_close_and_the_receipt_in_chat(
        demo: DemoWalk, fake_pay: FakeWeChatPay, fake_wechat: FakeWeChat) -> None:
    page = demo.page
    demo.open_order()
    amount = page.locator("#pay-amount").inner_text()
    assert amount.endswith(" 元")
    expect(page.locator("body")).to_contain_text("示例数据")  # the rates behind the amount are illustrative
    demo.shot("order")
    demo.to_cashier(fake_pay)
    expect(page.locator("#cashier-amount")).to_contain_text(amount.removesuffix(" 元"))
    demo.cashier("确认支付")
    expect(page.locator("#pay-result")).to_contain_text("缴费成功")
    page.click("a:has-text('查看缴费记录')")
    expect(page.locator("body")).to_contain_text("目前没有断缴")
    demo.shot("records")
    demo.phone()
    expect(page.locator(".chat")).to_contain_text("【缴费成功】职工医保补缴")
    expect(page.locator(".chat")).to_contain_text(amount)
    demo.shot("chat")
    assert len([m for m in fake_wechat.sent_messages(demo.openid) if "缴费成功" in str(m)]) == 1


@pytest.mark.parametrize("demo", ["demo_citizen_4"], indirect=True)
def test_from_the_demo_phone_a_failed_then_cancelled_payment_charges_nothing_and_keeps_the_gap(
        demo: DemoWalk, fake_pay: FakeWeChatPay, fake_wechat: FakeWeChat) -> None:
    page = demo.page
    demo.open_order()
    demo.to_cashier(fake_pay)
    demo.cashier("支付失败")
    expect(page.locator("#pay-result")).to_contain_text("没有成功，没有扣款")
    page.click("a:has-text('返回订单')")
    demo.to_cashier(fake_pay)
    demo.cashier("取消")
    expect(page.locator("#pay-result")).to_contain_text("您还没有付款，没有扣款")
    page.click("a:has-text('返回订单')")
    page.click("button:has-text('不缴了，取消订单')")
    page.wait_for_url("**/h5/pay*")
    demo.shot("cancelled")
    expect(page.locator("button:has-text('用微信支付缴费')")).to_be_visible()  # the gap is still there to pay
    demo.phone()
    demo.shot("chat")
    assert not [m for m in fake_wechat.sent_messages(demo.openid) if "缴费成功" in str(m)]
