"""Binding a WeChat user to a person in the registry, and undoing it.

A binding needs three things to agree with the registry: name, ID number and one more factor (医保卡号
or the phone number on file), so that knowing someone's ID number alone is not enough. Guesses are
limited (:mod:`miniservice.citizens.attempts`). One WeChat user ↔ one person is decided by the two
unique keys of ``binding``, so two simultaneous requests for the same person cannot both succeed.
The confirmation message is sent after the commit: WeChat being unreachable (or 45015, outside the
48-hour window) must not undo a binding that is already true.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from wechatpy.exceptions import WeChatClientException

from miniservice import audit
from miniservice.citizens.access import bound_person
from miniservice.citizens.attempts import TooManyAttempts, get_limiter
from miniservice.citizens.identity import (
    IdentityVault,
    InvalidIdentity,
    get_vault,
    normalise_name,
    normalise_phone,
    parse_id_number,
)
from miniservice.citizens.lookup import person_by_id_number
from miniservice.citizens.models import Binding, BindingEvent, Person
from miniservice.clock import now_utc
from miniservice.db import Database
from miniservice.wechat.client import get_client
from miniservice.wechat.router import text

log = logging.getLogger(__name__)


@dataclass
class BindingRefused(Exception):
    """Why a binding did not happen; ``code`` selects the sentence in ``h5/bind.html``."""

    code: str  # invalid | mismatch | blocked | already_bound | taken
    status: int = 400
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BindRequest:
    """What the citizen typed, untrusted."""

    name: str
    id_number: str
    factor: str  # "card" | "phone"
    factor_value: str


def bind(db: Database, openid: str, given: BindRequest, now: datetime | None = None) -> Person:
    """Bind ``openid`` to the registry's person matching ``given``; raises :class:`BindingRefused`."""
    now = now or now_utc()
    vault = get_vault()
    try:
        id_number = parse_id_number(given.id_number)
        name = normalise_name(given.name)
        factor_value = _factor(given.factor, given.factor_value)
    except InvalidIdentity as exc:
        raise BindingRefused("invalid", context={"message": str(exc)}) from None
    with db.reading() as session:
        current = bound_person(session, openid)
    if current is not None:
        raise BindingRefused("already_bound", 409, {"name_masked": current.name_masked})
    limiter = get_limiter(db)
    id_hash = vault.lookup_hash(id_number.value)
    try:
        reservation = limiter.reserve(openid, id_hash, now)
    except TooManyAttempts as exc:
        raise BindingRefused("blocked", 429, {"retry_at": exc.retry_at}) from None
    person = _matching_person(db, vault, id_number.value, name, given.factor, factor_value)
    if person is None:
        remaining = limiter.fail(reservation, "mismatch", now)
        raise BindingRefused("mismatch", context={"remaining": remaining})
    limiter.release(reservation)
    _commit_binding(db, openid, person, given.factor)
    notify(openid, "bind_confirmed.txt", person=person)
    return person


def unbind(db: Database, openid: str) -> Person | None:
    """Remove the binding of ``openid``; None when there was none (a repeated unbind is a no-op)."""
    with db.transaction() as session:
        person_id = session.execute(
            delete(Binding).where(Binding.openid == openid).returning(Binding.person_id)
        ).scalar_one_or_none()
        if person_id is None:
            return None
        person = session.get(Person, person_id)
        assert person is not None
        session.add(BindingEvent(openid=openid, person_id=person_id, action="unbind", at=now_utc()))
        audit.record(session, f"citizen:#{person_id}", "binding.unbind", f"person:{person_id}",
                     id_number=person.id_number_masked, name=person.name_masked)
    notify(openid, "bind_removed.txt", person=person)
    return person


def notify(openid: str, template: str, **context: Any) -> bool:
    """Send a customer-service text; a WeChat failure is logged (no identity data) and swallowed."""
    try:
        get_client().message.send_text(openid, text(template, **context))
    except WeChatClientException as exc:
        log.warning("binding message %s not delivered: WeChat errcode %s", template, exc.errcode)
        return False
    except requests.RequestException as exc:
        log.warning("binding message %s not delivered: %s", template, type(exc).__name__)
        return False
    return True


def _factor(kind: str, value: str) -> str:
    if kind == "phone":
        return normalise_phone(value)
    if kind == "card" and value.strip():
        return value.strip().upper()
    raise InvalidIdentity("请填写医保卡号或登记的手机号码。")


def _same(stored_clear: str | None, given: str) -> bool:
    return stored_clear is not None and hmac.compare_digest(stored_clear.encode(), given.encode())


def _matching_person(db: Database, vault: IdentityVault, id_number: str, name: str, factor: str,
                     value: str) -> Person | None:
    """The person only when every factor matches; which one did not is never told."""
    with db.reading() as session:
        person = person_by_id_number(session, vault, id_number)
    if person is None or not _same(vault.decrypt(person.name_cipher), name):
        return None
    if factor == "card":
        matched = person.card_number_hash is not None and any(
            hmac.compare_digest(person.card_number_hash, digest) for digest in vault.lookup_hashes(value))
    else:
        matched = person.phone_cipher is not None and _same(vault.decrypt(person.phone_cipher), value)
    return person if matched else None


def _commit_binding(db: Database, openid: str, person: Person, factor: str) -> None:
    """Insert the binding; the unique keys (openid, person_id) decide between concurrent requests."""
    assert person.id is not None
    try:
        with db.transaction() as session:
            session.add(Binding(openid=openid, person_id=person.id, bound_at=now_utc()))
            session.flush()
            session.add(BindingEvent(openid=openid, person_id=person.id, action="bind", at=now_utc()))
            audit.record(session, f"citizen:#{person.id}", "binding.bind", f"person:{person.id}",
                         id_number=person.id_number_masked, name=person.name_masked, factor=factor)
    except IntegrityError:
        with db.reading() as session:
            current = bound_person(session, openid)
        if current is not None:
            raise BindingRefused("already_bound", 409, {"name_masked": current.name_masked}) from None
        raise BindingRefused("taken", 409) from None
