"""The access token, shared by every process of the service.

Each fetch of ``cgi-bin/token`` invalidates the previous token after a short overlap, so processes
that each fetch their own knock each other out (the 40001 storms in WeRoBot#282, wechatpy#334).
Here exactly one process refreshes at a time, under a lock in Redis or in the database; the others
wait for the lock and then read what the winner stored. When Redis fails, the database takes over
(:class:`FallbackTokenStore`): sending a message must not depend on the optional store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import redis
from sqlalchemy import select, update

from miniservice.clock import now_utc
from miniservice.db import Database, insert_ignore
from miniservice.redis_store import REDIS_ERRORS
from miniservice.wechat.models import ApiToken

log = logging.getLogger(__name__)

# A token this close to expiry is refreshed rather than used.
EXPIRY_MARGIN = timedelta(seconds=120)

Fetch = Callable[[], tuple[str, int]]  # returns (token, expires_in seconds)


class TokenStore(Protocol):
    def current(self) -> str | None:
        """The stored token if it is still fresh, else None."""

    def refresh(self, fetch: Fetch, stale: str | None) -> str:
        """Fetch a new token unless another process already replaced ``stale``."""


def _fresh(token: str | None, expires_at: datetime | None) -> str | None:
    if token and expires_at and expires_at - now_utc() > EXPIRY_MARGIN:
        return token
    return None


class DatabaseTokenStore:
    """Row ``api_token[app_id]``; the row lock (SQLite: the write lock) serialises refreshers."""

    def __init__(self, db: Database, app_id: str) -> None:
        self.db = db
        self.app_id = app_id

    def current(self) -> str | None:
        with self.db.reading() as session:
            row = session.get(ApiToken, self.app_id)
            return _fresh(row.token, row.expires_at) if row else None

    def refresh(self, fetch: Fetch, stale: str | None) -> str:
        with self.db.transaction() as session:
            insert_ignore(session, ApiToken, app_id=self.app_id)
            # Taking a write lock first means a second refresher waits here until the first commits.
            session.execute(
                update(ApiToken).where(ApiToken.app_id == self.app_id).values(refreshed_at=now_utc())
            )
            row = session.execute(
                select(ApiToken).where(ApiToken.app_id == self.app_id).with_for_update()
            ).scalar_one()
            fresh = _fresh(row.token, row.expires_at)
            if fresh and fresh != stale:
                return fresh
            token, expires_in = fetch()
            row.token = token
            row.expires_at = now_utc() + timedelta(seconds=expires_in)
            return token


class RedisTokenStore:
    """Key ``miniservice:token:<appid>`` with a Redis lock around refreshes."""

    def __init__(self, client: redis.Redis, app_id: str) -> None:
        self.redis = client
        self.key = f"miniservice:token:{app_id}"

    def current(self) -> str | None:
        value = self.redis.get(self.key)
        return value.decode() if value else None

    def refresh(self, fetch: Fetch, stale: str | None) -> str:
        with self.redis.lock(self.key + ":lock", timeout=30, blocking_timeout=30):
            existing = self.current()
            if existing and existing != stale:
                return existing
            token, expires_in = fetch()
            ttl = max(int(expires_in - EXPIRY_MARGIN.total_seconds()), 1)
            self.redis.set(self.key, token, ex=ttl)
            return token


class FallbackTokenStore:
    """Redis's store while Redis answers, the database's when it fails (down, unreachable, mid-way).

    A switch may cost one extra refresh (each store serialises its own refreshers); WeChat keeps the
    previous token valid for a few minutes after a refresh, so calls in flight still succeed.
    """

    def __init__(self, primary: RedisTokenStore, fallback: DatabaseTokenStore) -> None:
        self.primary = primary
        self.fallback = fallback

    def current(self) -> str | None:
        try:
            return self.primary.current()
        except REDIS_ERRORS as exc:
            log.warning("access token read from the database, Redis failed: %s", type(exc).__name__)
            return self.fallback.current()

    def refresh(self, fetch: Fetch, stale: str | None) -> str:
        try:
            return self.primary.refresh(fetch, stale)
        except REDIS_ERRORS as exc:
            log.warning("access token refreshed through the database, Redis failed: %s", type(exc).__name__)
            return self.fallback.refresh(fetch, stale)
