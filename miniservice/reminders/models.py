"""Reminder rows, the log of every delivery attempt, and APScheduler's job table.

A reminder's identity is its unique key (whose gap, who is told, the gap's first month, the stage):
the daily planner inserts with ON CONFLICT DO NOTHING, so planning twice, or by two schedulers, can
never create a second row, and a row once ``sent`` never goes back to ``planned``. ``status`` is
the whole state machine:

* ``planned`` → ``sending`` (claimed by one sender, atomically) → ``sent`` / ``failed`` / back to
  ``planned`` with ``next_attempt_at`` after a transient error (bounded by ``attempts``);
* ``sending`` → ``uncertain``: a send got no answer (it may have been shown) and no retry can land
  inside WeChat's 10-minute ``client_msg_id`` window any more, so staff decide instead of a repeat;
* ``planned``/``sending`` → ``cancelled_paid`` (the gap was paid meanwhile), ``expired`` (its
  deadline passed unsent), ``superseded`` (a later stage of the same gap is due), or
  ``skipped_*`` (opted out, unreachable, no longer bound or linked) — all decided just before sending.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Unicode,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from miniservice.clock import now_utc
from miniservice.columns import UTCDateTime

KINDS = ("gap_reminder", "resident_period")  # also the keys of settings.template_ids
SKIPS = ("skipped_opted_out", "skipped_unreachable", "skipped_unbound", "skipped_unlinked")
STATUSES = ("planned", "sending", "sent", "failed", "uncertain", "cancelled_paid", "expired", "superseded", *SKIPS)
OUTCOMES = ("sent", "retry", "failed", "unreachable")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Reminder(SQLModel, table=True):
    """One message at one stage of one gap, for one recipient; planned once, sent at most once."""

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("person_id", "recipient_id", "gap_start", "stage", name="uq_reminder_key"),
        CheckConstraint(_in("status", STATUSES), name="ck_reminder_status"),
        CheckConstraint(_in("kind", KINDS), name="ck_reminder_kind"),
        Index("ix_reminder_sendable", "status", "due_on", "id"),  # the claim reads in (due_on, id) order
    )

    id: int | None = Field(default=None, primary_key=True)
    # Whose gap; and who is told: the same person, or a 家庭共济 holder who asked to be reminded.
    person_id: int = Field(sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False))
    recipient_id: int = Field(
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    gap_start: int  # Month.index of the first missed month (居民医保: January of the unpaid year)
    stage: str = Field(max_length=16)  # gap_1m, gap_2m, line, period_30d, period_7d
    kind: str = Field(max_length=24)
    region_code: str = Field(max_length=16)
    due_on: date  # local day on which the stage is reached
    deadline: date  # last day to pay: within the three-month line, or the 集中缴费期's end
    gap_months: int = 0  # months missed when the stage is reached (0 for 居民医保)
    status: str = Field(default="planned", max_length=24)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    planned_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the earliest send still without an answer began (set before each call, cleared by an answer):
    # a retry with the same client_msg_id is safe only within WeChat's 10 minutes from then.
    uncertain_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    msgid: int | None = Field(default=None, sa_type=BigInteger)
    last_errcode: int | None = None


class ReminderAttempt(SQLModel, table=True):
    """Every call to WeChat for a reminder, with what WeChat (or the network) answered."""

    __tablename__ = "reminder_attempt"
    __table_args__ = (CheckConstraint(_in("outcome", OUTCOMES), name="ck_reminder_attempt_outcome"),)

    id: int | None = Field(default=None, primary_key=True)
    reminder_id: int = Field(
        sa_column=Column(Integer, ForeignKey("reminder.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    worker: str = Field(max_length=64)
    outcome: str = Field(max_length=16)
    errcode: int | None = None  # WeChat's errcode; None when no answer came (timeout, connection)
    errmsg: str = Field(default="", max_length=200)


class SchedulerJob(SQLModel, table=True):
    """APScheduler's ``SQLAlchemyJobStore`` table, declared here so that migrations own it.

    The columns are exactly the ones APScheduler 3 creates; its ``create(checkfirst=True)`` then
    finds the table in place.
    """

    __tablename__ = "apscheduler_jobs"

    id: str = Field(sa_column=Column(Unicode(191), primary_key=True))
    next_run_time: float | None = Field(default=None, sa_column=Column(Float(25), index=True))
    job_state: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
