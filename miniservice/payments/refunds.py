"""Refunds of payments that cannot be applied: held orders, a second payment of one order, and
payments for no order of ours (found by a notify or by reconciliation).

Staff start a refund with one action (``refund_payment``). The refund number is derived from the
payment's transaction id and ``pay_refund`` keeps it unique, so a repeated click, or two staff at
once, asks the channel for the same refund, which the channel does once. The row is stored before
the channel is asked: a request that times out stays ``requested`` and the next click sends the same
number again. The channel's refund notify (verified like a payment's) records the final state once
(:func:`record_refund_state`); a repeated or late notify changes nothing.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import select
from sqlmodel import Session

from miniservice.audit import record
from miniservice.clock import now_utc
from miniservice.db import Database, insert_ignore
from miniservice.payments.channels import ChannelUnavailable, RefundState, channel_named
from miniservice.payments.errors import PayError
from miniservice.payments.models import REFUND_FINAL, REFUND_STATES, PayNotice, PayOrder, PayRefund

log = logging.getLogger(__name__)

REFUNDABLE = ("held", "duplicate", "unknown_order")
REASON = "缴费未能入账，全额退回"

REFUND_WORDS = {
    "requested": "退款请求未送达微信支付，可再次点击退款（不会重复退款）",
    "PROCESSING": "退款处理中",
    "SUCCESS": "已退回付款人",
    "ABNORMAL": "退款异常（如付款人银行卡已注销），请在商户平台处理",
    "CLOSED": "退款已关闭",
}


def refund_number(transaction_id: str) -> str:
    """One refund number per payment (≤ 64 characters, as WeChat Pay allows)."""
    return f"R{transaction_id}"[:64]


def _refundable(session: Session, transaction_id: str) -> PayNotice:
    notice = session.execute(select(PayNotice).where(PayNotice.transaction_id == transaction_id)).scalar_one_or_none()
    if notice is None:
        raise PayError("未找到该笔付款。", 404)
    if notice.outcome not in REFUNDABLE:
        raise PayError("该笔付款已正常入账或尚未处理，不能在这里退款。")
    return notice


def refund_payment(db: Database, app: Flask, transaction_id: str, actor: str) -> PayRefund:
    """Staff's one action on a payment that could not be applied: refund it in full through its channel."""
    with db.transaction() as session:
        notice = _refundable(session, transaction_id)
        number = refund_number(transaction_id)
        if insert_ignore(session, PayRefund, out_refund_no=number, transaction_id=transaction_id,
                         out_trade_no=notice.out_trade_no, channel=notice.channel, amount=notice.amount,
                         why=notice.outcome, status="requested", requested_by=actor, requested_at=now_utc()):
            record(session, actor, "payment.refund_requested", f"pay_notice:{transaction_id}",
                   out_trade_no=notice.out_trade_no, amount=str(notice.amount), why=notice.outcome)
        refund = session.execute(select(PayRefund).where(PayRefund.transaction_id == transaction_id)).scalar_one()
    if refund.status != "requested":
        return refund  # the channel already has it: a second click sends nothing
    channel = channel_named(app, refund.channel)
    if channel is None:
        raise PayError("收款渠道未配置，无法退款。", 503)
    try:
        answer = channel.refund(transaction_id, number, refund.amount, refund.amount, REASON)
    except ChannelUnavailable as exc:
        log.warning("refund %s failed: %s", number, exc)
        raise PayError("退款请求未成功，请稍后再试（不会重复退款）。", 503) from None
    stored = _store_state(db, answer)
    assert stored is not None
    return stored


def record_refund_state(db: Database, state: RefundState) -> str:
    """A verified refund notify: its final state is stored once; returns what happened to it."""
    return "recorded" if _store_state(db, state) is not None else "unknown_refund"


def _store_state(db: Database, state: RefundState) -> PayRefund | None:
    """Move a refund on to the channel's state (its answer or its notify, whichever comes first); a final
    state is never replaced by a later, older one. A held order is refunded once the channel has it."""
    with db.transaction() as session:
        refund = session.execute(select(PayRefund).where(PayRefund.out_refund_no == state.out_refund_no)
                                 .with_for_update()).scalar_one_or_none()
        if refund is None:
            log.error("refund notify for unknown refund %s", state.out_refund_no)
            return None
        if state.status not in REFUND_STATES:
            log.error("refund %s: unknown state %r left as it was", state.out_refund_no, state.status)
            return refund
        if refund.why == "held":
            _mark_order_refunded(session, refund)
        if refund.status in REFUND_FINAL or state.status == refund.status:
            return refund
        refund.status, refund.refund_id = state.status, state.refund_id or refund.refund_id
        if state.status in REFUND_FINAL:
            refund.finished_at = state.success_time or now_utc()
            record(session, "system:payments", "payment.refund_finished", f"pay_refund:{refund.out_refund_no}",
                   status=REFUND_WORDS.get(state.status, state.status), amount=str(refund.amount))
        return refund


def _mark_order_refunded(session: Session, refund: PayRefund) -> None:
    order = session.execute(select(PayOrder).where(PayOrder.transaction_id == refund.transaction_id)
                            .with_for_update()).scalar_one_or_none()
    if order is not None and order.status == "held":
        order.status, order.refund_no, order.refunded_at = "refunded", refund.out_refund_no, now_utc()
        record(session, "system:payments", "payment.refunded", f"pay_order:{order.id}", amount=str(refund.amount))


def refunds_by_payment(session: Session, transaction_ids: list[str]) -> dict[str, PayRefund]:
    if not transaction_ids:
        return {}
    rows = session.execute(select(PayRefund).where(PayRefund.transaction_id.in_(transaction_ids))).scalars()
    return {row.transaction_id: row for row in rows}
