"""Fixtures for 网上缴费: demo keys, the fake WeChat Pay server, and citizens with something to pay.

Time is the quotes' frozen 2026-11-25 10:00 Shanghai (ticking): a 灵活就业 citizen whose months from
2026-07 are unpaid owes a back-payment with a late fee (so the quote holds for today only), and the
2027 居民医保 集中缴费期 is open.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from miniservice import state
from miniservice.db import Database
from miniservice.devtools.fake_wechatpay import FakeWeChatPay
from miniservice.payments.channels import channel_named
from miniservice.payments.keys import generate_demo_keys
from miniservice.payments.models import PayOrder
from miniservice.payments.orders import open_order, start_payment
from tests.quotes import conftest as quotes
from tests.quotes.conftest import Registry

FLEX_OPENID = "o_pay_flexible"

# The quotes' frozen clock and registry of citizens, shared rather than copied.
frozen_time = quotes.frozen_time
registry = quotes.registry


@pytest.fixture(scope="session")
def pay_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("wechatpay")
    generate_demo_keys(directory)
    return directory


@pytest.fixture(scope="session")
def fake_pay_server(pay_keys_dir: Path) -> Iterator[FakeWeChatPay]:
    with FakeWeChatPay(pay_keys_dir) as fake:
        yield fake


@pytest.fixture
def fake_pay(fake_pay_server: FakeWeChatPay) -> FakeWeChatPay:
    fake_pay_server.reset()
    return fake_pay_server


@pytest.fixture
def app_overrides(pay_keys_dir: Path, fake_pay: FakeWeChatPay) -> dict[str, Any]:
    return {"pay_keys_dir": pay_keys_dir, "pay_api_base": fake_pay.base_url}


@pytest.fixture
def flexible(registry: Registry) -> int:
    """A 灵活就业 citizen in 深圳 who stopped paying after 2026-06: 2026-07 … 2026-10 are owed."""
    person = registry.person(region="440305", scheme="flexible", openid=FLEX_OPENID)
    registry.months(person, "2020-01", "2026-06")
    return person


def order_count(db: Database) -> int:
    with db.reading() as session:
        return len(session.execute(select(PayOrder.id)).all())


def reload(db: Database, order: PayOrder) -> PayOrder:
    with db.reading() as session:
        found = session.get(PayOrder, order.id)
        assert found is not None
        return found


def ordered_and_prepaid(app: Flask, db: Database, openid: str, person_id: int, item: str) -> tuple[PayOrder, str]:
    """An order with its prepay made, as after the citizen taps 微信支付; returns it and the prepay id."""
    with app.app_context():
        order = open_order(db, app, openid, person_id, item, state.clock(app).today())
        params = start_payment(db, app, openid, order.out_trade_no, state.clock(app).today())
    return reload(db, order), params["package"].removeprefix("prepay_id=")


def channel(app: Flask) -> Any:
    found = channel_named(app, "wechatpay")
    assert found is not None
    return found


def receipts(app: Flask, fake_wechat: Any, openid: str) -> list[Any]:
    """Receipts WeChat accepted for ``openid`` once the outbox has been drained (as its job would)."""
    from miniservice.outbox.sending import drain

    with app.app_context():
        drain()
    return [m for m in fake_wechat.sent_messages(openid) if "缴费成功" in str(m)]


@pytest.fixture(autouse=True)
def _app_context(app: Flask) -> Iterator[None]:
    """Service calls run inside the app, as in a request, the CLI or a job (the identity vault is the app's)."""
    with app.app_context():
        yield
