"""Daily reconciliation against the fake WeChat Pay's bill, and ``miniservice orders``."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select

from miniservice.cli import main
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.devtools.fake_wechatpay import FakeWeChatPay
from miniservice.payments.models import PayOrder, PayReconciliation
from miniservice.payments.reconcile import reconcile
from tests.conftest import LiveServer
from tests.payments.conftest import FLEX_OPENID, channel, ordered_and_prepaid, reload
from tests.quotes.conftest import TODAY, Registry

ITEM = "backpay:2026-07:2026-10"


@pytest.fixture(autouse=True)
def _served(live_server: LiveServer, fake_wechat: FakeWeChat) -> None:
    fake_wechat.add_follower(FLEX_OPENID)


def test_a_lost_notify_is_recovered_and_an_unknown_payment_flagged(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    fake_pay.hold_notifies = True  # the notify never arrives
    fake_pay.pay(prepay_id)
    fake_pay.stray_payment("NOT-OURS-2", 5000)
    run = reconcile(db, app, TODAY)
    assert reload(db, order).status == "paid"
    assert (run.bill_count, run.bill_total) == (2, order.amount + Decimal("50.00"))
    assert (run.settled_count, run.settled_total) == (1, order.amount)
    assert (run.recovered, run.unknown, run.mismatched) == (1, 1, 0)
    findings = json.loads(run.details)
    assert any("NOT-OURS-2" in f and "没有对应订单" in f for f in findings)
    fake_pay.hold_notifies = False
    assert fake_pay.release() == [204]  # the late notify changes nothing
    again = reconcile(db, app, TODAY)
    assert (again.recovered, again.unknown, again.settled_count) == (0, 1, 1)
    with db.reading() as session:
        assert len(session.execute(select(PayReconciliation)).all()) == 1  # one result per day


def test_a_query_timeout_leaves_the_payment_for_the_next_run(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    fake_pay.hold_notifies = True
    fake_pay.pay(prepay_id)
    channel(app).client._core._timeout = (1, 0.5)
    fake_pay.delay("out-trade-no", 1.5)
    run = reconcile(db, app, TODAY)
    assert run.recovered == 0 and any("查询失败" in f for f in json.loads(run.details))
    assert reload(db, order).status == "open"
    assert reconcile(db, app, TODAY).recovered == 1
    assert reload(db, order).status == "paid"


def test_the_cli_lists_shows_and_reconciles(app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    fake_pay.pay(prepay_id)
    fake_pay.wait_for_notifies()
    runner = app.test_cli_runner()
    listed = runner.invoke(main, ["orders", "list"])
    assert order.out_trade_no in listed.output and "paid" in listed.output
    shown = runner.invoke(main, ["orders", "show", order.out_trade_no])
    assert json.loads(shown.output)["payments"][0]["outcome"] == "settled"
    assert FLEX_OPENID not in shown.output
    done = runner.invoke(main, ["orders", "reconcile", "--date", TODAY.isoformat()])
    assert done.exit_code == 0, done.output
    assert f"bill 1 payments {order.amount} yuan; settled here 1 payments {order.amount} yuan" in done.output
    with db.reading() as session:
        assert session.execute(select(PayOrder.status)).scalar_one() == "paid"


def test_an_expired_open_order_is_closed_by_the_daily_sweep(
        app: Flask, db: Database, registry: Registry, flexible: int, fake_pay: FakeWeChatPay) -> None:
    from datetime import timedelta

    from miniservice.payments.orders import close_expired

    order, _ = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    assert close_expired(db, app, TODAY) == 0
    assert close_expired(db, app, TODAY + timedelta(days=1)) == 1
    assert reload(db, order).status == "closed"
    assert fake_pay.order(order.out_trade_no).state == "CLOSED"
