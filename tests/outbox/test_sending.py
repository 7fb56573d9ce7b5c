"""The outbox: written with its cause, sent once by the worker, retried only when WeChat said no."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from miniservice.clock import now_utc
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.outbox import enqueue
from miniservice.outbox.models import OutboxMessage
from miniservice.outbox.sending import MAX_ATTEMPTS, send_due, status_counts
from miniservice.wechat.client import build_client


@pytest.fixture
def ctx(app: Flask) -> Flask:
    with app.app_context():
        yield app


def _put(db: Database, key: str, openid: str = "o-reader") -> bool:
    with db.transaction() as session:
        return enqueue(session, key, openid, "family_revoked.txt", by="钱*刚")


def _rows(db: Database) -> list[OutboxMessage]:
    with db.reading() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def _client(app: Flask, db: Database, timeout: float = 5.0) -> object:
    return build_client(app.extensions["miniservice.settings"], db, timeout=timeout)


def _due_now(db: Database) -> None:
    """Let the back-off pass (the worker compares with the database's ``next_attempt_at``)."""
    with db.transaction() as session:
        session.execute(update(OutboxMessage).values(next_attempt_at=now_utc() - timedelta(seconds=1)))


def test_a_message_is_written_with_its_cause_or_not_at_all(ctx: Flask, db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as session:
        enqueue(session, "receipt:1", "o-reader", "family_revoked.txt", by="钱*刚")
        raise RuntimeError("the cause failed")
    assert _rows(db) == []
    assert _put(db, "receipt:1") and not _put(db, "receipt:1")  # a replayed cause adds nothing
    with db.transaction() as session:
        assert enqueue(session, "receipt:2", None, "family_revoked.txt", by="钱*刚") is False  # nobody to tell
    assert [(row.key, row.status) for row in _rows(db)] == [("receipt:1", "pending")]


def test_the_worker_sends_each_message_once(ctx: Flask, db: Database, fake_wechat: FakeWeChat) -> None:
    fake_wechat.add_follower("o-reader")
    for n in range(3):
        _put(db, f"receipt:{n}")
    report = send_due(db, _client(ctx, db))
    assert report.outcomes["sent"] == 3
    assert send_due(db, _client(ctx, db)).outcomes == {}
    assert len(fake_wechat.sent_messages("o-reader")) == 3
    assert "钱*刚" in fake_wechat.sent_messages("o-reader")[0].body["text"]["content"]
    assert {row.status for row in _rows(db)} == {"sent"}


def test_two_workers_at_once_split_the_work(ctx: Flask, db: Database, fake_wechat: FakeWeChat) -> None:
    fake_wechat.add_follower("o-reader")
    fake_wechat.delay("message/custom/send", 0.05, times=None)
    for n in range(12):
        _put(db, f"receipt:{n}")
    threads = [threading.Thread(target=send_due, args=(db, _client(ctx, db))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    texts = [m.body["text"]["content"] for m in fake_wechat.sent_messages("o-reader")]
    assert len(texts) == 12
    assert status_counts(db) == {"sent": 12}


def test_a_busy_wechat_is_retried_after_a_back_off(ctx: Flask, db: Database, fake_wechat: FakeWeChat) -> None:
    fake_wechat.add_follower("o-reader")
    fake_wechat.inject("message/custom/send", -1)
    _put(db, "receipt:1")
    assert send_due(db, _client(ctx, db)).outcomes["retry"] == 1
    [row] = _rows(db)
    assert (row.status, row.attempts, row.last_errcode) == ("pending", 1, -1)
    assert row.next_attempt_at > now_utc()
    assert send_due(db, _client(ctx, db)).outcomes == {}  # not before the back-off
    _due_now(db)
    assert send_due(db, _client(ctx, db)).outcomes["sent"] == 1
    assert len(fake_wechat.sent_messages("o-reader")) == 1


def test_retries_are_bounded(ctx: Flask, db: Database, fake_wechat: FakeWeChat) -> None:
    fake_wechat.add_follower("o-reader")
    fake_wechat.inject("message/custom/send", -1, times=None)
    _put(db, "receipt:1")
    for _ in range(MAX_ATTEMPTS):
        send_due(db, _client(ctx, db))
        _due_now(db)
    [row] = _rows(db)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)


def test_a_refusal_for_good_is_not_retried_and_the_log_names_no_one(
    ctx: Flask, db: Database, fake_wechat: FakeWeChat, caplog: pytest.LogCaptureFixture
) -> None:
    fake_wechat.add_follower("o-reader")
    fake_wechat.inject("message/custom/send", 45015)  # outside the 48-hour window
    _put(db, "receipt:1")
    with caplog.at_level(logging.INFO):
        assert send_due(db, _client(ctx, db)).outcomes["failed"] == 1
    [row] = _rows(db)
    assert (row.status, row.last_errcode) == ("failed", 45015)
    assert "receipt:1" in caplog.text and "45015" in caplog.text and "o-reader" not in caplog.text


def test_a_send_without_an_answer_is_left_uncertain_not_repeated(
    ctx: Flask, db: Database, fake_wechat: FakeWeChat
) -> None:
    fake_wechat.add_follower("o-reader")
    fake_wechat.delay("message/custom/send", 1.5)  # WeChat takes it, but answers after the client gave up
    _put(db, "receipt:1")
    client = _client(ctx, db, timeout=0.5)
    client.access_token  # noqa: B018 - fetch the token first, so only the message call times out
    assert send_due(db, client).outcomes["uncertain"] == 1
    _due_now(db)
    assert send_due(db, _client(ctx, db)).outcomes == {}
    [row] = _rows(db)
    assert (row.status, row.attempts, row.last_error) == ("uncertain", 1, "ReadTimeout")


def test_a_call_that_never_left_is_retried(ctx: Flask, db: Database, fake_wechat: FakeWeChat) -> None:
    fake_wechat.add_follower("o-reader")
    _put(db, "receipt:1")
    settings = ctx.extensions["miniservice.settings"].with_overrides({"wechat_api_base": "http://127.0.0.1:1/"})
    assert send_due(db, build_client(settings, db, timeout=1)).outcomes["retry"] == 1
    _due_now(db)
    assert send_due(db, _client(ctx, db)).outcomes["sent"] == 1
    assert len(fake_wechat.sent_messages("o-reader")) == 1


def test_a_message_left_in_flight_by_a_stopped_worker_becomes_uncertain(
    ctx: Flask, db: Database, fake_wechat: FakeWeChat
) -> None:
    _put(db, "receipt:1")
    with db.transaction() as session:  # a worker claimed it, then died before recording an answer
        session.execute(update(OutboxMessage).values(status="sending", attempts=1, claimed_by="gone",
                                                     lease_until=now_utc() - timedelta(seconds=1)))
    report = send_due(db, _client(ctx, db))
    assert report.abandoned == 1
    assert status_counts(db) == {"uncertain": 1}
    assert fake_wechat.sent_messages() == []


def test_a_token_fetch_without_an_answer_is_retried_the_message_never_left(
    ctx: Flask, db: Database, fake_wechat: FakeWeChat
) -> None:
    fake_wechat.add_follower("o-reader")
    fake_wechat.delay("cgi-bin/token", 1.5)
    _put(db, "receipt:1")
    assert send_due(db, _client(ctx, db, timeout=0.5)).outcomes["retry"] == 1
    _due_now(db)
    assert send_due(db, _client(ctx, db)).outcomes["sent"] == 1
    assert len(fake_wechat.sent_messages("o-reader")) == 1
