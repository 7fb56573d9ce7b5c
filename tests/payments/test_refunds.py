"""Payments that must not be credited are refunded by staff, once, and the refund's final state is
recorded from the channel's verified refund notify: a second payment of a paid order, a payment for
no order found by reconciliation, a held payment."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from miniservice.audit.models import AuditEvent
from miniservice.citizens.models import Contribution
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.devtools.fake_wechatpay import FakeWeChatPay
from miniservice.payments.errors import PayError
from miniservice.payments.models import PayNotice, PayRefund
from miniservice.payments.reconcile import reconcile
from miniservice.payments.refunds import refund_number, refund_payment
from miniservice.payments.wechatpay import TIMEOUT
from tests.conftest import LiveServer
from tests.payments.conftest import FLEX_OPENID, channel, ordered_and_prepaid, receipts, reload
from tests.quotes.conftest import TODAY

ITEM = "backpay:2026-07:2026-10"


@pytest.fixture(autouse=True)
def _served(live_server: LiveServer, fake_wechat: FakeWeChat) -> None:
    fake_wechat.add_follower(FLEX_OPENID)


def _count(db: Database, model: Any, *where: Any) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _refund(db: Database, transaction_id: str) -> PayRefund:
    with db.reading() as session:
        return session.execute(select(PayRefund).where(PayRefund.transaction_id == transaction_id)).scalar_one()


def _paid(app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> Any:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    fake_pay.pay(prepay_id)
    fake_pay.wait_for_notifies()
    assert reload(db, order).status == "paid"
    return order


def test_a_second_payment_of_a_paid_order_is_not_credited_and_staff_refund_it_once(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, fake_wechat: FakeWeChat) -> None:
    order = _paid(app, db, flexible, fake_pay)
    months = _count(db, Contribution)
    second = fake_pay.second_payment(order.out_trade_no)
    assert second.transaction_id != reload(db, order).transaction_id
    assert fake_pay.notify(order.out_trade_no, transaction_id=second.transaction_id) == 204
    assert fake_pay.notify(order.out_trade_no, transaction_id=second.transaction_id) == 204  # repeated
    with db.reading() as session:
        kept = session.execute(select(PayNotice).where(PayNotice.transaction_id == second.transaction_id)).scalar_one()
    assert kept.outcome == "duplicate"
    assert _count(db, Contribution) == months  # nothing credited twice
    assert reload(db, order).status == "paid"
    assert len(receipts(app, fake_wechat, FLEX_OPENID)) == 1

    refund_payment(db, app, kept.transaction_id, "staff:1")
    refund_payment(db, app, kept.transaction_id, "staff:2")  # a second click, or another member of staff
    fake_pay.wait_for_notifies()
    refund = _refund(db, kept.transaction_id)
    assert (refund.out_refund_no, refund.status, refund.why) == (refund_number(kept.transaction_id), "SUCCESS",
                                                                  "duplicate")
    assert refund.finished_at is not None and refund.refund_id
    assert list(fake_pay.refunds) == [refund.out_refund_no]
    assert fake_pay.refunds[refund.out_refund_no].payment.transaction_id == second.transaction_id
    assert fake_pay.order(order.out_trade_no).state == "SUCCESS"  # the first payment stays paid
    assert reload(db, order).status == "paid"
    assert _count(db, AuditEvent, AuditEvent.action == "payment.refund_requested") == 1
    assert fake_pay.refund_notify(refund.out_refund_no, "SUCCESS") == 204  # repeated notify: nothing new
    assert _count(db, AuditEvent, AuditEvent.action == "payment.refund_finished") == 1


def test_an_unknown_payment_found_by_reconciliation_is_kept_and_refunded(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, live_server: LiveServer) -> None:
    stray = fake_pay.stray_payment("NOT-OURS-3", 4321)
    stray.notify_url = live_server.url + "/pay/notify/wechatpay"  # where its refund's notify goes
    run = reconcile(db, app, TODAY)
    assert run.unknown == 1 and run.recovered == 0
    with db.reading() as session:
        kept = session.execute(select(PayNotice)).scalar_one()
    assert (kept.out_trade_no, kept.outcome, kept.source, str(kept.amount)) == ("NOT-OURS-3", "unknown_order",
                                                                                "bill", "43.21")
    assert reconcile(db, app, TODAY).unknown == 1 and _count(db, PayNotice) == 1  # a re-run keeps one
    refund_payment(db, app, kept.transaction_id, "staff:1")
    fake_pay.wait_for_notifies()
    assert _refund(db, kept.transaction_id).status == "SUCCESS"


def test_a_second_payment_seen_only_in_the_bill_is_flagged_and_kept_for_refund(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order = _paid(app, db, flexible, fake_pay)
    second = fake_pay.second_payment(order.out_trade_no)  # its notify never comes
    run = reconcile(db, app, TODAY)
    assert run.mismatched == 1 and any("重复付款" in f for f in json.loads(run.details))
    with db.reading() as session:
        kept = session.execute(select(PayNotice).where(PayNotice.transaction_id == second.transaction_id)).scalar_one()
    assert kept.outcome == "duplicate"
    assert (run.settled_count, run.settled_total) == (1, order.amount)


@pytest.mark.parametrize("outcome", ["ABNORMAL", "CLOSED"])
def test_an_abnormal_or_closed_refund_is_recorded_and_a_final_state_is_not_overwritten(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, outcome: str) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    fake_pay.pay(prepay_id, paid_total=1)
    fake_pay.wait_for_notifies()
    held = reload(db, order)
    assert held.status == "held" and held.transaction_id
    fake_pay.refund_outcome = outcome
    refund_payment(db, app, held.transaction_id, "staff:1")
    fake_pay.wait_for_notifies()
    refund = _refund(db, held.transaction_id)
    assert refund.status == outcome and refund.finished_at is not None
    assert reload(db, order).status == "refunded"  # the channel has the refund: the order waits no more
    fake_pay.refund_notify(refund.out_refund_no, "PROCESSING")  # late, out of order
    assert _refund(db, held.transaction_id).status == outcome


def test_a_forged_refund_notify_is_refused(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay, monkeypatch: pytest.MonkeyPatch) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    fake_pay.pay(prepay_id, paid_total=1)
    fake_pay.wait_for_notifies()
    held = reload(db, order)
    assert held.transaction_id
    fake_pay.hold_notifies = True  # the genuine refund notify is kept back
    refund_payment(db, app, held.transaction_id, "staff:1")
    fake_pay.wait_for_notifies()
    fake_pay.hold_notifies = False
    number = refund_number(held.transaction_id)
    original = fake_pay._notify_body

    def forged(resource: dict[str, Any], **kwargs: Any) -> Any:
        return original(resource, **kwargs | {"forged": True})

    monkeypatch.setattr(fake_pay, "_notify_body", forged)
    assert fake_pay.refund_notify(number, "SUCCESS") == 401
    assert _refund(db, held.transaction_id).status == "PROCESSING"


def test_a_refund_request_that_times_out_is_sent_again_with_the_same_number(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order, prepay_id = ordered_and_prepaid(app, db, FLEX_OPENID, flexible, ITEM)
    fake_pay.pay(prepay_id, paid_total=1)
    fake_pay.wait_for_notifies()
    transaction_id = reload(db, order).transaction_id
    assert transaction_id
    channel(app).client._core._timeout = (1, 0.5)
    fake_pay.delay("refund/domestic", 1.5)
    with pytest.raises(PayError) as refused:
        refund_payment(db, app, transaction_id, "staff:1")
    assert refused.value.status == 503 and "不会重复退款" in refused.value.message
    assert _refund(db, transaction_id).status == "requested"
    channel(app).client._core._timeout = TIMEOUT
    time.sleep(1.2)  # the first request lands at the fake, late
    refund_payment(db, app, transaction_id, "staff:1")
    fake_pay.wait_for_notifies()
    assert list(fake_pay.refunds) == [refund_number(transaction_id)]  # one refund at the channel
    assert _refund(db, transaction_id).status == "SUCCESS"


def test_a_settled_payment_cannot_be_refunded_here(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    order = _paid(app, db, flexible, fake_pay)
    with pytest.raises(PayError) as refused:
        refund_payment(db, app, str(reload(db, order).transaction_id), "staff:1")
    assert "不能在这里退款" in refused.value.message
    assert fake_pay.refunds == {}


def test_the_dashboard_counts_payments_waiting_for_a_refund(
        app: Flask, db: Database, flexible: int, fake_pay: FakeWeChatPay) -> None:
    from miniservice.payments.reconcile import payment_summary

    order = _paid(app, db, flexible, fake_pay)
    second = fake_pay.second_payment(order.out_trade_no)
    fake_pay.notify(order.out_trade_no, transaction_id=second.transaction_id)
    with db.reading() as session:
        assert payment_summary(session).held == 1
    refund_payment(db, app, str(second.transaction_id), "staff:1")
    with db.reading() as session:
        assert payment_summary(session).held == 0
