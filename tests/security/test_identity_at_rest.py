"""Issue 17, finding 3: nothing stored in clear rebuilds an ID number.

The attacker holds a copy of the database and no key. They read every column of every table, link
the rows that are about one person (foreign keys to ``person``, ``person:<id>`` / ``citizen:#<id>``
in the audit log), and combine what they find: masked ID numbers (digits they show), a ``sex``
column (the parity of digit 17), and every date as a hint for the birth date (digits 7–14) — the date
itself or its month, and the month or the month before of the date 50, 55 or 60 years earlier (a
retirement date follows the birth month). They are even given digits 1–6 (district codes are few and
public). A hint narrows an ID number when the true number is among fewer than ``ENOUGH`` numbers that
fit it; the test fails if any person's number is narrowed that far.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import MetaData, inspect, select, text

from miniservice.citizens.binding import BindRequest, bind
from miniservice.citizens.demo_data import DemoPerson, generate_demo_data
from miniservice.citizens.identity import IdentityVault, id_check_char
from miniservice.citizens.privacy import PRIVACY_VERSION
from miniservice.db import Database, alembic_config
from miniservice.devtools.fake_wechat import FakeWeChat
from tests.conftest import TEST_DATA_KEY

TODAY = date(2026, 11, 20)
ENOUGH = 1000  # candidates an attacker would still have to tell apart with no way to test a guess
RETIREMENT_AGES = (0, 50, 55, 60)
_MASK = re.compile(r"^[0-9*]{17}[0-9Xx*]$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@pytest.fixture
def seeded(app: Flask, db: Database, fake_wechat: FakeWeChat) -> list[DemoPerson]:
    """The demo registry, and one citizen who binds through the service (which writes the audit log)."""
    with app.app_context():
        people = generate_demo_data(db, TODAY)
        gap8 = next(p for p in people if p.key == "gap8")
        fake_wechat.add_follower("o-gap8")
        bind(db, "o-gap8", BindRequest(gap8.name, gap8.id_number, "phone", gap8.phone, PRIVACY_VERSION))
    return people


def test_no_persons_id_number_can_be_narrowed_from_the_database_alone(db: Database,
                                                                       seeded: list[DemoPerson]) -> None:
    tables = _dump(db)
    people = {row["id"]: row for row in tables["person"]}
    found = {}
    for demo in seeded:
        person_id = _person_id(db, demo)
        facts = list(_values(_rows_about(person_id, tables)))
        found[demo.key] = _narrowest(demo.id_number, facts)
    assert len(found) == len(people) == 13
    narrowed = {key: size for key, size in found.items() if size < ENOUGH}
    assert not narrowed, f"ID numbers narrowed to fewer than {ENOUGH} candidates: {narrowed}"


def test_the_attacker_narrows_a_number_when_its_birth_month_and_last_digits_are_known() -> None:
    """The measuring stick itself: the old mask plus a retirement date leaves a handful."""
    id_number = "36010219630506" + "181" + id_check_char("36010219630506181")
    old_mask = id_number[:4] + "*" * 10 + id_number[-4:]
    assert _narrowest(id_number, [old_mask, date(2023, 6, 1)]) < 10
    assert _narrowest(id_number, [date(1963, 5, 6)]) == 1000
    assert _narrowest(id_number, []) >= ENOUGH


def test_the_migration_drops_birth_date_and_sex_and_shortens_stored_masks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    id_number = "36010219630506" + "181" + id_check_char("36010219630506181")
    vault = IdentityVault(TEST_DATA_KEY)
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(db), "7c1e5a0b9d2f")
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO person (id, id_number_hash, id_number_cipher, id_number_masked, name_cipher, name_masked, "
            "sex, birth_date, region_code, scheme, unemployed, enrolled_since, deemed_months, created_at) VALUES "
            "(1, :hash, :cipher, :mask, :name, '吴*明', 'M', '1963-05-06', '360100', 'retiree', 0, '2011-06-01', "
            "36, '2026-01-01 00:00:00')"),
            {"hash": vault.lookup_hash(id_number), "cipher": vault.encrypt(id_number), "name": vault.encrypt("吴德明"),
             "mask": id_number[:4] + "*" * 10 + id_number[-4:]})
        connection.execute(text(
            "INSERT INTO audit_event (at, actor, action, subject, details) VALUES ('2026-01-01 00:00:00', "
            "'citizen:#1', 'binding.bind', 'person:1', :details)"),
            {"details": json.dumps({"id_number": id_number[:4] + "*" * 10 + id_number[-4:], "factor": "phone"})})

    command.upgrade(alembic_config(db), "head")
    with db.engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("person")}
        mask = connection.execute(text("SELECT id_number_masked FROM person")).scalar_one()
        details = json.loads(connection.execute(text("SELECT details FROM audit_event")).scalar_one())
    assert not {"birth_date", "sex"} & columns
    assert mask == details["id_number"] == "3601*************" + id_number[-1] and details["factor"] == "phone"

    for variable, value in {"MINISERVICE_ENV": "test", "MINISERVICE_DATA_KEY": TEST_DATA_KEY,
                            "MINISERVICE_INSTANCE_DIR": str(tmp_path / "instance")}.items():
        monkeypatch.setenv(variable, value)
    command.downgrade(alembic_config(db), "7c1e5a0b9d2f")
    with db.engine.connect() as connection:
        restored = connection.execute(text("SELECT sex, birth_date, id_number_masked FROM person")).one()
    db.dispose()
    assert tuple(restored) == ("M", "1963-05-06", id_number[:4] + "*" * 10 + id_number[-4:])


def _dump(db: Database) -> dict[str, list[dict[str, Any]]]:
    metadata = MetaData()
    metadata.reflect(db.engine)
    with db.engine.connect() as connection:
        return {table.name: [dict(row._mapping) | {"__refs__": _person_refs(table, row._mapping)}
                             for row in connection.execute(select(table))]
                for table in metadata.sorted_tables}


def _person_refs(table: Any, row: Any) -> set[int]:
    refs = {row[fk.parent.name] for fk in table.foreign_keys if fk.column.table.name == "person"}
    if table.name == "person":
        refs.add(row["id"])
    return {ref for ref in refs if ref is not None}


def _person_id(db: Database, demo: DemoPerson) -> int:
    """Which row is whose, for scoring only (the attacker never sees the clear number)."""
    vault = IdentityVault(TEST_DATA_KEY)
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT id, id_number_cipher FROM person").all()
    return next(person_id for person_id, cipher in rows if vault.decrypt(cipher) == demo.id_number)


def _rows_about(person_id: int, tables: dict[str, list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    marks = {f"person:{person_id}", f"citizen:#{person_id}"}
    for rows in tables.values():
        for row in rows:
            if person_id in row["__refs__"] or marks & {v for v in row.values() if isinstance(v, str)}:
                yield row


def _values(rows: Iterable[Any]) -> Iterator[Any]:
    """Every plain value in the rows, JSON documents opened; a ``sex`` column as ``("sex", value)``."""
    for row in rows:
        for column, value in row.items():
            if column == "sex":
                yield ("sex", value)
            yield from _leaves(value)


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str) and value[:1] in "[{":
        try:
            yield from _leaves(json.loads(value))
        except ValueError:
            yield value
    else:
        yield value


def _narrowest(id_number: str, facts: list[Any]) -> int:
    """The fewest candidates among the attacker's hypotheses that contain the true number."""
    masks = [v.upper() for v in facts if isinstance(v, str) and _MASK.match(v) and "*" in v]
    sexes = {v[1] for v in facts if isinstance(v, tuple) and v[0] == "sex"}
    born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    hypotheses = [days for hint in _dates(facts) for days in _birth_hypotheses(hint) if born in days]
    sizes = [_count(id_number[:6], days, masks, sexes) for days in hypotheses]
    return min(sizes, default=_count(id_number[:6], [born], masks, sexes) * 365 * 100)


