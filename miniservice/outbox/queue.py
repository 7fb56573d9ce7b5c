"""Putting a message in the outbox, inside the caller's transaction (see :mod:`miniservice.outbox`)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from miniservice.clock import now_utc
from miniservice.db import insert_ignore
from miniservice.messages import text
from miniservice.outbox.models import OutboxMessage


def enqueue(session: Session, key: str, openid: str | None, template: str, **context: Any) -> bool:
    """Add the message ``key`` for ``openid``, composed from ``template``; False when there is no
    recipient or the key is already in the outbox (the cause was replayed)."""
    if not openid:
        return False
    now = now_utc()
    return insert_ignore(session, OutboxMessage, key=key, openid=openid, body=text(template, **context),
                         status="pending", attempts=0, next_attempt_at=now, created_at=now, last_error="")
