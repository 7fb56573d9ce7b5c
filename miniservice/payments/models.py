"""Payment orders, the verified notifies behind them, and the daily reconciliation.

Each table's unique keys are its idempotency:

* ``pay_order.open_key`` (``person:item`` while the order is open, NULL once it is paid, held, closed
  or refunded): one open order per citizen and set of months, so a second tap finds the first order;
* ``pay_order.out_trade_no``: the number the channel knows the order by;
* ``pay_notice.transaction_id``: a payment is recorded once, however often or late its notify comes;
* ``pay_order.transaction_id``: an order is settled by one payment; a second one is held for refund;
* ``pay_reconciliation (channel, bill_date)``: one result per day, replaced when the day is re-run;
* ``pay_refund.out_refund_no`` (derived from the payment's transaction id) and ``pay_refund.transaction_id``:
  a payment is refunded once, in full, however often staff click or the channel's notify repeats.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from miniservice.clock import now_utc
from miniservice.columns import Money, UTCDateTime, one_of

KINDS = ("backpay", "premium", "relative_premium")
STATUSES = ("open", "paid", "held", "closed", "refunded")
# ``requested``: stored, not yet accepted by the channel (a click may send it again, same number);
# then the channel's own states: PROCESSING, and the final SUCCESS / ABNORMAL / CLOSED from its notify.
REFUND_STATES = ("requested", "PROCESSING", "SUCCESS", "ABNORMAL", "CLOSED")
REFUND_FINAL = ("SUCCESS", "ABNORMAL", "CLOSED")


class PayOrder(SQLModel, table=True):
    """A frozen quote waiting for (or settled by) one payment."""

    __tablename__ = "pay_order"
    __table_args__ = (
        CheckConstraint(one_of("status", STATUSES), name="ck_pay_order_status"),
        CheckConstraint(one_of("kind", KINDS), name="ck_pay_order_kind"),
        CheckConstraint("amount > 0", name="ck_pay_order_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    out_trade_no: str = Field(max_length=32, unique=True)
    open_key: str | None = Field(default=None, max_length=80, unique=True)
    openid: str = Field(max_length=64, index=True)  # who pays, in WeChat
    payer_id: int = Field(sa_column=Column(Integer, ForeignKey("person.id"), nullable=False, index=True))
    person_id: int = Field(sa_column=Column(Integer, ForeignKey("person.id"), nullable=False, index=True))
    kind: str = Field(max_length=24)
    item: str = Field(max_length=40)  # backpay:2026-03:2026-06 / premium:2027
    amount: Decimal = Field(sa_type=Money)
    region_code: str = Field(max_length=6)
    rule_version: str = Field(max_length=40)
    frozen: str = Field(sa_column=Column(Text, nullable=False))  # JSON: lines, totals, facts, quote date
    quoted_on: date
    expires_on: date  # last local day the frozen figures hold; paying later is held for staff
    channel: str = Field(max_length=24)
    status: str = Field(default="open", max_length=16, index=True)
    prepay_id: str | None = Field(default=None, max_length=64)
    prepaid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    transaction_id: str | None = Field(default=None, max_length=64, unique=True)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hold_reason: str | None = Field(default=None, max_length=200)  # in Chinese, for the staff page
    refund_no: str | None = Field(default=None, max_length=64, unique=True)
    refunded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PayNotice(SQLModel, table=True):
    """A payment the channel confirmed (verified notify, or query during reconciliation), stored
    before it is applied: a worker killed in between leaves it here, unsettled, for the next run."""

    __tablename__ = "pay_notice"

    id: int | None = Field(default=None, primary_key=True)
    transaction_id: str = Field(max_length=64, unique=True)
    out_trade_no: str = Field(max_length=32, index=True)
    channel: str = Field(max_length=24)
    amount: Decimal = Field(sa_type=Money)
    payer_openid: str | None = Field(default=None, max_length=64)
    success_time: datetime = Field(sa_type=UTCDateTime)
    source: str = Field(max_length=16)  # notify / query
    received_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    outcome: str | None = Field(default=None, max_length=24)  # settled / held / unknown_order / duplicate


class PayReconciliation(SQLModel, table=True):
    """One day's comparison of the orders with the channel's bill."""

    __tablename__ = "pay_reconciliation"
    __table_args__ = (UniqueConstraint("channel", "bill_date", name="uq_pay_reconciliation_day"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=24)
    bill_date: date
    ran_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    bill_count: int = 0
    bill_total: Decimal = Field(default=Decimal("0"), sa_type=Money)
    settled_count: int = 0
    settled_total: Decimal = Field(default=Decimal("0"), sa_type=Money)
    recovered: int = 0  # payments in the bill whose notify never came, applied from a query
    unknown: int = 0  # payments in the bill for no order of ours
    mismatched: int = 0  # amount differs, or paid here but missing from the bill
    details: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of findings


class PayRefund(SQLModel, table=True):
    """A full refund of one payment that could not be applied (held, duplicate, or for no order)."""

    __tablename__ = "pay_refund"
    __table_args__ = (CheckConstraint(one_of("status", REFUND_STATES), name="ck_pay_refund_status"),)

    id: int | None = Field(default=None, primary_key=True)
    out_refund_no: str = Field(max_length=64, unique=True)
    transaction_id: str = Field(max_length=64, unique=True)
    out_trade_no: str = Field(max_length=32, index=True)
    channel: str = Field(max_length=24)
    amount: Decimal = Field(sa_type=Money)
    why: str = Field(max_length=24)  # the payment's outcome: held / duplicate / unknown_order
    status: str = Field(default="requested", max_length=16)
    refund_id: str | None = Field(default=None, max_length=64)  # the channel's number for it
    requested_by: str = Field(max_length=80)
    requested_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # final state reached
