"""Orders from quotes: frozen figures, an expiry, one open order per citizen and item."""

from __future__ import annotations

import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask

from miniservice.config import PROJECT_ROOT
from miniservice.db import Database
from miniservice.payments.errors import PayError
from miniservice.payments.orders import open_order, payables
from miniservice.quotes.service import quote_for_person
from miniservice.rulebook.service import load_directory
from tests.payments.conftest import FLEX_OPENID, order_count
from tests.quotes.conftest import TODAY, Registry


def _payable(db: Database, person: int) -> list:  # type: ignore[type-arg]
    from miniservice.citizens.models import Person

    with db.reading() as session:
        return payables(session, session.get(Person, person), TODAY)


def test_a_back_payment_order_freezes_the_quote_it_was_made_from(app: Flask, db: Database, flexible: int) -> None:
    (item,) = _payable(db, flexible)
    assert item.item == "backpay:2026-07:2026-10"
    order = open_order(db, app, FLEX_OPENID, flexible, item.item, TODAY)
    shown = quote_for_person(db, flexible, TODAY).quote
    frozen = json.loads(order.frozen)
    assert order.amount == item.amount == Decimal(shown.to_json()["totals"]["citizen_owes"])
    assert [m["month"] for m in frozen["quote"]["months"]] == ["2026-07", "2026-08", "2026-09", "2026-10"]
    assert frozen["quote"]["totals"]["late_fee"] != "0.00"
    assert frozen["facts"]["gap_first"] == "2026-07"
    assert order.rule_version == shown.version
    # A late fee grows every day, so the figures hold for today only.
    assert order.expires_on == TODAY


def test_a_second_tap_returns_the_same_order(app: Flask, db: Database, flexible: int) -> None:
    first = open_order(db, app, FLEX_OPENID, flexible, "backpay:2026-07:2026-10", TODAY)
    second = open_order(db, app, FLEX_OPENID, flexible, "backpay:2026-07:2026-10", TODAY)
    assert second.out_trade_no == first.out_trade_no
    assert order_count(db) == 1


def test_two_taps_at_once_make_one_order(app: Flask, db: Database, flexible: int) -> None:
    def tap(_: int) -> str:
        with app.app_context():
            return open_order(db, app, FLEX_OPENID, flexible, "backpay:2026-07:2026-10", TODAY).out_trade_no

    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(tap, range(4)))
    assert len(set(found)) == 1
    assert order_count(db) == 1


def test_a_resident_premium_order_lasts_to_the_end_of_the_collection_period(
        app: Flask, db: Database, registry: Registry) -> None:
    person = registry.person(region="440305", scheme="resident", openid="o_resident", enrolled=date(2020, 1, 1))
    registry.years(person, 2020, 2021, 2022, 2023, 2024, 2025, 2026)
    (item,) = _payable(db, person)
    assert item.item == "premium:2027"
    order = open_order(db, app, "o_resident", person, item.item, TODAY)
    resident = quote_for_person(db, person, TODAY).quote.resident
    assert resident is not None
    assert order.amount == resident.premium
    assert order.expires_on == resident.period_end


def test_a_holder_may_pay_a_linked_relatives_premium_but_not_a_strangers(
        app: Flask, db: Database, registry: Registry, flexible: int) -> None:
    relative = registry.person(region="440305", scheme="resident", enrolled=date(2020, 1, 1))
    registry.years(relative, 2024, 2025, 2026)
    stranger = registry.person(region="440305", scheme="resident", enrolled=date(2020, 1, 1))
    registry.years(stranger, 2024, 2025, 2026)
    registry.family_link(flexible, relative)
    kinds = {(p.kind, p.person_id) for p in _payable(db, flexible)}
    assert ("relative_premium", relative) in kinds
    order = open_order(db, app, FLEX_OPENID, relative, "premium:2027", TODAY)
    assert (order.kind, order.payer_id, order.person_id) == ("relative_premium", flexible, relative)
    with pytest.raises(PayError) as refused:
        open_order(db, app, FLEX_OPENID, stranger, "premium:2027", TODAY)
    assert refused.value.status == 403


def test_an_item_that_is_not_owed_is_refused_with_a_clear_message(app: Flask, db: Database, flexible: int) -> None:
    with pytest.raises(PayError) as refused:
        open_order(db, app, FLEX_OPENID, flexible, "backpay:2025-01:2025-03", TODAY)
    assert "无需缴纳" in refused.value.message
    assert order_count(db) == 0


def test_a_premium_order_expires_the_day_before_new_rules_change_its_figure(
        app: Flask, db: Database, registry: Registry, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", policies)
    shenzhen = policies / "440300.toml"
    text = re.sub(r'(?m)^version = ".*"$', 'version = "2026.12"', shenzhen.read_text())
    text = re.sub(r"(?m)^effective_from = .*$", "effective_from = 2026-12-01", text)
    premium = '2027 = { value = "430", source = "estimate", illustrative = true }'
    shenzhen.write_text(f"{text}\n[resident.premium]\n{premium}\n")
    assert load_directory(db, policies, "test").ok
    person = registry.person(region="440305", scheme="resident", openid="o_resident", enrolled=date(2020, 1, 1))
    registry.years(person, 2020, 2021, 2022, 2023, 2024, 2025, 2026)
    order = open_order(db, app, "o_resident", person, "premium:2027", TODAY)
    assert order.expires_on == date(2026, 11, 30)
    assert order.rule_version != "2026.12"
