"""Insured people, their monthly contributions, residents' yearly premiums and the account ledger.

Identity data is never stored in clear: ``*_cipher`` columns hold Fernet tokens and ``*_hash``
columns a keyed HMAC for exact look-up, each prefixed with the id of the key that made it
(:class:`~miniservice.citizens.identity.IdentityVault`); ``*_masked`` is what a screen may show.
Nothing in clear narrows an ID number down: birth date and sex are read from the decrypted number.
Money is ``Decimal`` yuan stored as integer 分 (:class:`~miniservice.columns.Money`).
Months are stored as ``Month.index`` integers (year × 12 + month − 1) so that gap arithmetic can be
done by the database, set-wise, over every citizen at once.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from miniservice.clock import now_utc
from miniservice.columns import Money, UTCDateTime
from miniservice.rules.kinds import Scheme
from miniservice.rules.months import Month

SCHEMES = tuple(Scheme)  # 职工医保 in-unit, 灵活就业, 居民医保, 退休
CONTRIBUTION_STATUSES = ("paid", "unpaid", "back_paid")
PAYERS = ("unit", "self", "family", "unemployment_fund")


class Person(SQLModel, table=True):
    """Someone insured in this city, as the bureau's registry knows them."""

    __tablename__ = "person"
    # The daily plan's read (reminders.planning): the citizens whose gap starts in a window, with every
    # column the plan needs of them, so at 10,000,000 citizens it scans a slice of this index only.
    __table_args__ = (Index("ix_person_gap_from", "gap_from", "region_code", "scheme", "unemployed", "employer",
                            "id"),)

    id: int | None = Field(default=None, primary_key=True)
    id_number_hash: str = Field(max_length=96, unique=True)
    id_number_cipher: str = Field(max_length=400)
    id_number_masked: str = Field(max_length=18)
    name_cipher: str = Field(max_length=400)
    name_masked: str = Field(max_length=32)
    phone_cipher: str | None = Field(default=None, max_length=400)
    card_number_hash: str | None = Field(default=None, max_length=96, index=True)  # 医保卡号
    card_number_cipher: str | None = Field(default=None, max_length=400)
    region_code: str = Field(max_length=6, index=True)
    # The scheme is read back as a ``Scheme``; the database keeps the words (``flexible`` …) and refuses others.
    scheme: Scheme = Field(sa_column=Column(
        Enum(Scheme, native_enum=False, create_constraint=True, length=16, name="ck_person_scheme",
             values_callable=lambda kinds: [kind.value for kind in kinds], validate_strings=True),
        nullable=False, index=True))
    employer: str | None = Field(default=None, max_length=200)
    unemployed: bool = False
    enrolled_since: date
    retired_on: date | None = None  # set for retirees; the scheme then reads ``retiree``
    # Years that count towards retirement without monthly rows here (视同缴费, transfers in).
    deemed_months: int = 0
    created_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    # The open gap's first month (Month.index): after the last paid or back-paid month, not before
    # enrolment. Kept by database triggers on every write to contribution and to enrolled_since
    # (migration 8d41c6e2b7a3), never by the app, so the daily plan reads only the citizens whose gap
    # starts in its window through this index instead of aggregating every citizen's months.
    gap_from: int | None = None


