"""``miniservice orders list|show|reconcile``: payment orders for staff at a terminal."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import click
from flask import current_app
from sqlalchemy import select

from miniservice import state
from miniservice.db import get_db
from miniservice.payments.models import PayNotice, PayOrder, PayRefund
from miniservice.payments.orders import close_expired
from miniservice.payments.reconcile import ReconcileFailed, reconcile


@click.group("orders", help="Payment orders: list, show one, reconcile a day with the pay server's bill.")
def orders() -> None:
    pass


@orders.command("list", help="Orders, newest first.")
@click.option("--status", type=click.Choice(["open", "paid", "held", "closed", "refunded"]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def list_orders(status: str | None, limit: int) -> None:
    with get_db().reading() as session:
        query = select(PayOrder).order_by(PayOrder.id.desc()).limit(limit)
        if status:
            query = query.where(PayOrder.status == status)
        for o in session.execute(query).scalars():
            click.echo(f"{o.out_trade_no}  {o.status:<8} {o.kind:<16} {o.item:<24} {o.amount:>10}  "
                       f"expires {o.expires_on}")


@orders.command("show", help="One order with its frozen quote, the payments received for it and their refunds.")
@click.argument("out_trade_no")
def show(out_trade_no: str) -> None:
    with get_db().reading() as session:
        order = session.execute(select(PayOrder).where(PayOrder.out_trade_no == out_trade_no)).scalar_one_or_none()
        if order is None:
            raise click.ClickException(f"no order {out_trade_no}")
        notices = session.execute(select(PayNotice).where(PayNotice.out_trade_no == out_trade_no)).scalars().all()
        refunds = session.execute(select(PayRefund).where(PayRefund.out_trade_no == out_trade_no)).scalars().all()
    fields = {k: str(v) for k, v in order.model_dump(exclude={"frozen", "openid"}).items()}
    fields["frozen"] = json.loads(order.frozen)
    fields["payments"] = [{"transaction_id": n.transaction_id, "amount": str(n.amount), "source": n.source,
                           "outcome": n.outcome} for n in notices]
    fields["refunds"] = [{"out_refund_no": r.out_refund_no, "transaction_id": r.transaction_id,
                          "amount": str(r.amount), "status": r.status, "requested_by": r.requested_by,
                          "finished_at": str(r.finished_at) if r.finished_at else None} for r in refunds]
    click.echo(json.dumps(fields, ensure_ascii=False, indent=2))


@orders.command("reconcile", help="Compare a day's orders with the pay server's bill (default: yesterday).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None)
def reconcile_command(day: datetime | None) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    today = state.clock().today()
    bill_day = day.date() if day is not None else today - timedelta(days=1)
    try:
        run = reconcile(get_db(), app, bill_day)
    except ReconcileFailed as exc:
        raise click.ClickException(f"reconciliation of {bill_day} failed: {exc}") from exc
    closed = close_expired(get_db(), app, today)
    click.echo(f"{run.bill_date}: bill {run.bill_count} payments {run.bill_total} yuan; settled here "
               f"{run.settled_count} payments {run.settled_total} yuan; recovered {run.recovered}, "
               f"unknown {run.unknown}, mismatched {run.mismatched}; expired orders closed {closed}")
    for finding in json.loads(run.details):
        click.echo(f"  - {finding}")
