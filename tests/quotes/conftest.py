"""Fixtures for the quote surfaces: frozen time, published rules, and citizens built month by month.

Time is fixed at 2026-11-25 10:00 in Shanghai (ticking): the last month due is 2026-10 and the 2027
居民医保 集中缴费期 (09-10 → 12-25) is open. The browser test runs on the real clock instead, because
Chromium keeps the session cookie by its own clock.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from miniservice.citizens.identity import IdentityVault, id_check_char
from miniservice.citizens.models import Binding, Contribution, PersonalAccount, ResidentPremium
from miniservice.config import PROJECT_ROOT
from miniservice.db import Database
from miniservice.family.models import FamilyLink, active_key
from miniservice.rules.months import Month, month_range
from tests.conftest import TEST_DATA_KEY, sealed_person

NOW = "2026-11-25 10:00:00 +08:00"
TODAY = date(2026, 11, 25)
POLICIES = PROJECT_ROOT / "policies"

_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen_time(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("browser"):
        yield
        return
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def app_context(request: pytest.FixtureRequest) -> Iterator[None]:
    """Quotes read the birth date and sex from the encrypted ID number with the app's keys, so a test
    that computes one directly runs inside the app, as a request or a command does."""
    if "app" not in request.fixturenames:
        yield
        return
    with request.getfixturevalue("app").app_context():
        yield


@dataclass
class Registry:
    """Citizens as the bureau's registry holds them; identity values are synthetic."""

    db: Database
    vault: IdentityVault = field(default_factory=lambda: IdentityVault(TEST_DATA_KEY))

    def person(self, *, region: str = "440305", scheme: str = "flexible", male: bool = True,
               born: date = date(1985, 1, 1), enrolled: date = date(2020, 1, 1), openid: str | None = None,
               employer: str | None = None, unemployed: bool = False, deemed_months: int = 0) -> int:
        serial = next(_serial)
        first17 = f"{region}{born:%Y%m%d}{serial % 100:02d}{1 if male else 2}"
        id_number = first17 + id_check_char(first17)
        with self.db.transaction() as session:
            person = sealed_person(self.vault, id_number, "测试人", region_code=region, scheme=scheme,
                                   employer=employer, unemployed=unemployed, enrolled_since=enrolled,
                                   deemed_months=deemed_months)
            session.add(person)
            session.flush()
            if openid:
                session.add(Binding(openid=openid, person_id=person.id))
            assert person.id is not None
            return person.id

    def months(self, person_id: int, first: str, last: str, *, status: str = "paid", payer: str = "self",
               base: str = "8000", scheme: str = "flexible") -> None:
        amount = Decimal(base)
        with self.db.transaction() as session:
            for month in month_range(Month.parse(first), Month.parse(last)):
                session.add(Contribution(person_id=person_id, month=month.index, scheme=scheme, base=amount,
                                         unit_amount=amount * Decimal("0.08"), personal_amount=amount * Decimal("0.02"),
                                         status=status, payer=payer,
                                         paid_on=None if status == "unpaid" else month.last_day))

    def years(self, person_id: int, *years: int) -> None:
        with self.db.transaction() as session:
            for year in years:
                session.add(ResidentPremium(person_id=person_id, year=year, amount=Decimal("400"), status="paid",
                                            paid_on=date(year - 1, 11, 1), payer="self"))

    def family_link(self, holder_id: int, relative_id: int) -> None:
        with self.db.transaction() as session:
            session.add(PersonalAccount(person_id=holder_id, balance=Decimal("1000")))
            session.add(FamilyLink(holder_id=holder_id, relative_id=relative_id, relationship="parent",
                                   status="active", consent_mode="attested_offline",
                                   active_key=active_key(holder_id, relative_id)))


@pytest.fixture
def registry(db: Database, rules: None) -> Registry:
    return Registry(db)


def sign_in(client: Any, openid: str) -> None:
    """What a completed WeChat OAuth leaves in the session (``miniservice.wechat.oauth``)."""
    with client.session_transaction() as session:
        session["openid"] = openid


def page_text(response: Any) -> str:
    """The visible text of a page, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
