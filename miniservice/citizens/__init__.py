"""Citizens: identity binding, registry records and gaps, records import, identity keys."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The bind and records pages, the 缴费记录 answer, ``import-records``, ``seed-demo``, ``rotate-data-key``."""
    from miniservice import state
    from miniservice.citizens import cli, views, wechat_handlers

    app.register_blueprint(views.bp)
    state.router(app).include(wechat_handlers.handlers)
    app.cli.add_command(cli.import_records_command)
    app.cli.add_command(cli.seed_demo_command)
    app.cli.add_command(cli.rotate_data_key_command)
