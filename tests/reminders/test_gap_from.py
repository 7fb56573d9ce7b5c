"""``person.gap_from``, the open-gap start the daily plan reads through an index, is kept right by the
database itself on every write to a person's months or enrolment, on both databases."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select, update

from bench.population import generate
from miniservice.citizens.models import Contribution, Person
from miniservice.db import Database
from miniservice.reminders.planning import plan_reminders
from miniservice.rules.months import Month
from tests.reminders.conftest import Registry

COVERED = {"paid", "back_paid"}
STATUSES = {*COVERED, "unpaid"}


def _from_scratch(db: Database) -> dict[int, int]:
    """Each person's open-gap start computed from their rows, as the plan used to aggregate it: the month
    after the last covered month, or the enrolment month when that is later (or nothing is covered)."""
    with db.reading() as session:
        enrolled = {pid: Month.of(day).index for pid, day in session.execute(select(Person.id, Person.enrolled_since))}
        last: dict[int, int] = defaultdict(lambda: -1)
        for pid, month, status in session.execute(select(Contribution.person_id, Contribution.month,
                                                         Contribution.status)):
            if status in COVERED:
                last[pid] = max(last[pid], month)
    return {pid: max(start, last[pid] + 1) for pid, start in enrolled.items()}


def _kept(db: Database) -> dict[int, int | None]:
    with db.reading() as session:
        return {person_id: gap_from for person_id, gap_from in session.execute(select(Person.id, Person.gap_from))}


def test_the_gap_start_follows_every_write_to_a_persons_months_and_enrolment(db: Database,
                                                                           registry: Registry) -> None:
    people = [registry.person(f"测试{n}", scheme="employee", enrolled=date(2024, 1 + n, 1)) for n in range(4)]
    ids = [p.id for p in people]
    assert _kept(db) == _from_scratch(db)  # a new person's gap starts at enrolment
    chance = random.Random(20261201)

    def add(pid: int, month: int, status: str) -> None:
        with db.transaction() as session:
            if session.execute(select(Contribution.id).where(Contribution.person_id == pid,
                                                             Contribution.month == month)).first() is None:
                session.add(Contribution(person_id=pid, month=month, scheme="employee", base=Decimal("6000"),
                                         unit_amount=Decimal("480"), personal_amount=Decimal("120"), status=status))

    def some_row() -> int | None:
        with db.reading() as session:
            rows = session.execute(select(Contribution.id).order_by(Contribution.id)).scalars().all()
        return chance.choice(rows) if rows else None

    def change(**values: int | str) -> None:
        row = some_row()
        if row is None:
            return
        with db.transaction() as session:
            current = session.get(Contribution, row)
            assert current is not None
            pid, month = values.get("person_id", current.person_id), values.get("month", current.month)
            if (pid, month) != (current.person_id, current.month) and session.execute(select(Contribution.id).where(
                    Contribution.person_id == pid, Contribution.month == month)).first():
                return  # the person already has that month: the unique key would refuse the write
            session.execute(update(Contribution).where(Contribution.id == row).values(**values))

    def remove() -> None:
        row = some_row()
        if row is not None:
            with db.transaction() as session:
                session.execute(delete(Contribution).where(Contribution.id == row))

    def enrol(pid: int, day: date) -> None:
        with db.transaction() as session:
            session.execute(update(Person).where(Person.id == pid).values(enrolled_since=day))

    base = Month(2024, 1).index
    for _ in range(120):
        pid, month, status = chance.choice(ids), base + chance.randrange(36), chance.choice(sorted(STATUSES))
        write = chance.randrange(6)
        if write == 0:
            add(pid, month, status)
        elif write == 1:
            change(status=status)
        elif write == 2:
            change(month=month + chance.choice([-12, 1, 24]))
        elif write == 3:
            change(person_id=pid)
        elif write == 4:
            remove()
        else:
            enrol(pid, Month.from_index(month).first_day)
        assert _kept(db) == _from_scratch(db)


def test_a_generated_city_is_planned_from_the_kept_gap_starts_as_from_its_months(db: Database,
                                                                                registry: Registry) -> None:
    """The bench's city (every scheme, lags of 0–7 months, back-paid months): the kept starts are the
    aggregated ones for every citizen, so the plan selects the same citizens as the aggregate did."""
    on = date(2025, 12, 1)
    generate(db.engine, 400, on)

    assert _kept(db) == _from_scratch(db)
    report = plan_reminders(db, on)
    assert report.planned["gap_1m"] > 0 and report.planned["gap_2m"] > 0
