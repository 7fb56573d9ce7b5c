"""The 职工医保 personal-account ledger: one append-only entry per credit or debit.

Every entry carries a ``request_key`` chosen by the caller (``import:credit:…`` for imported monthly
credits, ``family:`` and the payment's request key for a 家庭共济 debit); the unique key on it makes a
repeated request a no-op. Every writer of entries and balances goes through here. Posting first
locks the person's account row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has a single writer),
*then* looks for the keys already used, so two requests with one key cannot both pass the check, and
each entry's ``balance_after`` is exact. The CHECK ``balance >= 0`` stays as the last line of defence
against an overdraft.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from miniservice.citizens.models import AccountEntry, PersonalAccount
from miniservice.clock import now_utc
from miniservice.db import insert_ignore
from miniservice.rules.money import ZERO, to_fen

_CHUNK = 500


class InsufficientBalance(ValueError):
    """A debit is larger than the balance; nothing was written."""


@dataclass(frozen=True)
class LedgerItem:
    amount: Decimal  # positive credit, negative debit; whole 分
    reason: str
    request_key: str


@dataclass(frozen=True)
class Posting:
    """What a posting did: ``created`` False means the request key had been used already."""

    entry: AccountEntry
    created: bool


_BALANCE = select(PersonalAccount.balance).where(PersonalAccount.person_id == bindparam("person_id"))


def balance_of(session: Session, person_id: int) -> Decimal:
    """The account balance; a person without an account has 0."""
    return session.execute(_BALANCE, {"person_id": person_id}).scalar_one_or_none() or ZERO


def post_entry(session: Session, person_id: int, amount: Decimal, reason: str, request_key: str) -> Posting:
    """Credit (positive) or debit (negative) ``amount`` once per ``request_key``."""
    return post_entries(session, person_id, [LedgerItem(amount, reason, request_key)])[0]


def post_entries(session: Session, person_id: int, items: Sequence[LedgerItem]) -> list[Posting]:
    """Post ``items`` in order inside the caller's transaction, each at most once per request key.

    A key already used returns its stored entry unchanged, even if the amount differs (entries are
    never edited; the caller decides whether that is an error). Raises :class:`InsufficientBalance`
    before writing anything when a debit would take the balance below zero.
    """
    if any(to_fen(item.amount) != item.amount for item in items):
        raise ValueError("round amounts to 分 before posting them")
    insert_ignore(session, PersonalAccount, person_id=person_id, balance=ZERO)
    balance = session.execute(
        select(PersonalAccount.balance).where(PersonalAccount.person_id == person_id).with_for_update()
    ).scalar_one()
    keys = [item.request_key for item in items]
    used = _entries(session, keys)
    running, rows, at = balance, [], now_utc()
    fresh: set[str] = set()
    for item in items:
        if item.request_key in used or item.request_key in fresh:
            continue
        fresh.add(item.request_key)
        running += item.amount
        if running < 0:
            raise InsufficientBalance("个人账户余额不足。")
        rows.append({"person_id": person_id, "at": at, "amount": item.amount, "balance_after": running,
                     "reason": item.reason, "request_key": item.request_key})
    if rows:
        session.execute(insert(AccountEntry), rows)
        session.execute(update(PersonalAccount).where(PersonalAccount.person_id == person_id)
                        .values(balance=PersonalAccount.balance + (running - balance)))
    stored = _entries(session, keys)
    postings = []
    for key in keys:
        postings.append(Posting(stored[key], created=key in fresh))
        fresh.discard(key)  # a key given twice is created once
    return postings


def _entries(session: Session, keys: list[str]) -> dict[str, AccountEntry]:
    found: dict[str, AccountEntry] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        statement = select(AccountEntry).where(AccountEntry.request_key.in_(chunk))  # type: ignore[union-attr]
        found.update((entry.request_key or "", entry) for entry in session.execute(statement).scalars())
    return found
