"""网上缴费 pages (``/h5/pay``) and the channel's notify (``/pay/notify/<channel>``).

Thin views: who the citizen is comes from WeChat OAuth (``g.openid``); every step is a service call.
The notify (a payment's or a refund's) is answered 204 only once it is stored; a forged or stale
notify gets 401 and leaves nothing behind.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for

from miniservice import state
from miniservice.admin.blueprint import csrf
from miniservice.db import get_db
from miniservice.payments.channels import CHANNEL_LABELS, BadNotify, ChannelUnavailable, RefundState, channel_named
from miniservice.payments.errors import PayError
from miniservice.payments.orders import bound_payer, close_order, open_order, order_for, payables, start_payment
from miniservice.payments.refunds import record_refund_state
from miniservice.payments.settlement import receive
from miniservice.quotes.errors import QuoteUnavailable
from miniservice.wechat.oauth import citizen_required

bp = Blueprint("payments", __name__)

MAX_NOTIFY_BYTES = 16 * 1024


def _error(exc: PayError) -> Any:
    return render_template("h5/error.html", message=exc.message), exc.status


@bp.get("/h5/pay")
@citizen_required
def pay_home() -> Any:
    try:
        with get_db().reading() as session:
            payer = bound_payer(session, g.openid)
            items = payables(session, payer, state.clock().today())
    except PayError as exc:
        return _error(exc)
    except QuoteUnavailable:
        message = f"缴费服务暂时无法使用，请稍后再试，或拨打 {current_app.jinja_env.globals['hotline']} 咨询。"
        return render_template("h5/error.html", message=message), 503
    return render_template("h5/pay.html", items=items, labels=CHANNEL_LABELS)


@bp.post("/h5/pay/orders")
@citizen_required
def create_order() -> Any:
    csrf.protect()
    try:
        person_id = int(request.form.get("person", ""))
    except ValueError:
        abort(400)
    item = request.form.get("item", "")[:40]
    try:
        order = open_order(get_db(), current_app, g.openid, person_id, item, state.clock().today())
    except PayError as exc:
        return _error(exc)
    return redirect(url_for("payments.order_page", out_trade_no=order.out_trade_no))


@bp.get("/h5/pay/orders/<out_trade_no>")
@citizen_required
def order_page(out_trade_no: str) -> Any:
    try:
        with get_db().reading() as session:
            order = order_for(session, g.openid, out_trade_no)
    except PayError as exc:
        return _error(exc)
    settings = state.settings()
    cashier = None
    if settings.env != "production" and settings.pay_api_base:  # the fake's cashier stands in for WeChat's
        cashier = settings.pay_api_base.rstrip("/") + "/__fake__/pay/cashier"
    return render_template("h5/pay_order.html", order=order, frozen=json.loads(order.frozen)["quote"],
                           expired=order.expires_on < state.clock().today(), cashier=cashier)


@bp.post("/h5/pay/orders/<out_trade_no>/prepay")
@citizen_required
def prepay(out_trade_no: str) -> Any:
    csrf.protect()
    try:
        params = start_payment(get_db(), current_app, g.openid, out_trade_no, state.clock().today())
    except PayError as exc:
        return jsonify(message=exc.message), exc.status
    return jsonify(params)


@bp.get("/h5/pay/orders/<out_trade_no>/result")
@citizen_required
def result(out_trade_no: str) -> Any:
    """Back from the cashier: if no notify has come yet, ask the channel once (a lost notify is
    recovered here, through the same settlement)."""
    db = get_db()
    try:
        with db.reading() as session:
            order = order_for(session, g.openid, out_trade_no)
    except PayError as exc:
        return _error(exc)
    channel = channel_named(current_app, order.channel)
    state = None  # what the channel says of an unpaid order: failed (PAYERROR), not paid, or unknown
    if order.status == "open" and order.prepay_id and channel is not None:
        try:
            found = channel.query(order.out_trade_no)
            state = found.trade_state
            if found.paid:
                receive(db, current_app, order.channel, found, source="query")
        except ChannelUnavailable:
            pass  # the notify or the daily reconciliation will bring it
        with db.reading() as session:
            order = order_for(session, g.openid, out_trade_no)
    return render_template("h5/pay_result.html", order=order, state=state)


@bp.post("/h5/pay/orders/<out_trade_no>/cancel")
@citizen_required
def cancel(out_trade_no: str) -> Any:
    csrf.protect()
    db = get_db()
    try:
        with db.reading() as session:
            order = order_for(session, g.openid, out_trade_no)
        if order.status == "open":
            close_order(db, current_app, order, "cancelled")
    except PayError as exc:
        return _error(exc)
    return redirect(url_for("payments.pay_home"))


@bp.post("/pay/notify/<name>")
def notify(name: str) -> Any:
    channel = channel_named(current_app, name)
    if channel is None:
        abort(404)
    if (request.content_length or 0) > MAX_NOTIFY_BYTES:
        return jsonify(code="FAIL", message="too large"), 413
    body = request.get_data(cache=False)
    try:
        tx = channel.parse_notify(dict(request.headers), body)
    except BadNotify as exc:
        current_app.logger.warning("refused a %s notify: %s", name, exc)
        return jsonify(code="FAIL", message="signature"), 401
    keys = getattr(channel, "keys", None)
    if keys is not None and tx.mchid is not None and tx.mchid != keys.mchid:
        return jsonify(code="FAIL", message="merchant"), 400
    if isinstance(tx, RefundState):
        record_refund_state(get_db(), tx)
    else:
        receive(get_db(), current_app, name, tx, source="notify")
    return "", 204
