"""The one way the service sends a message of its own accord: a durable outbox.

A business step that wants to tell someone something (a binding confirmed, a consent requested, a
payment's receipt) does not call WeChat. It calls :func:`enqueue` with its own open session, so the
message is written in the same transaction as its cause: the message exists exactly when the change
does, a rolled-back step leaves no message, and no request waits on WeChat. A worker
(:func:`miniservice.outbox.sending.drain`, run every few seconds by the scheduler process and by
``miniservice demo``; ``miniservice outbox send`` drains by hand) sends each row once, retrying with
back-off only when WeChat answered that it did not take the message.

Enqueueing, e.g. a payment's receipt (the key makes a replayed step enqueue nothing more)::

    from miniservice.outbox import enqueue

    with db.transaction() as session:
        ...  # the payment's rows
        session.flush()  # the payment has its id
        enqueue(session, f"receipt:{payment.id}", openid, "payment_receipt.txt", amount=payment.amount)

``template`` names a file in ``templates/messages/`` (rendered now, by :func:`miniservice.messages.text`,
so the row holds the exact text that will be shown); ``openid`` may be None (the person is not on
WeChat): nothing is enqueued then. Keys name the cause, ``<what>:<row id>[:<recipient role>]``.
"""

from __future__ import annotations

from flask import Flask

from miniservice.outbox.queue import enqueue

__all__ = ["enqueue"]


def init_app(app: Flask) -> None:
    """``outbox send|status|worker``."""
    from miniservice.outbox import cli

    app.cli.add_command(cli.outbox)
