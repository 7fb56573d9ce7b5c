"""Handle each WeChat delivery exactly once.

WeChat retries a delivery three times when the reply is slow. The delivery row, the handler's
effects and the reply commit in one transaction keyed by a unique ``dedupe_key``, claimed before the
handler runs: a retry that arrives while the first is running waits on that key inside the database
(PostgreSQL row lock, SQLite write lock), then finds it taken (its ``INSERT … ON CONFLICT DO
NOTHING`` inserts nothing) and returns the stored reply, with no second effect.

Most taps only read (缴费记录, 补缴测算, 帮助): for those routes (``reads_only``) the reply is
computed in a read session first and the delivery is then recorded with its reply by one
``INSERT … ON CONFLICT DO NOTHING``. A retry may compute the same reply twice but stores nothing
twice and answers with the stored reply; the write lock is held for one insert instead of for the
whole handler, which on SQLite is what let other deliveries through (docs/performance.md).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, Executable, bindparam, select
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session
from werkzeug.exceptions import ServiceUnavailable

from miniservice.clock import now_utc
from miniservice.config import Settings
from miniservice.db import Database, dialect_insert
from miniservice.wechat.models import Follower, InboundDelivery
from miniservice.wechat.router import Inbound, Route, Router

log = logging.getLogger(__name__)

FAILURE_REPLY = "系统繁忙，请稍后再试。如需帮助请拨打 12393。"


# A stored reply serves only WeChat's retries of the same delivery (three, within about 15 s); after
# this it is never sent again, and the housekeeping job blanks it (it may hold a balance).
REPLY_SERVES_SECONDS = 60


class DatabaseUnavailable(ServiceUnavailable):
    """503 for WeChat: the database failed, nothing was recorded, and WeChat's retry runs it again."""


