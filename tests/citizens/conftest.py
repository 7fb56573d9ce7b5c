"""Fixtures for the citizens capability: frozen time, published rules, registry data, H5 visitors.

Time is fixed at 2026-11-20 10:00 in Shanghai (ticking): the last month due is 2026-10, and the 2027
居民医保 集中缴费期 (09-10 → 12-25) is open, so every situation the pages explain is present.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import delete

from miniservice.citizens.binding import BindingRefused, BindRequest, bind
from miniservice.citizens.demo_data import DemoPerson, generate_demo_data
from miniservice.citizens.identity import id_check_char
from miniservice.citizens.importing import ImportReport, import_records
from miniservice.citizens.models import BindingAttempt
from miniservice.citizens.privacy import PRIVACY_VERSION
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat

NOW = "2026-11-20 10:00:00 +08:00"
TODAY = date(2026, 11, 20)
HEADER = ("id_number,name,phone,card_number,region_code,scheme,employer,month,base,unit_amount,personal_amount,"
          "status,paid_on,payer")


def valid_id(first17: str) -> str:
    return first17 + id_check_char(first17)


# Two people of the registry used by the binding tests (synthetic, valid check characters).
ALICE_ID = valid_id("44030519900307002")  # female, 深圳
BOB_ID = valid_id("11010519851112003")  # male, 北京
ALICE = {"name": "林小雨", "id_number": ALICE_ID, "card": "SZ0000123456", "phone": "13912345678"}
BOB = {"name": "张大山", "id_number": BOB_ID, "card": "BJ0000654321", "phone": "13787654321"}


def registry_csv() -> bytes:
    rows = [HEADER]
    for month in ("2026-08", "2026-09", "2026-10"):
        rows.append(f"{ALICE_ID},林小雨,13912345678,SZ0000123456,440300,flexible,,{month},6000,480,120,paid,"
                    f"{month}-20,self")
        rows.append(f"{BOB_ID},张大山,13787654321,BJ0000654321,110000,employee,北京某公司,{month},9000,720,180,paid,"
                    f"{month}-15,unit")
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture(autouse=True)
def frozen_time() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app



@pytest.fixture
def registry(ctx: Flask, db: Database, fake_wechat: FakeWeChat) -> ImportReport:
    """Alice and Bob in the registry; the WeChat users the tests bind from are followers."""
    for openid in ("o-alice", "o-bob", "o-mallory", "o-other"):
        fake_wechat.add_follower(openid)
    report = import_records(db, registry_csv(), "test", today=TODAY)
    assert report.ok, report.summary()
    return report


@pytest.fixture
def demo(ctx: Flask, db: Database, rules: None, fake_wechat: FakeWeChat) -> dict[str, DemoPerson]:
    people = generate_demo_data(db, TODAY)
    for person in people:
        if person.openid:
            fake_wechat.add_follower(person.openid)
    return {person.key: person for person in people}


def sign_in(client: Any, openid: str) -> None:
    """What a completed WeChat OAuth leaves in the session (the browser test does the real thing)."""
    with client.session_transaction() as session:
        session["openid"] = openid


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def bind_form(client: Any, **fields: str) -> Any:
    """GET /h5/bind for its token, then POST the form as a browser would, the privacy box ticked."""
    token = csrf_token(client.get("/h5/bind").get_data(as_text=True))
    data = {"factor": "card", "csrf_token": token, "privacy_version": PRIVACY_VERSION} | fields
    return client.post("/h5/bind", data=data)


def page_text(response: Any) -> str:
    """The visible text of a page, whitespace collapsed."""
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


def five_wrong_guesses_then_rows_lost(db: Database, openid: str) -> BindRequest:
    """``openid`` guesses Alice's card wrong five times, then the attempt rows are deleted (as if the
    database were restored); returns the right request, for the sixth try."""
    wrong = BindRequest(ALICE["name"], ALICE["id_number"], "card", "SZ9999999999", PRIVACY_VERSION)
    for _ in range(5):
        with pytest.raises(BindingRefused):
            bind(db, openid, wrong)
    with db.transaction() as session:
        session.execute(delete(BindingAttempt))
    return BindRequest(ALICE["name"], ALICE["id_number"], "card", ALICE["card"], PRIVACY_VERSION)
