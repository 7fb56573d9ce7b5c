"""Who is this WeChat user in the registry? The one question every data feature asks first.

:func:`require_binding` is for WeChat handlers of every capability (records, quotes, reminders,
family): it returns the bound person, or the reply that sends an unbound user to the binding page,
so an unbound tap never becomes an error.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlmodel import Session

from miniservice.citizens.models import Binding, Person
from miniservice.db import Database
from miniservice.messages import text
from miniservice.wechat.router import Inbound

# Built once: every data tap asks it, and building a statement costs more than SQLite running it.
_BOUND_PERSON = select(Person).join(Binding, Binding.person_id == Person.id).where(
    Binding.openid == bindparam("openid"))
_BOUND_SUMMARY = select(Person.id, Person.name_masked, Person.region_code).join(
    Binding, Binding.person_id == Person.id).where(Binding.openid == bindparam("openid"))


class BoundSummary(NamedTuple):
    """What a guide (帮助, 人工客服) says of the visitor: who is bound and where they are insured."""

    id: int
    name_masked: str
    region_code: str


def bound_summary(db: Database, openid: str) -> BoundSummary | None:
    """The bound person's masked name and region in one statement outside any transaction: half of a
    menu push's taps are 帮助, and loading the whole person in a session cost three times as much."""
    with db.lookup() as connection:
        row = connection.execute(_BOUND_SUMMARY, {"openid": openid}).one_or_none()
    return BoundSummary(*row) if row else None


def bound_person(session: Session, openid: str) -> Person | None:
    """The person bound to ``openid``, if any."""
    return session.execute(_BOUND_PERSON, {"openid": openid}).scalar_one_or_none()


def require_binding(inbound: Inbound) -> Person | str:
    """The bound person, or the reply text (``messages/unbound.txt``) with the binding link."""
    person = bound_person(inbound.session, inbound.openid)
    if person is None:
        return text("unbound.txt", bind_url=inbound.h5_url("/h5/bind"))
    return person
