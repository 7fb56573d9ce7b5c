"""Binding a WeChat user to a person in the registry, and undoing it.

A binding needs three things to agree with the registry: name, ID number and one more factor (医保卡号
or the phone number on file), so that knowing someone's ID number alone is not enough. Guesses are
limited (:mod:`miniservice.citizens.attempts`). One WeChat user ↔ one person is decided by the two
unique keys of ``binding``, so two simultaneous requests for the same person cannot both succeed.
The confirmation message is put in the outbox in the binding's own transaction and sent later by
its worker: no request waits on WeChat, and WeChat being unreachable (or 45015, outside the 48-hour
window) cannot undo a binding that is already true.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from miniservice import audit, state
from miniservice.citizens.access import bound_person
from miniservice.citizens.attempts import TooManyAttempts, get_limiter
from miniservice.citizens.identity import (
    IdentityVault,
    InvalidIdentity,
    normalise_name,
    normalise_phone,
    parse_id_number,
)
from miniservice.citizens.lookup import person_by_id_number
from miniservice.citizens.models import Binding, BindingEvent, Person
from miniservice.citizens.privacy import PRIVACY_VERSION
from miniservice.clock import now_utc
from miniservice.db import Database
from miniservice.outbox import enqueue


@dataclass
class BindingRefused(Exception):
    """Why a binding did not happen; ``code`` selects the sentence in ``h5/bind.html``."""

    code: str  # invalid | consent | mismatch | blocked | already_bound | taken
    status: int = 400
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BindRequest:
    """What the citizen typed, untrusted."""

    name: str
    id_number: str
    factor: str  # "card" | "phone"
    factor_value: str
    privacy_version: str | None = None  # the notice version the citizen ticked; None: not ticked


def bind(db: Database, openid: str, given: BindRequest, now: datetime | None = None) -> Person:
    """Bind ``openid`` to the registry's person matching ``given``; raises :class:`BindingRefused`."""
    now = now or now_utc()
    vault = state.vault()
    if given.privacy_version != PRIVACY_VERSION:
        raise BindingRefused("consent", context={"stale": given.privacy_version is not None})
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
    limiter = get_limiter()
    id_hash = vault.lookup_hash(id_number.value)
    try:
        reservation = limiter.reserve(openid, id_hash, now)
    except TooManyAttempts as exc:
        raise BindingRefused("blocked", 429, {"retry_at": exc.retry_at}) from None
    try:
        person = _matching_person(db, vault, id_number.value, name, given.factor, factor_value)
    except BaseException:
        limiter.release(reservation)  # not tried: the attempt must not stay pending and count
        raise
    if person is None:
        remaining = limiter.fail(reservation, "mismatch", now)
        raise BindingRefused("mismatch", context={"remaining": remaining})
    limiter.release(reservation)
    _commit_binding(db, openid, person, given.factor, given.privacy_version)
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
        event = BindingEvent(openid=openid, person_id=person_id, action="unbind", at=now_utc())
        session.add(event)
        session.flush()
        audit.record(session, f"citizen:#{person_id}", "binding.unbind", f"person:{person_id}",
                     id_number=person.id_number_masked, name=person.name_masked)
        enqueue(session, f"unbind:{event.id}", openid, "bind_removed.txt", person=person)
    return person


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


def _commit_binding(db: Database, openid: str, person: Person, factor: str, privacy_version: str) -> None:
    """Insert the binding; the unique keys (openid, person_id) decide between concurrent requests."""
    assert person.id is not None
    try:
        with db.transaction() as session:
            session.add(Binding(openid=openid, person_id=person.id, bound_at=now_utc(),
                                privacy_version=privacy_version))
            session.flush()
            event = BindingEvent(openid=openid, person_id=person.id, action="bind", at=now_utc(),
                                 privacy_version=privacy_version)
            session.add(event)
            session.flush()
            # Keyed by the event: binding rows are deleted on unbind and SQLite may reuse their ids.
            enqueue(session, f"bind:{event.id}", openid, "bind_confirmed.txt", person=person)
            audit.record(session, f"citizen:#{person.id}", "binding.bind", f"person:{person.id}",
                         id_number=person.id_number_masked, name=person.name_masked, factor=factor,
                         privacy_version=privacy_version)
    except IntegrityError:
        with db.reading() as session:
            current = bound_person(session, openid)
        if current is not None:
            raise BindingRefused("already_bound", 409, {"name_masked": current.name_masked}) from None
        raise BindingRefused("taken", 409) from None
