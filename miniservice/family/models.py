"""家庭共济 tables: links between an account holder and a relative, consent requests, family payments.

A link is never deleted: it moves ``pending`` → ``active`` → ``revoked`` (or ``pending`` →
``declined`` / ``expired``) and keeps the time of every step, so the bureau can always say who was
allowed to pay for whom and when. ``active_key`` is ``"<holder_id>:<relative_id>"`` while the link
is pending or active and NULL once it has ended; its unique constraint is what stops a relative
being linked twice to the same holder, even when two requests race.

For the reminders planner: ``family_link.remind_gaps`` (boolean, default false) is the holder's
opt-in to be reminded of this relative's coming gaps. Join it as
``family_link.holder_id`` (who is reminded) → ``family_link.relative_id`` (whose gaps), with
``family_link.status = 'active' AND family_link.remind_gaps``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from miniservice.clock import now_utc
from miniservice.columns import Money, UTCDateTime

LINK_STATUSES = ("pending", "active", "declined", "expired", "revoked")
OPEN_STATUSES = ("pending", "active")
# How the relative's agreement was obtained: their own answer on the consent page, or the holder's
# attestation for a minor child or a relative who does not use WeChat.
CONSENT_MODES = ("wechat", "attested_minor", "attested_offline")
CONSENT_ANSWERS = ("accepted", "declined")
PAYMENT_KINDS = ("premium", "backpay")


def active_key(holder_id: int, relative_id: int) -> str:
    return f"{holder_id}:{relative_id}"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class FamilyLink(SQLModel, table=True):
    """One holder may pay for one relative; the row is the whole history of that permission."""

    __tablename__ = "family_link"
    __table_args__ = (
        CheckConstraint(_one_of("status", LINK_STATUSES), name="ck_family_link_status"),
        CheckConstraint(_one_of("consent_mode", CONSENT_MODES), name="ck_family_link_consent_mode"),
        CheckConstraint("holder_id <> relative_id", name="ck_family_link_not_self"),
    )

    id: int | None = Field(default=None, primary_key=True)
    holder_id: int = Field(sa_column=Column(Integer, ForeignKey("person.id"), nullable=False, index=True))
    relative_id: int = Field(sa_column=Column(Integer, ForeignKey("person.id"), nullable=False, index=True))
    relationship: str = Field(max_length=32)  # a rules.schema.Relation value
    status: str = Field(default="pending", max_length=16, index=True)
    consent_mode: str = Field(max_length=24)
    active_key: str | None = Field(default=None, max_length=40, unique=True)
    remind_gaps: bool = False
    created_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_by_person_id: int | None = Field(default=None, foreign_key="person.id")


class FamilyConsent(SQLModel, table=True):
    """The request sent to a relative who uses WeChat; only a hash of the page token is stored."""

    __tablename__ = "family_consent"
    __table_args__ = (
        CheckConstraint(f"answer IS NULL OR {_one_of('answer', CONSENT_ANSWERS)}", name="ck_family_consent_answer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(sa_column=Column(Integer, ForeignKey("family_link.id"), nullable=False, unique=True))
    token_hash: str = Field(max_length=64, unique=True)
    openid: str = Field(max_length=64)  # the only visitor who may answer
    sent_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=16)


class FamilyPayment(SQLModel, table=True):
    """A payment from the holder's personal account for a relative; ``request_key`` makes it once-only."""

    __tablename__ = "family_payment"
    __table_args__ = (
        CheckConstraint(_one_of("kind", PAYMENT_KINDS), name="ck_family_payment_kind"),
        CheckConstraint("amount > 0", name="ck_family_payment_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_key: str = Field(max_length=64, unique=True)
    link_id: int = Field(sa_column=Column(Integer, ForeignKey("family_link.id"), nullable=False, index=True))
    holder_id: int = Field(foreign_key="person.id", index=True)
    relative_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=16)
    amount: Decimal = Field(sa_type=Money)
    # What was paid: a coverage year (premium) or a run of Month.index values (backpay), inclusive.
    year: int | None = None
    first_month: int | None = None
    last_month: int | None = None
    # The debit; written later in the same transaction as this row, so never NULL once committed.
    account_entry_id: int | None = Field(default=None, foreign_key="account_entry.id")
    at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
