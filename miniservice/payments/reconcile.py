"""Daily reconciliation: every order against the channel's bill, every 分 accounted for.

For one bill day: each SUCCESS row of the bill must match a settled (or held) order of the same
amount; a row whose payment never reached us (lost notify) is recovered by querying the channel and
settled through :func:`~miniservice.payments.settlement.receive`; a row for no order of ours is
flagged and kept (as is a second payment of an order already paid) so that staff can refund it; an
order settled here for that day but missing from the bill is flagged. Payments stored
but left unsettled by a dead worker are settled first. The day's result replaces any earlier run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, select
from sqlmodel import Session

from miniservice import state
from miniservice.clock import now_utc
from miniservice.db import Database, get_db
from miniservice.payments.channels import BillLine, ChannelUnavailable, Transaction, channel_named
from miniservice.payments.models import PayNotice, PayOrder, PayReconciliation, PayRefund
from miniservice.payments.orders import close_expired
from miniservice.payments.settlement import receive, settle_pending
from miniservice.rules.money import ZERO
from miniservice.rules.quote_model import money


def billed_payment(line: BillLine, tz: ZoneInfo) -> Transaction:
    """A bill row as a payment (the bill's times are local, without an offset)."""
    return Transaction(out_trade_no=line.out_trade_no, trade_state="SUCCESS", transaction_id=line.transaction_id,
                       amount=line.amount, success_time=datetime.fromisoformat(line.at).replace(tzinfo=tz))


class ReconcileFailed(RuntimeError):
    """The bill could not be fetched: nothing was recorded for the day; run again later."""


def reconcile(db: Database, app: Flask, day: date, channel_name: str = "wechatpay") -> PayReconciliation:
    channel = channel_named(app, channel_name)
    if channel is None:
        raise ReconcileFailed(f"channel {channel_name} is not configured")
    settle_pending(db, app)
    try:
        bill = channel.bill(day)
    except ChannelUnavailable as exc:
        raise ReconcileFailed(str(exc)) from exc
    tz = ZoneInfo(state.settings(app).timezone)
    findings: list[str] = []
    run = PayReconciliation(channel=channel_name, bill_date=day)
    paid_lines = [line for line in bill if line.trade_state == "SUCCESS"]
    run.bill_count, run.bill_total = len(paid_lines), sum((line.amount for line in paid_lines), ZERO)
    billed = set()
    for line in paid_lines:
        billed.add(line.out_trade_no)
        with db.reading() as session:
            known = session.execute(select(PayNotice.id).where(
                PayNotice.transaction_id == line.transaction_id)).first() is not None
            order = session.execute(select(PayOrder).where(
                PayOrder.out_trade_no == line.out_trade_no)).scalar_one_or_none()
        if order is None:
            run.unknown += 1
            findings.append(f"账单中的付款 {line.out_trade_no}（{money(line.amount)} 元）没有对应订单")
        elif line.amount != order.amount:
            run.mismatched += 1
            findings.append(f"订单 {line.out_trade_no} 账单金额 {money(line.amount)} 元与订单金额 "
                            f"{money(order.amount)} 元不符")
        if known:
            continue
        if order is None or order.transaction_id not in (None, line.transaction_id):
            if order is not None:
                run.mismatched += 1
                findings.append(f"订单 {line.out_trade_no} 重复付款 {money(line.amount)} 元，已列入待退款")
            receive(db, app, channel_name, billed_payment(line, tz), source="bill")
            continue
        try:
            found = channel.query(line.out_trade_no)
        except ChannelUnavailable:
            findings.append(f"订单 {line.out_trade_no} 未收到支付通知，查询失败，下次对账重试")
            continue
        if receive(db, app, channel_name, found, source="query") != "ignored":
            run.recovered += 1
            findings.append(f"订单 {line.out_trade_no} 未收到支付通知，已按查询结果补记")
    with db.reading() as session:
        ours = session.execute(select(PayOrder).where(PayOrder.channel == channel_name,
                                                      PayOrder.status.in_(("paid", "held", "refunded")),
                                                      PayOrder.paid_at.is_not(None))).scalars().all()
    ours = [o for o in ours if o.paid_at is not None and o.paid_at.astimezone(tz).date() == day]
    settled = [o for o in ours if o.status == "paid"]
    run.settled_count, run.settled_total = len(settled), sum((o.amount for o in settled), Decimal("0"))
    for order in ours:
        if order.out_trade_no not in billed:
            run.mismatched += 1
            findings.append(f"订单 {order.out_trade_no} 本系统已收款，但不在当日账单中")
    run.details = json.dumps(findings, ensure_ascii=False)
    with db.transaction() as session:
        previous = session.execute(select(PayReconciliation).where(
            PayReconciliation.channel == channel_name, PayReconciliation.bill_date == day)
            .with_for_update()).scalar_one_or_none()
        if previous is not None:
            session.delete(previous)
            session.flush()
        run.ran_at = now_utc()
        session.add(run)
    return run


def reconcile_yesterday(app: Flask, today: date) -> None:
    """The scheduler's daily job body."""
    with app.app_context():
        try:
            reconcile(get_db(), app, today - timedelta(days=1))
        except ReconcileFailed as exc:
            app.logger.warning("daily reconciliation failed: %s", exc)
        close_expired(get_db(), app, today)


@dataclass(frozen=True, slots=True)
class PaymentSummary:
    """What the dashboard shows of payments: those waiting for staff (held orders, and second payments or
    payments for no order not yet refunded) and the latest reconciliation."""

    held: int
    latest: PayReconciliation | None


def payment_summary(session: Session) -> PaymentSummary:
    orders = select(func.count()).select_from(PayOrder).where(PayOrder.status == "held")
    strays = select(func.count()).select_from(PayNotice).where(
        PayNotice.outcome.in_(("unknown_order", "duplicate")),
        ~select(PayRefund.id).where(PayRefund.transaction_id == PayNotice.transaction_id).exists())
    held = session.execute(orders).scalar_one() + session.execute(strays).scalar_one()
    latest = session.execute(select(PayReconciliation).order_by(PayReconciliation.bill_date.desc())
                             .limit(1)).scalar_one_or_none()
    return PaymentSummary(held, latest)
