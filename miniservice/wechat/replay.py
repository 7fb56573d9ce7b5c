"""A signed callback URL is good for one body, for five minutes.

WeChat's URL signature covers the token, the timestamp and the nonce, never the body. A URL copied
from an access log would otherwise carry any body its holder likes, in the name of any openid. So a
delivery is accepted only while its timestamp is within ``WINDOW_SECONDS`` of our clock, and only if
its (timestamp, nonce) pair is new — or comes again with the very same body, which is WeChat's own
retry. Pairs are remembered for twice the window (a timestamp can be up to one window ahead of us):
in Redis with ``SET NX EX`` when ``REDIS_URL`` is set, and in the database, under the pair as a
primary key, when it is not or when Redis fails (Redis is optional, never a single point of failure).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

import redis
from sqlalchemy import delete, select

from miniservice.db import Database, dialect_insert
from miniservice.redis_store import REDIS_ERRORS
from miniservice.wechat.models import CallbackNonce

log = logging.getLogger(__name__)

WINDOW_SECONDS = 300
REMEMBER_SECONDS = 2 * WINDOW_SECONDS
MAX_NONCE_LENGTH = 64


def timestamp_is_fresh(timestamp: str, now: datetime) -> bool:
    """Digits only, and within the window either side of ``now`` (clocks drift both ways)."""
    if not timestamp.isdigit() or len(timestamp) > 12:
        return False
    return abs(int(timestamp) - now.timestamp()) <= WINDOW_SECONDS


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class NonceBook:
    """Remembers which body each (timestamp, nonce) pair was first used with."""

    def __init__(self, db: Database, redis_client: redis.Redis | None = None, app_id: str = "") -> None:
        self.db = db
        self.redis = redis_client
        self.prefix = f"miniservice:wechat:nonce:{app_id}:"

    def admits(self, timestamp: str, nonce: str, digest: str, now: datetime) -> bool:
        """True for the pair's first use, and for a repeat of the same body; False for another body."""
        pair = f"{timestamp}:{nonce}"
        if self.redis is not None:
            try:
                return self._admits_in_redis(pair, digest)
            except REDIS_ERRORS:
                log.warning("Redis failed while checking a callback nonce: using the database")
        return self._admits_in_database(pair, digest, now)

    def _admits_in_redis(self, pair: str, digest: str) -> bool:
        key = self.prefix + pair
        if self.redis.set(key, digest, nx=True, ex=REMEMBER_SECONDS):
            return True
        first = self.redis.get(key)
        return first is not None and first.decode() == digest

    def _admits_in_database(self, pair: str, digest: str, now: datetime) -> bool:
        table = CallbackNonce.__table__
        with self.db.writing() as connection:
            insert = dialect_insert(connection.dialect.name)(table).values(pair=pair, digest=digest, seen_at=now)
            claim = insert.on_conflict_do_nothing().execution_options(preserve_rowcount=True)
            if connection.execute(claim).rowcount == 1:
                return True
            first = connection.execute(select(table.c.digest).where(table.c.pair == pair)).scalar_one_or_none()
        return first == digest

    def forget_before(self, now: datetime) -> int:
        """Drop the database's pairs older than the remembering time (the scheduler's housekeeping)."""
        cutoff = now - timedelta(seconds=REMEMBER_SECONDS)
        with self.db.writing() as connection:
            return connection.execute(delete(CallbackNonce.__table__).where(CallbackNonce.seen_at < cutoff)).rowcount
