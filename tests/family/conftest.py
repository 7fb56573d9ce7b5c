"""Fixtures for 家庭共济: the shipped rules published in the test database, people in the registry,
WeChat users bound to them, and a signed-in H5 visitor.

Time is fixed at 2025-10-15 10:00 in Shanghai: the 2026 集中缴费期 (09-10 → 12-25) is open, so a
居民医保 relative has next year's premium to pay, and a 灵活就业 relative's unpaid months are late.
"""

from __future__ import annotations

import itertools
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from miniservice.citizens.identity import IdentityVault, id_check_char
from miniservice.citizens.models import Binding, Contribution, PersonalAccount, ResidentPremium
from miniservice.config import PROJECT_ROOT
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.family.models import FamilyLink
from miniservice.rulebook.service import load_directory
from miniservice.rules.months import Month
from tests.conftest import TEST_DATA_KEY, sealed_person, send_outbox

T = TypeVar("T")

NOW = "2025-10-15 10:00:00 +08:00"
TODAY = date(2025, 10, 15)

# A region still on the 2021 rule (spouse, parents, children only) and with at most two links.
NARROW_REGION = """\
code = "140200"
name = "大同市"
parent = "140000"
version = "test.1"
effective_from = 2025-01-01

[family]
relationships = { value = ["spouse", "parent", "child"], source = "gov-outpatient-2021", quote = "配偶、父母、子女" }
max_links = { value = 2, source = "estimate", illustrative = true, note = "测试用的较小上限" }
"""


@pytest.fixture(autouse=True)
def frozen_time() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """The shipped national, 山西 and 太原 files (the family's rules) plus :data:`NARROW_REGION`."""
    directory = tmp_path / "policies"
    directory.mkdir()
    for name in ("national.toml", "140000.toml", "140100.toml"):
        shutil.copy(PROJECT_ROOT / "policies" / name, directory / name)
    (directory / "140200.toml").write_text(NARROW_REGION, encoding="utf-8")
    return directory


@pytest.fixture
def rules(db: Database, policies: Path) -> None:
    report = load_directory(db, policies, "test")
    assert report.ok, report.problems


_serial = itertools.count(101)


@dataclass(frozen=True)
class Someone:
    """A registry person as the tests know them: the id, and what a citizen would type."""

    id: int
    name: str
    id_number: str
    card: str
    scheme: str
    openid: str | None


@dataclass
class Registry:
    """Builds people as the bureau's registry holds them (encrypted, hashed, masked)."""

    db: Database
    fake: FakeWeChat
    vault: IdentityVault = field(default_factory=lambda: IdentityVault(TEST_DATA_KEY))

    def person(
        self,
        name: str,
        *,
        born: date = date(1980, 5, 1),
        region: str = "140105",
        scheme: str = "employee",
        balance: str | None = None,
        openid: str | None = None,
        enrolled: date = date(2015, 1, 1),
    ) -> Someone:
        """A person; ``balance`` gives them a personal account, ``openid`` binds them to WeChat."""
        first17 = f"{region}{born:%Y%m%d}{next(_serial) % 1000:03d}"
        id_number = first17 + id_check_char(first17)
        card = f"C{id_number[-9:]}"
        with self.db.transaction() as session:
            person = sealed_person(self.vault, id_number, name, card=card, region_code=region, scheme=scheme,
                                   enrolled_since=enrolled)
            session.add(person)
            session.flush()
            if balance is not None:
                session.add(PersonalAccount(person_id=person.id, balance=Decimal(balance)))
            if openid is not None:
                session.add(Binding(openid=openid, person_id=person.id))
        if openid is not None:
            self.fake.add_follower(openid)
        return Someone(person.id, name, id_number, card, scheme, openid)

    def months(self, person: Someone, first: Month, last: Month, status: str = "paid") -> None:
        with self.db.transaction() as session:
            for index in range(first.index, last.index + 1):
                session.add(Contribution(person_id=person.id, month=index, scheme=person.scheme, base=Decimal("5000"),
                                         unit_amount=Decimal("400"), personal_amount=Decimal("100"), status=status))

    def paid_years(self, person: Someone, *years: int) -> None:
        with self.db.transaction() as session:
            for year in years:
                session.add(ResidentPremium(person_id=person.id, year=year, amount=Decimal("400"), status="paid",
                                            paid_on=date(year - 1, 11, 1), payer="self"))

    def balance(self, person: Someone) -> Decimal:
        with self.db.reading() as session:
            return session.get(PersonalAccount, person.id).balance

    def links(self, holder: Someone) -> list[FamilyLink]:
        with self.db.reading() as session:
            return list(session.execute(
                select(FamilyLink).where(FamilyLink.holder_id == holder.id).order_by(FamilyLink.id)
            ).scalars())


