"""Citizens: identity binding, registry records and gaps, records import, identity keys."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The bind and records pages, the 缴费记录 answer, ``import-records``, ``seed-demo``, ``rotate-data-key``."""
    from miniservice import state
    from miniservice.citizens import cli, views, wechat_handlers

    app.register_blueprint(views.bp)
    state.router(app).include(wechat_handlers.handlers)
    for command in cli.commands:
        app.cli.add_command(command)
