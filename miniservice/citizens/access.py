"""Who is this WeChat user in the registry? The one question every data feature asks first.

:func:`require_binding` is for WeChat handlers of every capability (records, quotes, reminders,
family): it returns the bound person, or the reply that sends an unbound user to the binding page,
so an unbound tap never becomes an error.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlmodel import Session

from miniservice.citizens.models import Binding, Person
from miniservice.messages import text
from miniservice.wechat.router import Inbound

# Built once: every data tap asks it, and building a statement costs more than SQLite running it.
_BOUND_PERSON = select(Person).join(Binding, Binding.person_id == Person.id).where(
    Binding.openid == bindparam("openid"))


def bound_person(session: Session, openid: str) -> Person | None:
    """The person bound to ``openid``, if any."""
    return session.execute(_BOUND_PERSON, {"openid": openid}).scalar_one_or_none()


def require_binding(inbound: Inbound) -> Person | str:
    """The bound person, or the reply text (``messages/unbound.txt``) with the binding link."""
    person = bound_person(inbound.session, inbound.openid)
    if person is None:
        return text("unbound.txt", bind_url=inbound.h5_url("/h5/bind"))
    return person
