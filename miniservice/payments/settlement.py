"""Settlement: a verified payment is stored once, then applied to its order once, or held for staff.

Two steps, each its own transaction, so nothing is lost if the worker dies between them:

1. :func:`receive` stores the payment (``pay_notice``, unique ``transaction_id``) — the notify is
   answered 200 only after this commits, so WeChat Pay retries anything not stored;
2. :func:`settle_notice` locks that row and, if it is not settled yet, checks the order (exists, the
   same amount, the same payer, not closed, paid within its expiry, rules unchanged, the months still
   unpaid) and either records the months as paid by the citizen and stops their reminders, or holds
   the order for staff with the reason. ``settled_at`` is set in the same transaction.

A notice stored but not settled (the worker was killed) is settled by the next notify of the same
payment, by :func:`settle_pending` (scheduler, ``miniservice orders reconcile``), never twice.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select, update
from sqlmodel import Session

from miniservice import state
from miniservice.audit import record
from miniservice.citizens.models import Contribution, Person, ResidentPremium
from miniservice.clock import now_utc
from miniservice.db import Database, insert_ignore
from miniservice.outbox import enqueue
from miniservice.payments.channels import Transaction
from miniservice.payments.models import PayNotice, PayOrder
from miniservice.quotes.errors import QuoteUnavailable
from miniservice.quotes.service import rules_on
from miniservice.reminders.models import Reminder
from miniservice.rules.months import Month
from miniservice.rules.quote_model import money

log = logging.getLogger(__name__)


def receive(db: Database, app: Flask, channel: str, tx: Transaction, *, source: str) -> str:
    """Store a confirmed payment (once per transaction id), then settle it; returns the outcome.

    ``source`` is ``notify``, ``query``, or ``bill``: a row of the channel's daily bill, passed here by
    reconciliation only when it can never be credited (a payment for no order of ours, or a second
    payment of an order already paid), so that it is kept for staff to refund.
    """
    if not tx.paid or tx.amount is None or tx.success_time is None:
        return "ignored"
    with db.transaction() as session:
        insert_ignore(session, PayNotice, transaction_id=tx.transaction_id, out_trade_no=tx.out_trade_no,
                      channel=channel, amount=tx.amount, payer_openid=tx.payer_openid,
                      success_time=tx.success_time, source=source, received_at=now_utc())
    assert tx.transaction_id is not None
    return settle_notice(db, app, tx.transaction_id)


def settle_notice(db: Database, app: Flask, transaction_id: str) -> str:
    tz = state.settings(app).timezone
    with app.app_context(), db.transaction() as session:
        notice = session.execute(select(PayNotice).where(PayNotice.transaction_id == transaction_id)
                                 .with_for_update()).scalar_one()
        if notice.settled_at is not None:
            return notice.outcome or "settled"
        order = session.execute(select(PayOrder).where(PayOrder.out_trade_no == notice.out_trade_no)
                                .with_for_update()).scalar_one_or_none()
        outcome = _apply(session, notice, order, tz)
        notice.settled_at, notice.outcome = now_utc(), outcome
        if outcome == "settled" and order is not None:
            enqueue_receipt(session, order)
    return outcome


def _apply(session: Session, notice: PayNotice, order: PayOrder | None, tz: str) -> str:
    if order is None:
        log.error("payment %s for unknown order %s", notice.transaction_id, notice.out_trade_no)
        record(session, "system:payments", "payment.unknown_order", f"pay_notice:{notice.transaction_id}",
               out_trade_no=notice.out_trade_no, amount=str(notice.amount))
        return "unknown_order"
    if order.transaction_id is not None and order.transaction_id != notice.transaction_id:
        record(session, "system:payments", "payment.duplicate", f"pay_order:{order.id}",
               transaction_id=notice.transaction_id, amount=str(notice.amount))
        return "duplicate"
    if order.status in ("paid", "held", "refunded"):
        return "settled" if order.status == "paid" else "held"
    paid_on = notice.success_time.astimezone(ZoneInfo(tz)).date()
    reasons = _mismatches(session, notice, order, paid_on)
    order.transaction_id, order.paid_at, order.open_key = notice.transaction_id, notice.success_time, None
    if reasons:
        order.status, order.hold_reason = "held", "；".join(reasons)[:200]
        record(session, "system:payments", "payment.held", f"pay_order:{order.id}",
               reason=order.hold_reason, amount=str(notice.amount))
        return "held"
    _record_paid(session, order, paid_on)
    _stop_reminders(session, order)
    order.status = "paid"
    record(session, f"citizen:#{order.payer_id}", "payment.settled", f"pay_order:{order.id}",
           person_id=order.person_id, item=order.item, amount=str(order.amount),
           transaction_id=notice.transaction_id)
    return "settled"


def _mismatches(session: Session, notice: PayNotice, order: PayOrder, paid_on: date) -> list[str]:
    """Why the payment cannot be applied as it stands, in words for the staff page."""
    reasons = []
    if notice.amount != order.amount:
        reasons.append(f"实付 {money(notice.amount)} 元与订单金额 {money(order.amount)} 元不符")
    if notice.payer_openid != order.openid:
        reasons.append("付款的微信用户不是下单人")
    if order.status == "closed":
        reasons.append("订单关闭后仍收到付款")
    if paid_on > order.expires_on:
        reasons.append(f"付款日 {paid_on} 已超过报价有效期 {order.expires_on}")
    try:
        version = rules_on(session, order.region_code, paid_on).version
    except QuoteUnavailable:
        version = None
    if version != order.rule_version:
        reasons.append("付款时适用的政策规则已变更")
    if _already_paid(session, order):
        reasons.append("所缴月份或年度已由他人缴纳")
    return reasons


def frozen_lines(order: PayOrder) -> list[dict[str, str]]:
    return json.loads(order.frozen)["quote"]["months"]


def _year(order: PayOrder) -> int:
    return int(order.item.split(":")[1])


def _months(order: PayOrder) -> list[int]:
    return [Month.parse(line["month"]).index for line in frozen_lines(order)]


def _already_paid(session: Session, order: PayOrder) -> bool:
    if order.kind == "backpay":
        covered = select(Contribution.id).where(
            Contribution.person_id == order.person_id, Contribution.month.in_(_months(order)),
            Contribution.status != "unpaid")
    else:
        covered = select(ResidentPremium.id).where(
            ResidentPremium.person_id == order.person_id, ResidentPremium.year == _year(order),
            ResidentPremium.status != "unpaid")
    return session.execute(covered.limit(1)).first() is not None


def _record_paid(session: Session, order: PayOrder, paid_on: date) -> None:
    """The months (or year) become paid by the citizen, where the records page and gaps read them."""
    person = session.get(Person, order.person_id)
    assert person is not None
    payer = "family" if order.kind == "relative_premium" else "self"
    common = {"paid_on": paid_on, "payer": payer, "payer_person_id": order.payer_id if payer == "family" else None}
    if order.kind == "backpay":
        rows = [(Contribution, {"person_id": order.person_id, "month": Month.parse(line["month"]).index},
                 {"scheme": person.scheme, "base": Decimal(line["base"]), "unit_amount": Decimal(line["unit_amount"]),
                  "personal_amount": Decimal(line["personal_amount"]), "status": "back_paid", **common})
                for line in frozen_lines(order)]
    else:
        resident = json.loads(order.frozen)["quote"]["resident"]
        status = "paid" if resident and resident["in_period"] else "back_paid"
        rows = [(ResidentPremium, {"person_id": order.person_id, "year": _year(order)},
                 {"amount": order.amount, "status": status, **common})]
    for model, keys, values in rows:
        changed = session.execute(update(model).filter_by(**keys, status="unpaid").values(**values)
                                  .execution_options(synchronize_session=False))
        if changed.rowcount != 1:
            session.add(model(**keys, **values))
    session.flush()


def _stop_reminders(session: Session, order: PayOrder) -> None:
    """Planned reminders about the months just paid will not go out (the sender would skip them too)."""
    if order.kind == "backpay":
        months = _months(order)
        which = (Reminder.kind == "gap_reminder", Reminder.gap_start >= min(months), Reminder.gap_start <= max(months))
    else:
        which = (Reminder.kind == "resident_period", Reminder.gap_start == Month(_year(order), 1).index)
    session.execute(update(Reminder)
                    .where(Reminder.person_id == order.person_id, Reminder.status == "planned", *which)
                    .values(status="cancelled_paid", finished_at=now_utc())
                    .execution_options(synchronize_session=False))


def enqueue_receipt(session: Session, order: PayOrder) -> None:
    """The receipt goes into the durable outbox in the settlement's own transaction: it exists exactly
    when the payment is recorded, and the outbox's key makes a replayed settlement add nothing."""
    kind, _, rest = order.item.partition(":")
    first, _, last = rest.partition(":")
    enqueue(session, f"receipt:pay_order:{order.id}", order.openid, "pay_receipt.txt", kind=kind, year=first,
            first=first, last=last, amount=str(order.amount))


def settle_pending(db: Database, app: Flask) -> int:
    """Settle every stored payment a dead worker left unsettled."""
    with db.reading() as session:
        unsettled = select(PayNotice.transaction_id).where(PayNotice.settled_at.is_(None))
        pending = session.execute(unsettled).scalars().all()
    for transaction_id in pending:
        settle_notice(db, app, transaction_id)
    return len(pending)


