"""Handle each WeChat delivery: every effect exactly once, and reads without a write.

WeChat repeats a delivery up to three times when the reply is slow, and anyone holding a captured
request may repeat it too. What must not happen twice is an *effect*. So there are two kinds of route:

* A route that writes (关注, 开启提醒, 退订提醒 …) claims the delivery's unique ``dedupe_key`` with
  ``INSERT … ON CONFLICT DO NOTHING`` in the very transaction that runs its handler and stores its
  reply. A retry that arrives meanwhile waits on that key inside the database (PostgreSQL row lock,
  SQLite write lock), finds it taken and gets the stored reply: one effect, one reply. A handler's
  bug is recorded as a failed delivery whose polite reply the retries get; a failure of the database
  records nothing and answers 503, so WeChat's retry runs the action (:class:`DatabaseUnavailable`).
* A route that only reads (缴费记录, 补缴测算, 帮助 …) writes nothing: a repeat computes the same reply
  again, which changes nothing, and no reply is stored that anyone else could collect. The follower's
  ``last_seen_at`` (which opens WeChat's 48-hour customer-service window) is stamped in batches by
  :class:`SeenStamps`, one upsert a second per process instead of one write per tap
  (docs/performance.md: the write per tap was what kept the service behind its peers).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
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
from miniservice.wechat.models import Follower, InboundDelivery, TapCount
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


def handle(db: Database, router: Router, settings: Settings, message: Any, seen: SeenStamps) -> str:
    """The reply text for ``message`` ("" means answer ``success``); its effects happen at most once."""
    route = router.route_for(message)
    key = "" if route.reads_only else dedupe_key(message)  # only a delivery with an effect is keyed
    try:
        if route.reads_only:
            return _answer_reading(db, route, settings, message, seen)
        return _claim_then_answer(db, route, key, settings, message)
    except Exception as exc:
        if _database_fault(exc):  # recording it as failed would replay 系统繁忙 to WeChat's retries
            log.warning("%s: delivery not recorded, the database failed (%s)", route.name, type(exc).__name__)
            raise DatabaseUnavailable() from exc
        log.exception("handler %s failed (the delivery's key is not logged: it holds the openid)", route.name)
        return FAILURE_REPLY if route.reads_only else _record_failure(db, key, message, route.name)


def _answer_reading(db: Database, route: Route, settings: Settings, message: Any, seen: SeenStamps) -> str:
    """A read writes nothing on its way; the tap is counted (failed or not) in the next batch."""
    try:
        with db.reading() as session:
            reply = route.handler(Inbound(message, message.source, session, settings))
    except Exception:
        seen.note(db, message.source, now_utc(), failed=True)
        raise
    seen.note(db, message.source, now_utc())
    return reply


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


class SeenStamps:
    """The followers' ``last_seen_at`` and the taps per hour of read-only taps, written for many at once.

    Kept per process and written by the tap that finds the last write ``FLUSH_SECONDS`` old (and at
    exit); a crash loses at most that many seconds of stamps and counts, which only shortens a 48-hour
    window or a dashboard bar.
    """

    FLUSH_SECONDS = 1.0

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}
        self._taps: Counter[tuple[datetime, bool]] = Counter()
        self._lock = threading.Lock()
        self._flushed = time.monotonic()

    def note(self, db: Database, openid: str, at: datetime, failed: bool = False) -> None:
        with self._lock:
            self._seen[openid] = at
            self._taps[(at.replace(minute=0, second=0, microsecond=0), failed)] += 1
            due = time.monotonic() - self._flushed >= self.FLUSH_SECONDS
        if due:
            self.flush(db)

    def flush_at_exit(self, db: Database) -> None:
        try:
            self.flush(db)
        except Exception as exc:  # the process is ending: say what was lost, do not raise into atexit
            log.debug("follower stamps not written at exit (%s)", type(exc).__name__)

    def flush(self, db: Database) -> int:
        """Write what is pending; the number of followers stamped."""
        with self._lock:
            seen, self._seen = self._seen, {}
            taps, self._taps = self._taps, Counter()
            self._flushed = time.monotonic()
        if not seen:
            return 0
        hours: dict[datetime, tuple[int, int]] = {}
        for (hour, failed), count in taps.items():
            total, failures = hours.get(hour, (0, 0))
            hours[hour] = (total + count, failures + (count if failed else 0))
        with db.writing() as connection:
            statements = _statements(connection)
            connection.execute(statements.touch_follower, [_seen(openid, at) for openid, at in seen.items()])
            connection.execute(statements.count_taps, [{"tap_hour": hour, "tap_taps": total, "tap_failed": failures}
                                                       for hour, (total, failures) in hours.items()])
        return len(seen)


def _record(bind: Session | Connection, key: str, message: Any, handler: str, reply: str,
            failed: bool = False) -> bool:
    """Insert the delivery with its reply unless a retry's row is there already; touch the follower."""
    statements = _statements(bind)
    row = {**_delivery_row(key, message, handler), "reply": reply, "failed": failed}
    recorded = bind.execute(statements.record, row).rowcount == 1
    bind.execute(statements.touch_follower, _seen(row["openid"], row["received_at"]))
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
    """The parameters of the follower's upsert (not column names: the statement binds them twice)."""
    return {"seen_openid": openid, "seen_at": at}


class _Statements(NamedTuple):
    """Built once per dialect (``ON CONFLICT`` is a dialect's construct in SQLAlchemy): building them
    costs 0.32–0.36 ms of CPU, a tenth of a delivery with an effect (docs/performance.md)."""

    record: Executable
    touch_follower: Executable
    set_reply: Executable  # a claimed delivery's reply, once its handler has written it
    count_taps: Executable  # add a batch of read-only taps to their hour's counts


def _statements(bind: Session | Connection) -> _Statements:
    engine = bind if isinstance(bind, Connection) else bind.get_bind()
    return _statements_for(engine.dialect.name)


@cache
def _statements_for(dialect: str) -> _Statements:
    """The follower is created on first sight and ``last_seen_at`` stamped by one upsert (an insert, a
    select and an update were 15% of a callback's time)."""
    insert = dialect_insert(dialect)
    deliveries = InboundDelivery.__table__
    follower = insert(Follower.__table__).values(
        openid=bindparam("seen_openid"), subscribed=True, subscribed_at=bindparam("seen_at"),
        last_seen_at=bindparam("seen_at"), reminders_enabled=True)
    touch = follower.on_conflict_do_update(index_elements=["openid"],
                                           set_={"last_seen_at": follower.excluded.last_seen_at})
    record = insert(deliveries).on_conflict_do_nothing().execution_options(preserve_rowcount=True)
    set_reply = deliveries.update().where(deliveries.c.dedupe_key == bindparam("claimed_key")).values(
        reply=bindparam("final_reply"))
    counts = insert(TapCount.__table__).values(hour=bindparam("tap_hour"), taps=bindparam("tap_taps"),
                                               failed=bindparam("tap_failed"))
    count_taps = counts.on_conflict_do_update(index_elements=["hour"], set_={
        "taps": TapCount.__table__.c.taps + counts.excluded.taps,
        "failed": TapCount.__table__.c.failed + counts.excluded.failed})
    return _Statements(record, touch, set_reply, count_taps)


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
