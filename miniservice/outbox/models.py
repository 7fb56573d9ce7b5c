"""The outbox table: every message the service sends on its own initiative, one row each.

``key`` is the message's identity (``bind:<binding id>``, ``receipt:<payment id>`` …): unique, so
the step that causes a message can be retried or replayed and still put it in the outbox once.
``status`` is the whole state machine:

* ``pending`` → ``sending`` (claimed by one worker, with ``attempts`` counted before WeChat is
  called) → ``sent``, ``failed`` (WeChat refused it for good, or the attempts ran out), back to
  ``pending`` with ``next_attempt_at`` (WeChat answered that it did not take it), or ``uncertain``
  (no answer came: it may have been shown, and customer-service messages have no id WeChat could
  drop a repeat by, so it is left for staff rather than sent twice);
* a ``sending`` row whose worker died (lease run out) becomes ``uncertain`` for the same reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Index, Text
from sqlmodel import Field, SQLModel

from miniservice.clock import now_utc
from miniservice.columns import UTCDateTime

STATUSES = ("pending", "sending", "sent", "failed", "uncertain")


class OutboxMessage(SQLModel, table=True):
    """One customer-service text to one WeChat user, written in the transaction of its cause."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("status IN ({})".format(", ".join(f"'{s}'" for s in STATUSES)), name="ck_outbox_status"),
        Index("ix_outbox_sendable", "status", "next_attempt_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)
    openid: str = Field(max_length=64)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_errcode: int | None = None
    last_error: str = Field(default="", max_length=200)
