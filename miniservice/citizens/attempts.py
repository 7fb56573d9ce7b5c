"""Limits on binding guesses: at most 5 failed attempts an hour per WeChat user and per ID number.

An attempt is *reserved* before the registry is consulted and counted with the reservation, so two
concurrent guesses cannot both slip under the limit: each sees the other's reservation. A
reservation that turns out right is released (successes do not count); a wrong one stays as a
failure. Every attempt is a :class:`BindingAttempt` row (the durable record, shared by all workers
through the database); with ``settings.redis_url`` each is also a member of two Redis sorted sets,
counted atomically, and a request is refused when either store says the limit is reached. A failed
attempt and a refused one are also audit rows (WeChat user only: the ID number is never written). Redis
failing (down, unreachable, dropping the connection mid-way) leaves the database's count, which is
always kept: the limit holds, and no attempt row is left ``pending``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from flask import current_app
from sqlalchemy import ColumnElement, delete, select
from sqlmodel import Session

from miniservice import audit
from miniservice.citizens.models import BindingAttempt
from miniservice.db import Database
from miniservice.redis_store import REDIS_ERRORS

log = logging.getLogger(__name__)

LIMIT = 5
WINDOW = timedelta(hours=1)
_PREFIX = "miniservice:binding-attempts"


@dataclass(frozen=True)
class Reservation:
    """One attempt in flight: its row and, with Redis, its member in the two sets."""

    attempt_id: int
    member: str
    keys: tuple[str, ...]


class TooManyAttempts(Exception):
    """The limit is reached; ``retry_at`` (UTC) is when the oldest counted attempt leaves the window."""

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(retry_at.isoformat())
        self.retry_at = retry_at


class AttemptLimiter:
    def __init__(self, db: Database, redis_client: redis.Redis | None = None) -> None:
        self.db = db
        self.redis = redis_client

    def reserve(self, openid: str, id_hash: str, now: datetime) -> Reservation:
        """Count this attempt; raises :class:`TooManyAttempts` (and counts nothing) over the limit."""
        with self.db.transaction() as session:
            attempt = BindingAttempt(openid=openid, id_number_hash=id_hash, at=now, reason="pending")
            session.add(attempt)
            session.flush()
            assert attempt.id is not None
        keys = (f"{_PREFIX}:openid:{openid}", f"{_PREFIX}:id:{id_hash}")
        reservation = Reservation(attempt.id, f"{attempt.id}:{secrets.token_hex(4)}", keys)
        try:
            with self.db.reading() as session:
                others = [self._times(session, condition, now, reservation.attempt_id)
                          for condition in (BindingAttempt.openid == openid, BindingAttempt.id_number_hash == id_hash)]
            others += self._redis_times(reservation, now)
        except BaseException:
            self.release(reservation)
            raise
        full = [times[LIMIT - 1] + WINDOW for times in others if len(times) >= LIMIT]
        if full:
            self.release(reservation)
            with self.db.transaction() as session:
                audit.record(session, f"wechat:{openid}", "binding.attempt_refused", retry_at=max(full).isoformat())
            raise TooManyAttempts(max(full))
        return reservation

    def fail(self, reservation: Reservation, reason: str, now: datetime) -> int:
        """Keep the attempt as a failure; returns how many attempts are left in the window."""
        with self.db.transaction() as session:
            attempt = session.get(BindingAttempt, reservation.attempt_id)
            assert attempt is not None
            attempt.reason = reason
            used = max(len(self._times(session, condition, now, None)) for condition in (
                BindingAttempt.openid == attempt.openid, BindingAttempt.id_number_hash == attempt.id_number_hash))
            audit.record(session, f"wechat:{attempt.openid}", "binding.attempt_failed", reason=reason,
                         remaining=max(LIMIT - used, 0))
        return max(LIMIT - used, 0)

    def release(self, reservation: Reservation) -> None:
        """Forget the attempt: it was right, or it was refused before being tried."""
        with self.db.transaction() as session:
            session.execute(delete(BindingAttempt).where(BindingAttempt.id == reservation.attempt_id))
        if self.redis is None:
            return
        try:
            with self.redis.pipeline() as pipe:
                for key in reservation.keys:
                    pipe.zrem(key, reservation.member)
                pipe.execute()
        except REDIS_ERRORS as exc:  # Redis's copy expires within the hour; the database's is gone
            log.warning("binding attempt not removed from Redis: %s", type(exc).__name__)

    @staticmethod
    def _times(session: Session, condition: ColumnElement[bool], now: datetime, exclude: int | None) -> list[datetime]:
        """Times of the attempts in the window matching ``condition``, newest first."""
        statement = select(BindingAttempt.at).where(condition, BindingAttempt.at > now - WINDOW)
        if exclude is not None:
            statement = statement.where(BindingAttempt.id != exclude)
        return list(session.execute(statement.order_by(BindingAttempt.at.desc())).scalars())

    def _redis_times(self, reservation: Reservation, now: datetime) -> list[list[datetime]]:
        """Add the attempt to both sets and read them back, one MULTI/EXEC for all of it."""
        if self.redis is None:
            return []
        score = now.timestamp()
        try:
            with self.redis.pipeline() as pipe:
                for key in reservation.keys:
                    pipe.zremrangebyscore(key, "-inf", score - WINDOW.total_seconds())
                    pipe.zadd(key, {reservation.member: score})
                    pipe.expire(key, int(WINDOW.total_seconds()) + 60)
                    pipe.zrange(key, 0, -1, withscores=True)
                results = pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("binding attempts counted in the database only, Redis failed: %s", type(exc).__name__)
            return []
        return [
            sorted((datetime.fromtimestamp(at, tz=UTC) for member, at in members
                    if member.decode() != reservation.member), reverse=True)
            for members in results[3::4]
        ]


LIMITER_KEY = "miniservice.binding_limiter"


def get_limiter() -> AttemptLimiter:
    """The app's limiter (created by the app factory); with ``settings.redis_url`` it also counts in Redis."""
    return current_app.extensions[LIMITER_KEY]
