"""Everything the 家庭共济 page and the keyword reply show a visitor, read in one session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlmodel import Session

from miniservice.citizens.models import Person
from miniservice.clock import now_utc
from miniservice.db import Database
from miniservice.family.dues import Due, RelativeStatus, relative_status
from miniservice.family.models import FamilyConsent, FamilyLink
from miniservice.family.people import account_of, require_person
from miniservice.family.policy import RELATION_LABELS, FamilyTerms, family_terms
from miniservice.rules.schema import Relation


@dataclass(frozen=True, slots=True)
class LinkView:
    """One link seen from the visitor's side: ``other`` is the relative (as holder) or the holder."""

    link: FamilyLink
    other_masked_name: str
    relationship: str
    consent_expires_at: datetime | None = None
    status: RelativeStatus | None = None  # priced dues, for the holder's active links

    @property
    def shown_status(self) -> str:
        """The link's status, with a pending request past its deadline shown as expired."""
        if self.link.status == "pending" and self.consent_expires_at and self.consent_expires_at <= now_utc():
            return "expired"
        return self.link.status


@dataclass(frozen=True, slots=True)
class Overview:
    person: Person
    today: date
    balance: Decimal | None  # None: not a 职工医保 member, so cannot pay for relatives
    terms: FamilyTerms | None
    as_holder: tuple[LinkView, ...]
    as_relative: tuple[LinkView, ...]

    @property
    def open_as_holder(self) -> tuple[LinkView, ...]:
        return tuple(v for v in self.as_holder if v.shown_status in ("pending", "active"))

    @property
    def active_as_holder(self) -> tuple[LinkView, ...]:
        return tuple(v for v in self.as_holder if v.shown_status == "active")

    @property
    def pending_as_holder(self) -> tuple[LinkView, ...]:
        return tuple(v for v in self.as_holder if v.shown_status == "pending")

    @property
    def dues(self) -> tuple[Due, ...]:
        """Every payable item across the visitor's active links."""
        return tuple(due for v in self.active_as_holder if v.status for due in v.status.dues)

    @property
    def history(self) -> tuple[LinkView, ...]:
        ended = [v for v in (*self.as_holder, *self.as_relative) if v.shown_status not in ("pending", "active")]
        return tuple(sorted(ended, key=lambda v: v.link.ended_at or v.link.created_at, reverse=True))

    @property
    def active_as_relative(self) -> tuple[LinkView, ...]:
        return tuple(v for v in self.as_relative if v.shown_status == "active")

    @property
    def open_as_relative(self) -> tuple[LinkView, ...]:
        return tuple(v for v in self.as_relative if v.shown_status in ("pending", "active"))


def _views(session: Session, links: list[FamilyLink], person: Person, today: date) -> list[LinkView]:
    ids = [link.id for link in links]
    rows = session.execute(
        select(FamilyConsent.link_id, FamilyConsent.expires_at).where(FamilyConsent.link_id.in_(ids))
    )
    expiries = {link_id: expires_at for link_id, expires_at in rows}
    views = []
    for link in links:
        as_holder = link.holder_id == person.id
        other = session.get(Person, link.relative_id if as_holder else link.holder_id)
        assert other is not None
        priced = relative_status(session, other, today, person.id or 0) if as_holder and link.status == "active" \
            else None
        label = RELATION_LABELS[Relation(link.relationship)]
        views.append(LinkView(link, other.name_masked, label, expiries.get(link.id), priced))
    return views


def build_overview(session: Session, person: Person, today: date) -> Overview:
    """The person's links both ways, with dues priced for the active links they hold."""
    account = account_of(session, person)
    links = list(
        session.execute(
            select(FamilyLink)
            .where(or_(FamilyLink.holder_id == person.id, FamilyLink.relative_id == person.id))
            .order_by(FamilyLink.created_at.desc(), FamilyLink.id.desc())
        ).scalars()
    )
    views = _views(session, links, person, today)
    return Overview(
        person=person,
        today=today,
        balance=account.balance if account else None,
        terms=family_terms(session, person.region_code, today) if account else None,
        as_holder=tuple(v for v in views if v.link.holder_id == person.id),
        as_relative=tuple(v for v in views if v.link.relative_id == person.id),
    )


def overview(db: Database, openid: str, today: date) -> Overview:
    with db.reading() as session:
        return build_overview(session, require_person(session, openid), today)
