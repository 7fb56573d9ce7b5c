"""``miniservice outbox send`` (drain now) and ``miniservice outbox status`` (counts by status)."""

from __future__ import annotations

import click

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
