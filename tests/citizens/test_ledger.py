"""The personal-account ledger: each request key posts once, balances are exact, no overdraft."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select

from miniservice.citizens.importing import ImportReport
from miniservice.citizens.ledger import InsufficientBalance, LedgerItem, balance_of, post_entries, post_entry
from miniservice.citizens.models import AccountEntry, Person
from miniservice.db import Database


@pytest.fixture
def person_id(registry: ImportReport, db: Database) -> int:
    with db.reading() as session:
        return session.execute(select(Person.id).order_by(Person.id)).scalars().first()


def test_a_repeated_request_key_posts_once(ctx: Flask, db: Database, person_id: int) -> None:
    for _ in range(2):
        with db.transaction() as session:
            posting = post_entry(session, person_id, Decimal("120.50"), "划入", "test:credit:1")
    assert not posting.created and posting.entry.balance_after == Decimal("120.50")
    with db.reading() as session:
        assert balance_of(session, person_id) == Decimal("120.50")
        assert len(session.execute(select(AccountEntry)).scalars().all()) == 1


def test_entries_carry_the_running_balance_and_a_debit_reduces_it(ctx: Flask, db: Database, person_id: int) -> None:
    with db.transaction() as session:
        postings = post_entries(session, person_id, [LedgerItem(Decimal("100"), "a", "k1"),
                                                     LedgerItem(Decimal("50"), "b", "k2"),
                                                     LedgerItem(Decimal("-30.25"), "c", "k3")])
    assert [str(p.entry.balance_after) for p in postings] == ["100.00", "150.00", "119.75"]
    with db.reading() as session:
        assert balance_of(session, person_id) == Decimal("119.75")


def test_an_overdraft_is_refused_and_leaves_nothing(ctx: Flask, db: Database, person_id: int) -> None:
    with db.transaction() as session:
        post_entry(session, person_id, Decimal("10"), "a", "k1")
    with pytest.raises(InsufficientBalance), db.transaction() as session:
        post_entries(session, person_id, [LedgerItem(Decimal("5"), "b", "k2"), LedgerItem(Decimal("-20"), "c", "k3")])
    with db.reading() as session:
        assert balance_of(session, person_id) == Decimal("10")
        assert session.execute(select(AccountEntry.request_key)).scalars().all() == ["k1"]


def test_amounts_finer_than_a_fen_are_refused(ctx: Flask, db: Database, person_id: int) -> None:
    with pytest.raises(ValueError, match="分"), db.transaction() as session:
        post_entry(session, person_id, Decimal("0.001"), "a", "k1")
