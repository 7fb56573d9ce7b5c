"""The outbox worker: claim one message, send it, record what WeChat said.

A message is claimed by one ``UPDATE … WHERE status='pending'`` (over ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), which also counts the attempt, so two workers never send the same row. WeChat is called
outside any transaction. What happens next depends on whether the message can have been shown:

* WeChat answered and took it: ``sent``.
* WeChat answered with an error: it was not shown. ``-1`` (busy), the quota codes and a token still
  refused after the client's refresh are retried with back-off (30 s doubling, at most an hour,
  :data:`MAX_ATTEMPTS` in all); anything else (``45015`` outside the 48-hour window, ``43004``
  unfollowed …) fails the message.
* The call never left (connection refused, connect timeout, the token store unreachable): retried.
* No answer came (read timeout, connection dropped): it may have been shown, and a customer-service
  message has no id WeChat could recognise a repeat by. It becomes ``uncertain`` for staff
  (admin dashboard) instead of being sent twice: a receipt shown twice reads as paying twice.

Logs name a message by its id and key (``receipt:12``), never by openid or text.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

import redis
import requests
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from urllib3.exceptions import NewConnectionError
from wechatpy.exceptions import WeChatClientException

from miniservice.clock import now_utc
from miniservice.db import Database, get_db, worker_id
from miniservice.outbox.models import OutboxMessage
from miniservice.wechat.client import get_client

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
BATCH = 200
TRANSIENT = frozenset({-1, 40001, 42001, 45009, 45011})
SEND_PATH = "message/custom/send"
EXPECTED = (WeChatClientException, requests.RequestException, redis.RedisError, SQLAlchemyError)


class Outcome(NamedTuple):
    status: str  # sent | retry | failed | uncertain
    errcode: int | None = None
    error: str = ""


class _Claimed(NamedTuple):
    id: int
    key: str
    openid: str
    body: str
    attempts: int


@dataclass
class DrainReport:
    """What one run did, by outcome; ``abandoned`` counts rows a stopped worker left in flight."""

    outcomes: Counter[str] = field(default_factory=Counter)
    abandoned: int = 0

    def __str__(self) -> str:
        done = ", ".join(f"{name} {self.outcomes[name]}" for name in ("sent", "retry", "failed", "uncertain"))
        return f"{done}; left in flight by a stopped worker: {self.abandoned}"


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def classify(exc: Exception) -> Outcome:
    """What an exception from the send means for the message (see the module's list)."""
    if isinstance(exc, WeChatClientException):
        status = "retry" if exc.errcode in TRANSIENT else "failed"
        return Outcome(status, exc.errcode, str(exc.errmsg or "")[:200])
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    request = getattr(exc, "request", None)
    never_left = (
        isinstance(exc, requests.ConnectTimeout | redis.RedisError | SQLAlchemyError)
        or isinstance(reason, NewConnectionError)
        or (request is not None and SEND_PATH not in (request.url or ""))  # the token fetch failed, not the send
    )
    return Outcome("retry" if never_left else "uncertain", None, type(exc).__name__)


def send_due(db: Database, client: Any, *, limit: int = BATCH, worker: str | None = None) -> DrainReport:
    """Send up to ``limit`` due messages, one claim at a time."""
    worker = worker or worker_id()
    report = DrainReport(abandoned=recover_abandoned(db))
    for _ in range(limit):
        claimed = _claim(db, worker)
        if claimed is None:
            break
        outcome = _send(client, claimed)
        report.outcomes[_record(db, claimed, outcome, worker)] += 1
    return report


def drain(limit: int = BATCH) -> DrainReport:
    """:func:`send_due` for the current app (the scheduler's job and the CLI)."""
    return send_due(get_db(), get_client(), limit=limit)


def _claim(db: Database, worker: str) -> _Claimed | None:
    """The oldest due message, claimed and its attempt counted. ``= (scalar subquery)``, not ``IN``:
    PostgreSQL may run an ``IN`` subquery with LIMIT more than once and so claim more than one row."""
    now = now_utc()
    candidate = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    with db.transaction() as session:
        row = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == candidate.scalar_subquery(), OutboxMessage.status == "pending")
            .values(status="sending", claimed_by=worker, lease_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id, OutboxMessage.key, OutboxMessage.openid, OutboxMessage.body,
                       OutboxMessage.attempts)
            .execution_options(synchronize_session=False)
        ).one_or_none()
    return None if row is None else _Claimed(*row)


def _send(client: Any, claimed: _Claimed) -> Outcome:
    try:
        client.message.send_text(claimed.openid, claimed.body)
    except Exception as exc:  # every failure is classified; none may stop the worker
        if not isinstance(exc, EXPECTED):
            log.exception("outbox message %s (%s): unexpected error while sending", claimed.id, claimed.key)
        return classify(exc)
    return Outcome("sent", 0, "ok")


def _record(db: Database, claimed: _Claimed, outcome: Outcome, worker: str) -> str:
    now = now_utc()
    status = outcome.status
    if status == "retry" and claimed.attempts >= MAX_ATTEMPTS:
        status = "failed"
    values: dict[str, Any] = {"status": status, "claimed_by": None, "lease_until": None,
                              "last_errcode": outcome.errcode, "last_error": outcome.error[:200]}
    if status == "retry":
        values |= {"status": "pending", "next_attempt_at": now + retry_delay(claimed.attempts)}
    else:
        values["finished_at"] = now
    if status != "sent":
        log.warning("outbox message %s (%s) attempt %s: %s (errcode %s, %s)", claimed.id, claimed.key,
                    claimed.attempts, status, outcome.errcode, outcome.error)
    with db.transaction() as session:
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.id == claimed.id, OutboxMessage.claimed_by == worker)
                        .values(**values))
    return status


def recover_abandoned(db: Database) -> int:
    """Rows left ``sending`` past their lease: the call may have reached WeChat, so ``uncertain``."""
    now = now_utc()
    with db.transaction() as session:
        count = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending", OutboxMessage.lease_until < now)
            .values(status="uncertain", claimed_by=None, lease_until=None, finished_at=now,
                    last_error="worker stopped while sending")
        ).rowcount
    if count:
        log.warning("outbox: %s messages left in flight by a stopped worker marked uncertain", count)
    return count


def status_counts(db: Database) -> dict[str, int]:
    """How many messages are in each status (the CLI's and the dashboard's figures)."""
    with db.reading() as session:
        rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {status: count for status, count in rows}
