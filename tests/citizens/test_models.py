"""``Person.scheme`` is typed: read back as a ``Scheme``, and the database refuses any other word."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from miniservice import state
from miniservice.citizens.identity import id_check_char
from miniservice.citizens.models import Person
from miniservice.db import Database
from miniservice.rules.kinds import Scheme
from tests.conftest import sealed_person


def _add(app: Flask, db: Database, serial: int, scheme: str) -> int:
    first17 = f"11010519850101{serial:03d}"
    with app.app_context(), db.transaction() as session:
        person = sealed_person(state.vault(), first17 + id_check_char(first17), "王五", region_code="110000",
                               scheme=scheme, enrolled_since=date(2020, 1, 1))
        session.add(person)
        session.flush()
        assert person.id is not None
        return person.id


def test_a_stored_scheme_reads_back_as_the_enum(app: Flask, db: Database) -> None:
    person_id = _add(app, db, 1, "resident")
    with db.reading() as session:
        scheme = session.execute(select(Person.scheme).where(Person.id == person_id)).scalar_one()
        stored = session.execute(text("SELECT scheme FROM person WHERE id = :id"), {"id": person_id}).scalar_one()
    assert scheme is Scheme.RESIDENT
    assert stored == "resident"  # the word, as rule files, JSON and imports spell it


def test_the_database_refuses_a_scheme_that_is_not_one_of_the_four(app: Flask, db: Database) -> None:
    person_id = _add(app, db, 2, "flexible")
    with pytest.raises(IntegrityError, match="ck_person_scheme"), db.transaction() as session:
        session.execute(text("UPDATE person SET scheme = 'unknown' WHERE id = :id"), {"id": person_id})
