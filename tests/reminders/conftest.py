"""Fixtures for reminders: the shipped rules published in the test database, citizens with
contribution histories bound to WeChat followers, and a way to live one day at a time.

Days are lived with time-machine at a local hour (Asia/Shanghai), so the planner, the quiet hours,
the fake WeChat API and token expiry all see the same moved clock.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from sqlalchemy import delete, select

from miniservice.citizens.identity import IdentityVault, id_check_char, mask_name
from miniservice.citizens.models import Binding, Contribution, ResidentPremium
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.family.models import FamilyLink, active_key
from miniservice.reminders.models import Reminder, ReminderAttempt
from miniservice.reminders.sending import SendReport
from miniservice.reminders.service import DayReport, run_day, send_due
from miniservice.rules.months import Month
from miniservice.wechat.models import Follower
from tests.conftest import TEST_DATA_KEY, sealed_person

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEMPLATES = {"gap_reminder": "TPL-GAP", "resident_period": "TPL-RESIDENT"}


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {"template_ids": dict(TEMPLATES), "reminder_rate_per_second": 1000.0}


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI)


_serial = itertools.count(1)


@dataclass(frozen=True)
class Citizen:
    id: int
    name_masked: str
    openid: str | None


@dataclass
class Registry:
    """Builds citizens as the bureau's registry holds them, bound and followed as asked."""

    db: Database
    fake: FakeWeChat
    vault: IdentityVault = field(default_factory=lambda: IdentityVault(TEST_DATA_KEY))

    def person(self, name: str, *, scheme: str = "flexible", region: str = "110105",
               enrolled: date = date(2020, 1, 1), openid: str | None = "auto", follower: bool = True,
               employer: str | None = None) -> Citizen:
        serial = next(_serial)
        first17 = f"{region}19850101{serial % 1000:03d}"
        id_number = first17 + id_check_char(first17)
        openid = f"o-reminder-{serial}" if openid == "auto" else openid
        with self.db.transaction() as session:
            person = sealed_person(self.vault, id_number, name, region_code=region, scheme=scheme,
                                   enrolled_since=enrolled, employer=employer)
            session.add(person)
            session.flush()
            if openid is not None:
                session.add(Binding(openid=openid, person_id=person.id))
                if follower:
                    session.add(Follower(openid=openid))
        if openid is not None and follower:
            self.fake.add_follower(openid)
        return Citizen(person.id, mask_name(name), openid)

    def paid(self, citizen: Citizen, first: Month, last: Month, status: str = "paid", payer: str | None = None,
             scheme: str = "flexible") -> None:
        """Months ``first``..``last`` with ``status`` (``unpaid`` rows name who owes them in ``payer``)."""
        with self.db.transaction() as session:
            for index in range(first.index, last.index + 1):
                session.add(Contribution(person_id=citizen.id, month=index, scheme=scheme, base=Decimal("6000"),
                                         unit_amount=Decimal("480"), personal_amount=Decimal("120"), status=status,
                                         payer=payer))

    def paid_years(self, citizen: Citizen, *years: int) -> None:
        with self.db.transaction() as session:
            for year in years:
                session.add(ResidentPremium(person_id=citizen.id, year=year, amount=Decimal("400"), status="paid",
                                            paid_on=date(year - 1, 10, 1), payer="self"))

    def link(self, holder: Citizen, relative: Citizen, *, remind: bool) -> None:
        with self.db.transaction() as session:
            session.add(FamilyLink(holder_id=holder.id, relative_id=relative.id, relationship="parent",
                                   status="active", consent_mode="attested_offline",
                                   active_key=active_key(holder.id, relative.id), remind_gaps=remind))

    def unbind(self, citizen: Citizen) -> None:
        with self.db.transaction() as session:
            session.execute(delete(Binding).where(Binding.person_id == citizen.id))

    def follower(self, openid: str) -> Follower:
        with self.db.reading() as session:
            return session.execute(select(Follower).where(Follower.openid == openid)).scalar_one()

    def set_follower(self, openid: str, **values: Any) -> None:
        with self.db.transaction() as session:
            follower = session.execute(select(Follower).where(Follower.openid == openid)).scalar_one()
            for name, value in values.items():
                setattr(follower, name, value)

    def reminders(self, **where: Any) -> list[Reminder]:
        with self.db.reading() as session:
            query = select(Reminder).filter_by(**where).order_by(Reminder.due_on, Reminder.id)
            return list(session.execute(query).scalars())

    def attempts(self) -> list[ReminderAttempt]:
        with self.db.reading() as session:
            return list(session.execute(select(ReminderAttempt).order_by(ReminderAttempt.id)).scalars())


@pytest.fixture
def registry(db: Database, fake_wechat: FakeWeChat, rules: None) -> Registry:
    return Registry(db, fake_wechat)


class Clock:
    """Moves time-machine's clock; every move replaces the previous one."""

    def __init__(self) -> None:
        self.traveller: Any = None
        self.now: datetime | None = None

    def at(self, moment: datetime) -> None:
        self.stop()
        self.now = moment
        self.traveller = time_machine.travel(moment, tick=True)
        self.traveller.start()

    def shift(self, delta: timedelta) -> None:
        assert self.now is not None, "set the clock first"
        self.at(self.now + delta)

    def stop(self) -> None:
        if self.traveller is not None:
            self.traveller.stop()
            self.traveller = None


@pytest.fixture
def clock() -> Iterator[Clock]:
    moving = Clock()
    yield moving
    moving.stop()


@pytest.fixture
def live_day(app: Flask, clock: Clock) -> Callable[..., DayReport]:
    """``live_day(day, hour=10)``: move the clock to that local time and run the daily job."""

    def live(day: date, hour: int = 10, minute: int = 0, **kwargs: Any) -> DayReport:
        clock.at(local(day, hour, minute))
        with app.app_context():
            return run_day(day, **kwargs)

    return live


@pytest.fixture
def send_now(app: Flask) -> Callable[..., SendReport]:
    """Run the frequent send job at the clock's current time."""

    def send(**kwargs: Any) -> SendReport:
        with app.app_context():
            return send_due(**kwargs)

    return send


def days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def stages_sent(fake: FakeWeChat, openid: str) -> list[dict[str, str]]:
    """Each message WeChat accepted for ``openid``, as its field values."""
    return [{key: value["value"] for key, value in m.body["data"].items()} for m in fake.sent_messages(openid)]