class Contribution(SQLModel, table=True):
    """One month of 职工医保 (in-unit, 灵活就业): owed, paid on time, or paid back later."""

    __tablename__ = "contribution"
    __table_args__ = (
        UniqueConstraint("person_id", "month", name="uq_contribution_person_month"),
        CheckConstraint("status IN ('paid', 'unpaid', 'back_paid')", name="ck_contribution_status"),
        # Who owes each month of an open gap, read without the table (quotes.citizen.gap_cause_sql):
        # unpaid months are a few per cent of the rows, so this index stays small and in memory.
        Index("ix_contribution_unpaid", "person_id", "month", "payer", postgresql_where=text("status = 'unpaid'"),
              sqlite_where=text("status = 'unpaid'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False))
    month: int = Field(index=True)  # Month.index
    scheme: str = Field(max_length=16)
    base: Decimal = Field(sa_type=Money)
    unit_amount: Decimal = Field(sa_type=Money)
    personal_amount: Decimal = Field(sa_type=Money)
    status: str = Field(max_length=16)
    paid_on: date | None = None
    payer: str | None = Field(default=None, max_length=24)
    payer_person_id: int | None = Field(default=None, foreign_key="person.id")

    @property
    def year_month(self) -> Month:
        return Month.from_index(self.month)


class ResidentPremium(SQLModel, table=True):
    """One year of 居民医保, paid once a year in the 集中缴费期 (or late, with a waiting period).

    ``status`` mirrors :class:`Contribution`: an ``unpaid`` row is a year the registry says is owed.
    """

    __tablename__ = "resident_premium"
    __table_args__ = (
        UniqueConstraint("person_id", "year", name="uq_resident_premium_person_year"),
        CheckConstraint("status IN ('paid', 'unpaid', 'back_paid')", name="ck_resident_premium_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False))
    year: int = Field(index=True)
    amount: Decimal = Field(sa_type=Money)
    status: str = Field(default="paid", max_length=16)
    paid_on: date | None = None
    payer: str | None = Field(default=None, max_length=24)
    payer_person_id: int | None = Field(default=None, foreign_key="person.id")


class PersonalAccount(SQLModel, table=True):
    """The 职工医保 personal account balance; the CHECK keeps it from ever going negative."""

    __tablename__ = "personal_account"
    __table_args__ = (CheckConstraint("balance >= 0", name="ck_personal_account_balance"),)

    person_id: int = Field(
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    )
    balance: Decimal = Field(sa_type=Money)


class AccountEntry(SQLModel, table=True):
    """A credit or debit of a personal account; ``request_key`` makes a repeated request a no-op."""

    __tablename__ = "account_entry"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    amount: Decimal = Field(sa_type=Money)  # positive credit, negative debit
    balance_after: Decimal = Field(sa_type=Money)
    reason: str = Field(max_length=200)
    request_key: str | None = Field(default=None, max_length=100, unique=True)


class Binding(SQLModel, table=True):
    """The live link between a WeChat user and a person: one each way, enforced by two unique keys.

    Unbinding deletes the row (history stays in ``binding_event`` and the audit log), so a person
    can be bound again only after an explicit unbind.
    """

    __tablename__ = "binding"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64, unique=True)
    person_id: int = Field(sa_column=Column(Integer, ForeignKey("person.id"), unique=True, nullable=False))
    bound_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    # The privacy notice the citizen agreed to on the bind form; None: bound without it (demo, imports).
    privacy_version: str | None = Field(default=None, max_length=16)


class BindingEvent(SQLModel, table=True):
    """Every bind and unbind, kept for ever."""

    __tablename__ = "binding_event"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64, index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    action: str = Field(max_length=16)  # "bind" / "unbind"
    at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    privacy_version: str | None = Field(default=None, max_length=16)  # a bind's consent, kept after unbinding


class BindingAttempt(SQLModel, table=True):
    """A failed binding attempt, counted per WeChat user and per ID hash to limit guessing."""

    __tablename__ = "binding_attempt"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64, index=True)
    id_number_hash: str | None = Field(default=None, max_length=96, index=True)
    at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime, index=True)
    reason: str = Field(max_length=32)


IMPORT_JOB_STATUSES = ("queued", "checking", "writing", "done", "failed")


class ImportJob(SQLModel, table=True):
    """A records upload run in the background: staff watch its progress instead of a request timing out.

    ``payload`` holds the uploaded file until the job ends (then it is cleared); ``report`` the
    outcome as JSON, with line numbers and reasons only, never a cell's value.
    """

    __tablename__ = "import_job"
    __table_args__ = (CheckConstraint("status IN ('queued', 'checking', 'writing', 'done', 'failed')",
                                      name="ck_import_job_status"),)

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=128)
    status: str = Field(default="queued", max_length=16)
    rows_total: int = 0
    rows_done: int = 0
    payload: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    report: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
