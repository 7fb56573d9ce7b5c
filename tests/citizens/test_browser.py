"""A phone in real Chromium: WeChat OAuth against the fake, bind, and read the records page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from miniservice.citizens.importing import ImportReport
from miniservice.devtools.fake_wechat import OPENID_COOKIE, FakeWeChat
from tests.citizens.conftest import ALICE
from tests.conftest import save_screenshot, send_outbox

pytestmark = pytest.mark.browser


def fill_in_alice(page: Any, *, consent: bool) -> None:
    """Type Alice's identity on the bind form, tick the privacy notice if ``consent``, and submit."""
    page.fill("#name", ALICE["name"])
    page.fill("#id_number", ALICE["id_number"])
    page.fill("#factor_value", ALICE["card"])
    if consent:
        page.click("label[for=privacy-consent]")
    page.click("#bind")


def test_a_phone_binds_through_oauth_and_sees_its_records(
    app: Flask, phone_page: Any, live_server: Any, fake_wechat: FakeWeChat, registry: ImportReport, rules: None
) -> None:
    page = phone_page
    # Inside WeChat the user is known: the fake's authorize page reads the openid from this cookie.
    page.context.add_cookies([{"name": OPENID_COOKIE, "value": "o-alice", "url": fake_wechat.base_url}])
    page.goto(live_server.url + "/h5/bind")
    assert page.url.split("#")[0] == live_server.url + "/h5/bind"  # to WeChat's authorize and back
    assert fake_wechat.calls("connect/oauth2/authorize")[-1].query["scope"] == "snsapi_base"

    fill_in_alice(page, consent=False)  # the privacy notice not agreed to: nothing happens but a plain request
    expect(page.locator("#refusal")).to_contain_text("勾选“我已阅读并同意”")
    assert fake_wechat.sent_messages() == []
    fill_in_alice(page, consent=True)
    expect(page.locator("#done")).to_have_text("绑定成功，确认消息稍后会发到公众号。")
    expect(page.locator("#binding")).to_contain_text("林*雨")
    send_outbox(app)
    assert [m.touser for m in fake_wechat.sent_messages()] == ["o-alice"]

    page.click("text=查看缴费记录")
    expect(page).to_have_url(live_server.url + "/h5/records")
    expect(page.locator(".month")).to_have_count(3)
    expect(page.locator("#months")).to_contain_text("2026-10")
    expect(page.locator("#summary")).to_contain_text("连续参保")
    assert page.locator("script").count() == 0  # nothing on the way needed JavaScript
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    assert page.locator(".weui-cell").first.bounding_box()["width"] <= 390
    save_screenshot(page, "records-phone")


def test_unbinding_on_a_phone_asks_first_and_says_what_it_ends(
    app: Flask, phone_page: Any, live_server: Any, fake_wechat: FakeWeChat, registry: ImportReport, rules: None
) -> None:
    page = phone_page
    page.context.add_cookies([{"name": OPENID_COOKIE, "value": "o-alice", "url": fake_wechat.base_url}])
    page.goto(live_server.url + "/h5/bind")
    fill_in_alice(page, consent=True)
    expect(page.locator("#binding")).to_contain_text("林*雨")

    page.click("#unbind")
    expect(page.locator("#confirm")).to_contain_text("不再收到断缴提醒")
    save_screenshot(page, "unbind-confirm")
    page.click("#cancel")
    expect(page.locator("#binding")).to_contain_text("林*雨")  # still bound
    page.click("#unbind")
    page.click("#confirm-unbind")
    expect(page.locator("#done")).to_have_text("已解除绑定。")
    send_outbox(app)
    assert [m.body["text"]["content"].split("：")[0] for m in fake_wechat.sent_messages("o-alice")] == [
        "身份绑定成功", "已解除身份绑定"]