def _dates(facts: list[Any]) -> set[date]:
    found = set()
    for value in facts:
        if isinstance(value, datetime):
            found.add(value.date())
        elif isinstance(value, date):
            found.add(value)
        elif isinstance(value, str) and (match := _ISO_DAY.match(value)):
            try:
                found.add(date(*map(int, match.groups())))
            except ValueError:
                continue
    return found


def _birth_hypotheses(hint: date) -> Iterator[list[date]]:
    for years in RETIREMENT_AGES:
        day = _years_before(hint, years)
        yield [day]
        first = day.replace(day=1)
        for month_start in (first, (first - timedelta(days=1)).replace(day=1)):
            yield _month(month_start)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _month(first: date) -> list[date]:
    days, day = [], first
    while day.month == first.month:
        days.append(day)
        day += timedelta(days=1)
    return days


def _count(prefix: str, births: Iterable[date], masks: list[str], sexes: set[str]) -> int:
    total = 0
    for born in births:
        body = prefix + born.strftime("%Y%m%d")
        for sequence in range(1000):
            first17 = f"{body}{sequence:03d}"
            if sexes and ("M" if sequence % 2 else "F") not in sexes:
                continue
            candidate = first17 + id_check_char(first17)
            if all(all(m == "*" or m == c for m, c in zip(mask, candidate, strict=True)) for mask in masks):
                total += 1
    return total
