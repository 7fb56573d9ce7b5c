"""Finding 4: Redis is optional, so Redis failing changes nothing a citizen sees.

Two ways it fails: nothing listens at ``REDIS_URL`` (a stopped server), or a server accepts the
connection and drops it at the first command (a crash or a proxy giving up mid-way). Either way
binding still works and still limits guesses (the database's count), no attempt row is left
``pending``, a family payment answers with its result, and the outbox still sends (the access
token's store falls back to the database)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from miniservice.citizens import binding as binding_service
from miniservice.citizens.binding import BindingRefused, BindRequest, bind
from miniservice.citizens.models import BindingAttempt
from miniservice.citizens.privacy import PRIVACY_VERSION
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.outbox.sending import status_counts
from miniservice.redis_store import redis_client
from miniservice.reminders.rate import RedisTokenBucket
from tests.citizens.conftest import ALICE, bind_form, sign_in
from tests.citizens.conftest import registry as citizens  # noqa: F401 - Alice and Bob in the registry
from tests.conftest import send_outbox
from tests.family.conftest import (  # noqa: F401 - fixtures of the family package, used here
    Family,
    add_relative,
    family,
    forms,
    frozen_time,
    policies,
    registry,
    rules,
    signed_in,
)

UNREACHABLE = "redis://127.0.0.1:1/0"


class DroppingRedis:
    """A TCP server that accepts a connection, reads the first command and closes the socket."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def dropping_redis() -> Iterator[DroppingRedis]:
    server = DroppingRedis()
    yield server
    server.close()


@pytest.fixture(params=["unreachable", "drops-after-connect"])
def broken_redis(request: pytest.FixtureRequest) -> str:
    if request.param == "unreachable":
        return UNREACHABLE
    return request.getfixturevalue("dropping_redis").url


@pytest.fixture
def app_overrides(broken_redis: str) -> dict[str, Any]:
    return {"redis_url": broken_redis}


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


def _pending(db: Database) -> int:
    with db.reading() as session:
        return len(session.execute(select(BindingAttempt).where(BindingAttempt.reason == "pending")).all())


WRONG = BindRequest(ALICE["name"], ALICE["id_number"], "card", "SZ9999999999", PRIVACY_VERSION)
RIGHT = BindRequest(ALICE["name"], ALICE["id_number"], "card", ALICE["card"], PRIVACY_VERSION)


def test_binding_works_and_leaves_nothing_pending(ctx: Flask, db: Database, citizens: Any) -> None:  # noqa: F811
    client = ctx.test_client()
    sign_in(client, "o-alice")
    response = bind_form(client, name=ALICE["name"], id_number=ALICE["id_number"], factor_value=ALICE["card"])
    assert response.status_code == 302 and response.headers["Location"].endswith("done=bound")
    assert _pending(db) == 0


def test_the_guess_limit_holds_in_the_database(ctx: Flask, db: Database, citizens: Any) -> None:  # noqa: F811
    for _ in range(5):
        with pytest.raises(BindingRefused) as refused:
            bind(db, "o-mallory", WRONG)
        assert refused.value.code == "mismatch"
    with pytest.raises(BindingRefused) as blocked:
        bind(db, "o-mallory", RIGHT)
    assert blocked.value.code == "blocked"
    assert _pending(db) == 0


def test_an_attempt_interrupted_by_a_failure_is_not_left_pending(
    ctx: Flask, db: Database, citizens: Any, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    def database_gone(*_: Any) -> None:
        raise OperationalError("SELECT person", {}, Exception("server closed the connection"))

    monkeypatch.setattr(binding_service, "_matching_person", database_gone)
    with pytest.raises(OperationalError):
        bind(db, "o-alice", RIGHT)
    assert _pending(db) == 0
    with db.reading() as session:
        assert session.execute(select(BindingAttempt)).all() == []  # an untried attempt counts nothing


def test_a_family_payment_answers_its_result_and_the_receipt_goes_out(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Any,  # noqa: F811
) -> None:
    holder = signed_in(app, "o-holder")
    assert add_relative(holder, family.mother, "parent", attested=True).status_code == 200
    page = holder.get("/h5/family").get_data(as_text=True)
    [form] = [f["fields"] | {"confirmed": "yes"} for f in forms(page, "/h5/family/pay")]
    response = holder.post("/h5/family/pay", data=form)
    assert response.status_code == 200 and "缴费成功" in response.get_data(as_text=True)
    assert registry.balance(family.holder) == Decimal("4600.00")
    send_outbox(app)
    assert status_counts(db) == {"sent": 1}
    [receipt] = fake_wechat.sent_messages("o-holder")
    assert "4,600.00 元" in receipt.body["text"]["content"]


def test_the_reminder_rate_is_kept_in_process(broken_redis: str) -> None:
    naps: list[float] = []
    bucket = RedisTokenBucket(redis_client(broken_redis), "miniservice:test:rate", rate=10, sleep=naps.append)
    for _ in range(3):
        bucket.acquire()
    assert len(naps) >= 2 and all(0 < nap <= 0.1 for nap in naps)
