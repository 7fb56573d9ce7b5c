"""缴费对账 in the staff back office: held payments, second payments of one order and payments for no
order (refund is one action on each, with its state as the channel reports it), and each day's
reconciliation."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from miniservice.admin.blueprint import bp
from miniservice.admin.principal import requires
from miniservice.db import get_db
from miniservice.payments.errors import PayError
from miniservice.payments.models import PayNotice, PayOrder, PayReconciliation
from miniservice.payments.refunds import REFUND_WORDS, refund_payment, refunds_by_payment

HELD_KINDS = {"backpay": "灵活就业补缴", "premium": "居民医保费", "relative_premium": "为亲属缴居民医保费"}


@bp.get("/payments", endpoint="payments")
def payments_page() -> Any:
    with get_db().reading() as session:
        held = session.execute(select(PayOrder).where(PayOrder.status.in_(("held", "refunded")))
                               .order_by(PayOrder.status, PayOrder.paid_at.desc()).limit(100)).scalars().all()
        unknown = session.execute(select(PayNotice).where(PayNotice.outcome.in_(("unknown_order", "duplicate")))
                                  .order_by(PayNotice.received_at.desc()).limit(50)).scalars().all()
        runs = session.execute(select(PayReconciliation).order_by(PayReconciliation.bill_date.desc())
                               .limit(14)).scalars().all()
        refunds = refunds_by_payment(session, [o.transaction_id for o in held if o.transaction_id]
                                     + [n.transaction_id for n in unknown])
    return render_template("admin/payments.html", held=held, unknown=unknown, kinds=HELD_KINDS, refunds=refunds,
                           refund_words=REFUND_WORDS, runs=[(run, json.loads(run.details)) for run in runs])


@bp.post("/payments/refund/<transaction_id>", endpoint="payment_refund")
@requires("editor")
def refund(transaction_id: str) -> Any:
    try:
        done = refund_payment(get_db(), current_app, transaction_id[:64], current_user.actor)
        flash(f"已提交全额退款（退款单号 {done.out_refund_no}）：{REFUND_WORDS[done.status]}。", "info")
    except PayError as exc:
        flash(exc.message, "error")
    return redirect(url_for("admin.payments"))
