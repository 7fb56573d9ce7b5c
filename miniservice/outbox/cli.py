"""``miniservice outbox send`` (drain now) and ``miniservice outbox status`` (counts by status)."""

from __future__ import annotations

import click
from flask import current_app

from miniservice.outbox.models import STATUSES


@click.group(help="The outbox of messages to citizens: send what is due, or count by status.")
def outbox() -> None:
    pass


@outbox.command(help="Send every message that is due now (the scheduler does this every few seconds).")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000),
              help="send at most this many messages")
def send(limit: int) -> None:
    from miniservice.outbox.sending import drain

    report = drain(limit)
    click.echo(f"outbox: {report}")


@outbox.command(help="How many messages are pending, sent, failed or uncertain.")
def status() -> None:
    from miniservice.db import get_db
    from miniservice.outbox.sending import status_counts

    counts = status_counts(get_db())
    click.echo("outbox: " + ", ".join(f"{name} {counts.get(name, 0)}" for name in STATUSES))


@outbox.command(help="Send due reminders and the outbox's messages until stopped (a sender worker; run several).")
@click.option("--idle-seconds", default=5.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="how long to wait when there was nothing to send")
@click.option("--lease-seconds", default=300, show_default=True, type=click.IntRange(5, 3600),
              help="how long reminders this worker claimed wait for it before another worker may take them")
def worker(idle_seconds: float, lease_seconds: int) -> None:
    import contextlib
    import signal
    import threading
    from datetime import timedelta

    from miniservice.outbox.worker import run

    app = current_app._get_current_object()  # the worker runs outside any request
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"sender worker: reminders and outbox, waiting {idle_seconds:g} s when idle (SIGTERM or Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        run(app, stop, idle_seconds=idle_seconds, lease=timedelta(seconds=lease_seconds))
    click.echo("sender worker stopped")

