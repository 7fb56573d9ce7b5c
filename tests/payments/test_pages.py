"""The citizen's pages (pay, confirm, WeChat's cashier, result) and the staff's 缴费对账 page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask

from miniservice.admin.accounts import create_user
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.devtools.fake_wechatpay import FakeWeChatPay
from miniservice.payments.reconcile import reconcile
from tests.conftest import LiveServer
from tests.payments.conftest import FLEX_OPENID, ordered_and_prepaid, receipts
from tests.quotes.conftest import TODAY, Registry, page_text, sign_in

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _app_context() -> Iterator[None]:
    """No app context around these tests: each request brings its own (Flask-WTF keeps its token in ``g``)."""
    yield


@pytest.fixture(autouse=True)
def _served(live_server: LiveServer, fake_wechat: FakeWeChat) -> None:
    fake_wechat.add_follower(FLEX_OPENID)


def _citizen(app: Flask, openid: str) -> Any:
    client = app.test_client()
    sign_in(client, openid)
    return client


def _cashier(page: str, params: dict[str, str], outcome: str) -> requests.Response:
    """What the citizen's browser does in the demo: pay.js sends it to the fake's cashier page."""
    button = re.search(r'data-cashier="([^"]+)"', page)
    result = re.search(r'data-result="([^"]+)"', page)
    assert button and result
    shown = requests.get(button.group(1), params=params | {"return": result.group(1)}, timeout=10)
    assert shown.status_code == 200 and "确认支付" in shown.text
    return requests.post(button.group(1), params={"package": params["package"]},
                         data=params | {"return": result.group(1), "outcome": outcome},
                         allow_redirects=False, timeout=10)


@pytest.mark.parametrize("outcome", ["success", "fail", "cancel"])
def test_a_citizen_pays_from_the_pay_page_through_the_cashier(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, fake_wechat: FakeWeChat,
        outcome: str) -> None:
    client = _citizen(app, FLEX_OPENID)
    home = client.get("/h5/pay")
    assert "本人补缴 2026-07 至 2026-10" in page_text(home)
    token = _TOKEN.search(home.get_data(as_text=True))
    assert token
    fields = {"csrf_token": token.group(1), "person": str(flexible), "item": "backpay:2026-07:2026-10"}
    created = client.post("/h5/pay/orders", data=fields)
    assert created.status_code == 302
    again = client.post("/h5/pay/orders", data=fields)  # double tap
    assert again.headers["Location"] == created.headers["Location"]
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    csrf = re.search(r'data-csrf="([^"]+)"', page)
    prepay_url = re.search(r'data-prepay="([^"]+)"', page)
    assert csrf and prepay_url
    assert client.post(prepay_url.group(1)).status_code == 400  # no CSRF token: refused
    params = client.post(prepay_url.group(1), headers={"X-CSRFToken": csrf.group(1)}).get_json()
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    back = _cashier(page, params, outcome)
    assert back.status_code == 303
    result = page_text(client.get(urlsplit(back.headers["Location"]).path))
    if outcome == "success":
        assert "缴费成功" in result
        assert len(receipts(app, fake_wechat, FLEX_OPENID)) == 1
        assert "2026-07" not in page_text(client.get("/h5/pay"))
    elif outcome == "fail":
        assert "这次支付没有成功，没有扣款" in result
    else:
        assert "您还没有付款，没有扣款" in result


def test_a_tampered_pay_signature_is_refused_by_the_cashier(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    _, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, "backpay:2026-07:2026-10")
    cashier = fake_pay.base_url + "__fake__/pay/cashier"
    forged = {"appId": "wx", "timeStamp": "1", "nonceStr": "n", "package": f"prepay_id={prepay_id}",
              "signType": "RSA", "paySign": "AAAA"}
    assert requests.get(cashier, params=forged, timeout=10).status_code == 400


def test_where_no_channel_is_online_the_page_says_where_to_pay(app: Flask, registry: Registry) -> None:
    person = registry.person(region="110105", scheme="flexible", openid="o_beijing", enrolled=date(2020, 1, 1))
    registry.months(person, "2020-01", "2026-06")
    text = page_text(_citizen(app, "o_beijing").get("/h5/pay"))
    assert "本服务号暂不能直接收取本地区的医保费" in text and "医保经办机构" in text and "咨询电话 12393" in text
    assert "国家医保服务平台APP" in text  # the online channels the rule file names, besides the windows
    assert "本服务号尚未接入本地区的医保费收款渠道。依据：本服务缴费渠道设置" in text  # the service's own setting
    assert "示例数据 本服务号尚未接入" not in text  # … which is a fact, not a guess
    assert "微信支付缴费" not in text


def test_the_quote_page_offers_online_payment_of_the_amount_the_pay_page_lists(app: Flask, flexible: int) -> None:
    client = _citizen(app, FLEX_OPENID)
    pay_home = page_text(client.get("/h5/pay"))
    quote = client.get("/h5/quote").get_data(as_text=True)
    button = re.search(r'<a [^>]*href="/h5/pay" id="pay-online">网上缴费 ([\d,.]+) 元</a>', quote)
    assert button, "the quote page has no button to the pay page"
    assert f"{button.group(1)} 元" in pay_home  # the same figure on both pages


def test_the_resident_page_offers_online_payment_of_the_premium(app: Flask, registry: Registry) -> None:
    person = registry.person(region="440305", scheme="resident", openid="o_resident", enrolled=date(2020, 1, 1))
    registry.years(person, 2020, 2021, 2022, 2023, 2024, 2025, 2026)
    client = _citizen(app, "o_resident")
    page = client.get("/h5/resident").get_data(as_text=True)
    button = re.search(r'<a [^>]*href="/h5/pay" id="pay-online">网上缴费 ([\d,.]+) 元</a>', page)
    assert button and f"{button.group(1)} 元" in page_text(client.get("/h5/pay"))
    assert "本页暂不能直接付款" not in page


def test_where_no_channel_is_online_the_quote_page_offers_no_payment_here(app: Flask, registry: Registry) -> None:
    person = registry.person(region="110105", scheme="flexible", openid="o_beijing", enrolled=date(2020, 1, 1))
    registry.months(person, "2020-01", "2026-06")
    quote = _citizen(app, "o_beijing").get("/h5/quote").get_data(as_text=True)
    assert "补缴" in quote and 'id="pay-online"' not in quote


def test_where_the_channel_is_illustrative_the_page_says_so(app: Flask, flexible: int) -> None:
    text = page_text(_citizen(app, FLEX_OPENID).get("/h5/pay"))
    assert "缴费渠道：微信支付（ 示例数据 演示假设本市医保部门已为本服务号开通微信支付收款" in text


def test_staff_see_a_held_payment_and_refund_it_in_one_action(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, "backpay:2026-07:2026-10")
    fake_pay.pay(prepay_id, paid_total=100)
    fake_pay.wait_for_notifies()
    create_user(db, "editor", "editor", "correct-horse-battery", actor="test")
    staff = app.test_client()
    login = staff.get("/admin/login").get_data(as_text=True)
    token = _TOKEN.search(login) or re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login)
    assert token
    staff.post("/admin/login", data={"username": "editor", "password": "correct-horse-battery",
                                     "csrf_token": token.group(1)})
    with app.app_context():
        reconcile(db, app, TODAY)
    dashboard = page_text(staff.get("/admin/"))
    assert "待处理付款 1" in dashboard and "账单 1 笔 1.00 元，入账 0 笔 0.00 元" in dashboard
    page = staff.get("/admin/payments").get_data(as_text=True)
    assert order.out_trade_no in page and "1.00 元与订单金额" in page
    refund = re.search(r'action="(/admin/payments/refund/\w+)"', page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert refund and token
    staff.post(refund.group(1), data={"csrf_token": token.group(1)})
    assert fake_pay.order(order.out_trade_no).state == "REFUND"
    fake_pay.wait_for_notifies()  # the refund's notify: its final state
    after = staff.get("/admin/payments").get_data(as_text=True)
    assert "已退回付款人" in after and "/admin/payments/refund/" not in after  # no second button
