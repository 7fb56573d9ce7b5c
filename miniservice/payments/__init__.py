"""网上缴费: a citizen pays a frozen quote inside WeChat, the gap closes, every 分 is reconciled.

``orders`` freezes a quote into a payment order; ``channels`` is the small interface a collecting
channel implements (``wechatpay`` first); ``settlement`` applies a verified payment once per
transaction id or holds it for staff; ``reconcile`` compares the orders with the channel's daily bill.
See docs/payments.md.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The pay pages and notify URL, the orders pages on the admin blueprint (so before
    :func:`miniservice.admin.init_app` registers it), ``orders``."""
    from miniservice.payments import admin_views, cli, views  # noqa: F401 - admin_views' routes join admin's bp

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.orders)
