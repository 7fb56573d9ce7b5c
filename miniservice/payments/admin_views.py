"""缴费对账 in the staff back office: held payments (refund is one action), unknown payments and
each day's reconciliation."""

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
from miniservice.payments.settlement import refund_held

HELD_KINDS = {"backpay": "灵活就业补缴", "premium": "居民医保费", "relative_premium": "为亲属缴居民医保费"}


@bp.get("/payments", endpoint="payments")
def payments_page() -> Any:
    with get_db().reading() as session:
        held = session.execute(select(PayOrder).where(PayOrder.status == "held")
                               .order_by(PayOrder.paid_at)).scalars().all()
        unknown = session.execute(select(PayNotice).where(PayNotice.outcome.in_(("unknown_order", "duplicate")))
                                  .order_by(PayNotice.received_at.desc()).limit(50)).scalars().all()
        runs = session.execute(select(PayReconciliation).order_by(PayReconciliation.bill_date.desc())
                               .limit(14)).scalars().all()
    return render_template("admin/payments.html", held=held, unknown=unknown, kinds=HELD_KINDS,
                           runs=[(run, json.loads(run.details)) for run in runs])


@bp.post("/payments/<int:order_id>/refund", endpoint="payment_refund")
@requires("editor")
def refund(order_id: int) -> Any:
    try:
        refund_held(get_db(), current_app, order_id, current_user.actor)
        flash("已提交全额退款。", "info")
    except PayError as exc:
        flash(exc.message, "error")
    return redirect(url_for("admin.payments"))
