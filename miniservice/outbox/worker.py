"""A sender worker: a process that only sends, so that sending grows with machines, not with the scheduler.

A province runs one scheduler (it plans the day's reminders and keeps the jobs) and as many sender
workers as WeChat's quota and its machines allow. Each worker loops: send the reminders that are due,
then the outbox's messages, then wait a few seconds when there was nothing to send. Workers share the
work by their claims (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and the rate limit through Redis, so
any number of them send each message once and stay under the configured rate together.

A worker killed mid-send leaves its claimed reminders ``sending`` until their lease runs out; the next
run of any worker puts them back to ``planned`` and sends them, the one in flight with its
``client_msg_id`` again (WeChat shows a repeat within 10 minutes once). The outbox's messages in
flight become ``uncertain`` for staff instead (see :mod:`miniservice.outbox.sending`).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from flask import Flask

from miniservice.db import get_db
from miniservice.outbox.sending import drain
from miniservice.reminders.sending import Sender
from miniservice.reminders.service import shared_limiter
from miniservice.wechat.client import get_client

log = logging.getLogger(__name__)


def run(app: Flask, stop: threading.Event, *, idle_seconds: float = 5.0, lease: timedelta | None = None) -> None:
    """Send until ``stop`` is set; ``lease``: how long a claimed reminder waits for this worker."""
    settings = app.extensions["miniservice.settings"]
    with app.app_context():
        sender = Sender(get_db(), settings, get_client(), shared_limiter(), **({"lease": lease} if lease else {}))
        while not stop.is_set():
            reminders = sender.run()
            outbox = drain()
            if reminders.sent or reminders.retry or reminders.failed or outbox.outcomes:
                log.info("sender worker: reminders sent %s, retry %s, failed %s; outbox %s", reminders.sent,
                         reminders.retry, reminders.failed, outbox)
            else:
                stop.wait(idle_seconds)
