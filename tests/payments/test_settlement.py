"""Paying through the fake WeChat Pay: settlement on a verified notify only, once per transaction."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select, update

from miniservice.citizens.models import Contribution, PersonalAccount, ResidentPremium
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.devtools.fake_wechatpay import FakeWeChatPay
from miniservice.payments import settlement
from miniservice.payments.errors import PayError
from miniservice.payments.models import PayNotice, PayOrder
from miniservice.payments.orders import close_order, start_payment
from miniservice.payments.refunds import refund_payment
from miniservice.payments.settlement import settle_pending
from miniservice.payments.wechatpay import TIMEOUT
from miniservice.quotes.service import quote_for_person
from miniservice.reminders.models import Reminder
from miniservice.rules.months import Month
from tests.conftest import LiveServer
from tests.payments.conftest import FLEX_OPENID, channel, ordered_and_prepaid, receipts, reload
from tests.quotes.conftest import TODAY, Registry

ITEM = "backpay:2026-07:2026-10"


@pytest.fixture(autouse=True)
def _served(live_server: LiveServer, fake_wechat: FakeWeChat) -> None:
    """Notifies need the app on a socket; receipts need the citizen to be a follower."""
    fake_wechat.add_follower(FLEX_OPENID)


def _statuses(db: Database, person: int) -> dict[str, str]:
    with db.reading() as session:
        rows = session.execute(select(Contribution.month, Contribution.status).where(
            Contribution.person_id == person, Contribution.month >= Month(2026, 7).index)).all()
    return {str(Month.from_index(m)): s for m, s in rows}


def _count(db: Database, model: Any) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _receipts(app: Flask, fake_wechat: FakeWeChat) -> list[Any]:
    return receipts(app, fake_wechat, FLEX_OPENID)


def _pay(fake_pay: FakeWeChatPay, prepay_id: str, **kwargs: Any) -> None:
    fake_pay.pay(prepay_id, **kwargs)
    fake_pay.wait_for_notifies()


def test_a_verified_payment_closes_the_gap_stops_reminders_and_sends_a_receipt(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, fake_wechat: FakeWeChat) -> None:
    with db.transaction() as session:
        session.add(Reminder(person_id=flexible, recipient_id=flexible, gap_start=Month(2026, 7).index,
                             stage="gap_2m", kind="gap_reminder", region_code="440305", due_on=TODAY,
                             deadline=TODAY + timedelta(days=30), gap_months=4))
    assert quote_for_person(db, flexible, TODAY).due
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    _pay(fake_pay, prepay_id)
    assert fake_pay.delivered == [(order.out_trade_no, 204)]
    paid = reload(db, order)
    assert paid.status == "paid" and paid.open_key is None
    assert paid.transaction_id == fake_pay.order(order.out_trade_no).transaction_id
    assert set(_statuses(db, flexible).values()) == {"back_paid"}
    assert not quote_for_person(db, flexible, TODAY).due  # the records page and gaps read the same rows
    with db.reading() as session:
        assert session.execute(select(Reminder.status)).scalar_one() == "cancelled_paid"
    assert len(_receipts(app, fake_wechat)) == 1


def test_a_repeated_or_out_of_order_notify_credits_once(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, fake_wechat: FakeWeChat) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    fake_pay.hold_notifies = True
    _pay(fake_pay, prepay_id)
    fake_pay.notify(order.out_trade_no)
    fake_pay.notify(order.out_trade_no)
    fake_pay.hold_notifies = False
    assert fake_pay.release(reverse=True) == [204, 204, 204]
    assert fake_pay.notify(order.out_trade_no) == 204
    assert _count(db, PayNotice) == 1
    assert _count(db, Contribution) == 78 + 4  # 2020-01 … 2026-06 paid, then the four paid back
    assert reload(db, order).status == "paid"
    assert len(_receipts(app, fake_wechat)) == 1


@pytest.mark.parametrize("how", [{"forged": True}, {"age": 3600}])
def test_a_forged_or_replayed_old_notify_is_refused_and_leaves_nothing(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, how: dict[str, Any]) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    fake_pay.hold_notifies = True
    _pay(fake_pay, prepay_id)
    fake_pay.hold_notifies = False
    assert fake_pay.notify(order.out_trade_no, **how) == 401
    assert _count(db, PayNotice) == 0
    assert reload(db, order).status == "open"
    assert set(_statuses(db, flexible).values()) == set()


def test_a_payment_of_another_amount_is_held_and_refunded_by_staff(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, fake_wechat: FakeWeChat) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    _pay(fake_pay, prepay_id, paid_total=1)
    held = reload(db, order)
    assert held.status == "held"
    assert "0.01 元与订单金额" in (held.hold_reason or "")
    assert _statuses(db, flexible) == {}
    assert _receipts(app, fake_wechat) == []
    assert held.transaction_id is not None
    refund_payment(db, app, held.transaction_id, "staff:test")
    fake_pay.wait_for_notifies()
    assert reload(db, order).status == "refunded"
    assert fake_pay.order(order.out_trade_no).state == "REFUND"
    again = refund_payment(db, app, held.transaction_id, "staff:test")  # a second click
    assert again.status == "SUCCESS" and len(fake_pay.refunds) == 1


def test_a_notify_for_an_unknown_order_is_kept_for_staff(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, live_server: LiveServer) -> None:
    stray = fake_pay.stray_payment("NOT-OURS-1", 12345)
    assert fake_pay.notify(stray.out_trade_no, url=live_server.url + "/pay/notify/wechatpay") == 204
    with db.reading() as session:
        assert session.execute(select(PayNotice.outcome)).scalar_one() == "unknown_order"


def test_a_payment_for_a_closed_order_is_held(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    with db.transaction() as session:  # closed here while WeChat Pay still let the citizen pay
        session.execute(update(PayOrder).values(status="closed", open_key=None))
    _pay(fake_pay, prepay_id)
    held = reload(db, order)
    assert held.status == "held" and "关闭" in (held.hold_reason or "")
    assert _statuses(db, flexible) == {}


def test_an_expired_quote_cannot_be_paid_and_a_late_payment_is_held(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    with time_machine.travel("2026-11-26 10:00:00 +08:00", tick=True):
        with pytest.raises(PayError) as refused:
            start_payment(db, app, FLEX_OPENID, order.out_trade_no, TODAY + timedelta(days=1))
        assert "过期" in refused.value.message
        _pay(fake_pay, prepay_id)  # the cashier was still open from yesterday
    held = reload(db, order)
    assert held.status == "held" and "报价有效期" in (held.hold_reason or "")
    assert _statuses(db, flexible) == {}


def test_a_prepay_timeout_charges_nothing_and_the_retry_uses_the_same_order(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    from miniservice.payments.orders import open_order

    order = open_order(db, app, FLEX_OPENID, flexible, ITEM, TODAY)
    channel(app).client._core._timeout = (1, 0.5)
    fake_pay.delay("transactions/jsapi", 1.5)
    with pytest.raises(PayError) as refused:
        start_payment(db, app, FLEX_OPENID, order.out_trade_no, TODAY)
    assert refused.value.status == 503 and "没有扣款" in refused.value.message
    assert reload(db, order).prepay_id is None
    channel(app).client._core._timeout = TIMEOUT  # the retry waits as long as in production
    params = start_payment(db, app, FLEX_OPENID, order.out_trade_no, TODAY)
    assert params["package"] == f"prepay_id={fake_pay.order(order.out_trade_no).prepay_id}"
    with db.reading() as session:
        assert session.execute(select(PayOrder.out_trade_no)).scalars().all() == [order.out_trade_no]
    time.sleep(1.5)  # the prepay that timed out still lands at the fake: not during the next test


def test_a_worker_killed_between_notify_and_settlement_loses_nothing(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, monkeypatch: pytest.MonkeyPatch) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)

    def killed(*args: Any) -> str:
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(settlement, "settle_notice", killed)
        _pay(fake_pay, prepay_id)
    assert fake_pay.delivered[-1][1] != 204  # WeChat Pay will retry
    with db.reading() as session:
        stored = session.execute(select(PayNotice)).scalar_one()
    assert stored.settled_at is None
    assert reload(db, order).status == "open"
    assert settle_pending(db, app) == 1
    assert fake_pay.notify(order.out_trade_no) == 204  # the retry finds it settled
    assert reload(db, order).status == "paid"
    assert _count(db, PayNotice) == 1
    assert set(_statuses(db, flexible).values()) == {"back_paid"}


def test_cancelling_closes_the_order_at_wechat_pay_and_frees_the_months(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order, _ = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    assert close_order(db, app, order, "cancelled") == "closed"
    assert fake_pay.order(order.out_trade_no).state == "CLOSED"
    assert reload(db, order).open_key is None


def test_a_relatives_premium_paid_in_cash_is_recorded_as_paid_by_the_family(
        app: Flask, db: Database, registry: Registry, flexible: int, fake_pay: FakeWeChatPay) -> None:
    relative = registry.person(region="440305", scheme="resident", enrolled=date(2020, 1, 1))
    registry.years(relative, 2024, 2025, 2026)
    registry.family_link(flexible, relative)
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, relative, "premium:2027")
    _pay(fake_pay, prepay_id)
    assert reload(db, order).status == "paid"
    with db.reading() as session:
        year = session.execute(select(ResidentPremium).where(
            ResidentPremium.person_id == relative, ResidentPremium.year == 2027)).scalar_one()
        balance = session.execute(select(PersonalAccount.balance).where(
            PersonalAccount.person_id == flexible)).scalar_one()
    assert (year.status, year.payer, year.payer_person_id, year.amount) == ("paid", "family", flexible, order.amount)
    assert balance == Decimal("1000")  # cash: the holder's personal account is not touched


def test_a_notify_for_another_merchant_is_refused(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, monkeypatch: pytest.MonkeyPatch) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    fake_pay.hold_notifies = True
    _pay(fake_pay, prepay_id)
    fake_pay.hold_notifies = False
    monkeypatch.setattr(fake_pay, "keys", replace(fake_pay.keys, mchid="1900000000"))
    assert fake_pay.notify(order.out_trade_no) == 400
    assert _count(db, PayNotice) == 0


def test_tapping_pay_twice_asks_wechat_pay_once_and_opens_the_same_payment(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    again = start_payment(db, app, FLEX_OPENID, order.out_trade_no, TODAY)
    assert again["package"] == f"prepay_id={prepay_id}"
    assert list(fake_pay.orders) == [order.out_trade_no]


def test_a_query_timeout_on_the_result_page_loses_nothing(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    from tests.quotes.conftest import sign_in

    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    fake_pay.hold_notifies = True
    _pay(fake_pay, prepay_id)
    channel(app).client._core._timeout = (1, 0.5)
    fake_pay.delay("out-trade-no", 1.5)
    client = app.test_client()
    sign_in(client, FLEX_OPENID)
    page = client.get(f"/h5/pay/orders/{order.out_trade_no}/result").get_data(as_text=True)
    assert "暂未收到付款结果。如您已付款，请稍后刷新本页" in page
    assert reload(db, order).status == "open"
    time.sleep(1.2)  # the slow query lands before the notify comes
    fake_pay.hold_notifies = False
    assert fake_pay.release() == [204]
    assert reload(db, order).status == "paid"


def test_a_close_that_times_out_keeps_the_order_open_and_says_so(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order, _ = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    channel(app).client._core._timeout = (1, 0.5)
    fake_pay.delay("out-trade-no", 1.5)
    with pytest.raises(PayError) as refused:
        close_order(db, app, order, "cancelled")
    assert refused.value.status == 503 and "稍后再试" in refused.value.message
    assert reload(db, order).status == "open"  # WeChat Pay may still take the payment: it will be settled
    time.sleep(1.2)