def _database_fault(exc: BaseException) -> bool:
    """A failure of the database or its connection (not of the handler): worth a retry."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def dedupe_key(message: Any) -> str:
    """Sender + MsgId for messages (a MsgId alone is not secret: another openid must never collect
    this delivery's reply); for events (whose id is 0) sender + time + event + key, as WeChat advises."""
    if message.type != "event" and message.id:
        return f"msg:{message.source}:{message.id}"
    created = int(message.create_time.timestamp())
    key = getattr(message, "key", None) or getattr(message, "url", None) or ""
    return f"evt:{message.source}:{created}:{getattr(message, 'event', '')}:{key}"[:200]


def handle(db: Database, router: Router, settings: Settings, message: Any) -> str:
    """The reply text for ``message`` ("" means answer ``success``); its effects happen at most once."""
    key = dedupe_key(message)
    route = router.route_for(message)
    try:
        if route.reads_only:
            return _answer_then_record(db, route, key, settings, message)
        return _claim_then_answer(db, route, key, settings, message)
    except Exception as exc:
        if _database_fault(exc):  # recording it as failed would replay 系统繁忙 to WeChat's retries
            log.warning("%s: delivery not recorded, the database failed (%s)", route.name, type(exc).__name__)
            raise DatabaseUnavailable() from exc
        log.exception("handler %s failed for delivery %s", route.name, key)
        return _record_failure(db, key, message, route.name)


def _claim_then_answer(db: Database, route: Route, key: str, settings: Settings, message: Any) -> str:
    """A handler that writes runs only after its delivery's key is claimed, in the same transaction."""
    with db.transaction() as session:
        if _record(session, key, message, route.name, ""):
            reply = route.handler(Inbound(message, message.source, session, settings))
            session.execute(_statements(session).set_reply, {"claimed_key": key, "final_reply": reply})
            return reply
    stored = _stored_reply(db, key, message.source)  # a retry's: the first delivery has committed by now
    if stored is None:
        raise LookupError(f"delivery {key} was claimed but its reply never became visible")
    return stored


def _answer_then_record(db: Database, route: Route, key: str, settings: Settings, message: Any) -> str:
    """SQLite has one write lock, so the reply is computed before taking it; PostgreSQL locks only the
    rows written, so there one transaction (one connection, one BEGIN and COMMIT) does both."""
    if db.is_sqlite:
        with db.reading() as session:
            reply = route.handler(Inbound(message, message.source, session, settings))
        with db.writing() as connection:
            recorded = _record(connection, key, message, route.name, reply)
    else:
        with db.transaction() as session:
            reply = route.handler(Inbound(message, message.source, session, settings))
            recorded = _record(session, key, message, route.name, reply)
    if recorded:
        return reply
    stored = _stored_reply(db, key, message.source)
    return reply if stored is None else stored


def _record(bind: Session | Connection, key: str, message: Any, handler: str, reply: str,
            failed: bool = False) -> bool:
    """Insert the delivery with its reply unless a retry's row is there already; touch the follower."""
    statements = _statements(bind)
    row = {**_delivery_row(key, message, handler), "reply": reply, "failed": failed}
    seen = _seen(row["openid"], row["received_at"])
    if statements.record_touches_follower:
        return bind.execute(statements.record, {**row, **seen}).rowcount == 1
    recorded = bind.execute(statements.record, row).rowcount == 1
    bind.execute(statements.touch_follower, seen)
    return recorded


def _delivery_row(key: str, message: Any, handler: str) -> dict[str, Any]:
    return {
        "dedupe_key": key,
        "openid": message.source,
        "msg_type": message.type,
        "event": getattr(message, "event", None),
        "event_key": getattr(message, "key", None) or getattr(message, "url", None),
        "received_at": now_utc(),
        "handler": handler,
    }


def _seen(openid: str, at: datetime) -> dict[str, Any]:
    """The parameters of the follower's upsert (``seen_openid``, ``seen_at``: not column names, so
    the same statement can ride in the delivery's INSERT as a CTE)."""
    return {"seen_openid": openid, "seen_at": at}


class _Statements(NamedTuple):
    """Built once per dialect: building them per delivery was a tenth of a read-only delivery's time."""

    record: Executable
    touch_follower: Executable
    record_touches_follower: bool  # ``record`` also stamps the follower (PostgreSQL)
    set_reply: Executable  # a claimed delivery's reply, once its handler has written it


def _statements(bind: Session | Connection) -> _Statements:
    engine = bind if isinstance(bind, Connection) else bind.get_bind()
    return _statements_for(engine.dialect.name)


@cache
def _statements_for(dialect: str) -> _Statements:
    """On PostgreSQL the follower's upsert rides in the delivery's INSERT as a data-modifying CTE: one
    round trip instead of two, 3.46 -> 2.99 ms of a worker's CPU per delivery (docs/performance.md).
    The follower is created on first sight and ``last_seen_at`` stamped by one upsert on every
    delivery (an insert, a select and an update were 15% of a callback's time)."""
    insert = dialect_insert(dialect)
    deliveries = InboundDelivery.__table__
    follower = insert(Follower.__table__).values(
        openid=bindparam("seen_openid"), subscribed=True, subscribed_at=bindparam("seen_at"),
        last_seen_at=bindparam("seen_at"), reminders_enabled=True)
    touch = follower.on_conflict_do_update(index_elements=["openid"],
                                           set_={"last_seen_at": follower.excluded.last_seen_at})
    record = insert(deliveries).on_conflict_do_nothing()
    together = dialect == "postgresql"
    if together:
        record = record.add_cte(touch.cte("touched"))
    set_reply = deliveries.update().where(deliveries.c.dedupe_key == bindparam("claimed_key")).values(
        reply=bindparam("final_reply"))
    return _Statements(record.execution_options(preserve_rowcount=True), touch, together, set_reply)


def _stored_reply(db: Database, key: str, openid: str, wait_seconds: float = 3.0) -> str | None:
    """The reply stored for a retry of ``key`` from ``openid``; "" (answer ``success``) once it no longer
    serves retries; None when the first delivery's row never became visible."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with db.reading() as session:
            row = session.execute(
                select(InboundDelivery.reply, InboundDelivery.received_at)
                .where(InboundDelivery.dedupe_key == key, InboundDelivery.openid == openid)
            ).one_or_none()
        if row is not None:
            reply, received_at = row
            return reply if now_utc() - received_at <= timedelta(seconds=REPLY_SERVES_SECONDS) else ""
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def forget_replies_before(db: Database, now: datetime) -> int:
    """Blank the replies that no longer serve retries: they may hold a citizen's balance or records."""
    cutoff = now - timedelta(seconds=REPLY_SERVES_SECONDS)
    table = InboundDelivery.__table__
    with db.writing() as connection:
        return connection.execute(
            table.update().where(table.c.received_at < cutoff, table.c.reply != "").values(reply="")
        ).rowcount


def _record_failure(db: Database, key: str, message: Any, handler: str) -> str:
    """A failed handler (a bug, not the database) leaves no effects; the delivery is kept, marked
    failed, with a polite reply that WeChat's retries get too."""
    with db.writing() as connection:
        recorded = _record(connection, key, message, handler, FAILURE_REPLY, failed=True)
    return FAILURE_REPLY if recorded else _stored_reply(db, key, message.source) or FAILURE_REPLY