@pytest.fixture
def registry(db: Database, fake_wechat: FakeWeChat, rules: None) -> Registry:
    return Registry(db, fake_wechat)


@dataclass
class Family:
    """A typical family in 太原: an employee holder, a resident spouse bound to WeChat, a resident
    mother without WeChat, a minor son, and a 灵活就业 brother with an open gap."""

    holder: Someone
    spouse: Someone
    mother: Someone
    son: Someone
    brother: Someone


@pytest.fixture
def family(registry: Registry) -> Family:
    holder = registry.person("钱志刚", born=date(1984, 1, 9), balance="5000.00", openid="o-holder")
    spouse = registry.person("林慧", born=date(1987, 6, 21), region="140106", scheme="resident", openid="o-spouse")
    mother = registry.person("钱桂兰", born=date(1956, 10, 3), scheme="resident")
    son = registry.person("钱小宇", born=date(2016, 8, 15), scheme="resident", openid="o-son")
    brother = registry.person("钱志强", born=date(1988, 3, 2), scheme="flexible", openid="o-brother")
    for person in (spouse, mother, son):
        registry.paid_years(person, 2024, 2025)
    registry.months(brother, Month(2015, 1), Month(2025, 6))
    registry.months(brother, Month(2025, 7), Month(2025, 7), status="unpaid")  # owed; August and September: no rows
    return Family(holder, spouse, mother, son, brother)


# -- the H5 side ------------------------------------------------------------------------------------

class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.forms.append({"action": values.get("action"), "fields": {}})
        elif tag == "input" and self.forms and values.get("type") in ("hidden", None, "text"):
            self.forms[-1]["fields"][values.get("name")] = values.get("value") or ""


def forms(html: str, action: str | None = None) -> list[dict[str, Any]]:
    """The page's forms (action and hidden/text fields), optionally only those posting to ``action``."""
    parser = _Forms()
    parser.feed(html)
    return [f for f in parser.forms if action is None or f["action"] == action]


def signed_in(app: Flask, openid: str) -> Any:
    """A test client whose session carries ``openid``, as after WeChat OAuth."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["openid"] = openid
    return client


def csrf(client: Any, path: str = "/h5/family") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1) or match.group(2)


def add_relative(client: Any, person: Someone, relationship: str, attested: bool = False, **changes: str) -> Any:
    """Post the add form for ``person`` (``changes`` override what is typed)."""
    data = {"csrf_token": csrf(client, "/h5/family/add"), "name": person.name, "id_number": person.id_number,
            "card_number": person.card, "relationship": relationship}
    if attested:
        data["attested"] = "y"
    data.update(changes)
    return client.post("/h5/family/add", data=data)


def consent_url(app: Flask, fake: FakeWeChat, openid: str) -> str:
    """The consent link in the last WeChat message to ``openid`` (path only), once the outbox is sent."""
    send_outbox(app)
    content = fake.sent_messages(openid)[-1].body["text"]["content"]
    match = re.search(r"https?://[^/\s]+(/h5/family/consent/[A-Za-z0-9_-]+)", content)
    assert match, content
    return match.group(1)


def race(calls: list[Callable[[], T]]) -> list[T]:
    """Run ``calls`` at the same moment from separate threads (each with its own client)."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=10)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
