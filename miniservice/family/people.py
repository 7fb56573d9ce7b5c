"""Who is who in a family step: the visitor's bound person, a person's openid, a holder's account."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import Session

from miniservice.citizens.access import bound_person
from miniservice.citizens.models import Binding, Person, PersonalAccount
from miniservice.family.errors import FamilyError
from miniservice.rules.kinds import Scheme

# 职工医保 members (in a unit, 灵活就业, retired) have a personal account; 居民医保 members do not.
MEMBER_SCHEMES = frozenset({Scheme.EMPLOYEE, Scheme.FLEXIBLE, Scheme.RETIREE})

NOT_BOUND = "请先在“身份绑定”中绑定本人身份，再办理家庭共济。"
NOT_MEMBER = "家庭共济需使用职工医保个人账户，仅限职工医保参保人（在职、灵活就业或退休）办理。"


def require_person(session: Session, openid: str) -> Person:
    person = bound_person(session, openid)
    if person is None:
        raise FamilyError(NOT_BOUND, status=403)
    return person


def openid_of(session: Session, person_id: int) -> str | None:
    return session.execute(select(Binding.openid).where(Binding.person_id == person_id)).scalar_one_or_none()


def account_of(session: Session, person: Person) -> PersonalAccount | None:
    """The person's personal account when they are a 职工医保 member who may pay for relatives."""
    if person.scheme not in MEMBER_SCHEMES:
        return None
    return session.get(PersonalAccount, person.id)


def require_holder(session: Session, openid: str) -> Person:
    """The visitor, who must be a 职工医保 member with a personal account to add or pay for relatives."""
    person = require_person(session, openid)
    if account_of(session, person) is None:
        raise FamilyError(NOT_MEMBER, status=403)
    return person


def lock_holder(session: Session, holder_id: int) -> None:
    """Serialise a holder's link changes: a no-op write on their account row.

    PostgreSQL keeps the row lock until commit; SQLite takes its single write lock. Either way a
    second request for the same holder waits here, so counting their links is not a race.
    """
    session.execute(
        update(PersonalAccount)
        .where(PersonalAccount.person_id == holder_id)
        .values(balance=PersonalAccount.balance)
    )
