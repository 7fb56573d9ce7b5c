"""The citizen-facing surfaces of the 补缴 quote engine: WeChat reply, H5 pages, JSON API and CLI.

Every surface shows the same thing, ``Quote.to_json()`` from :mod:`miniservice.rules.quote`, built
from the registry (:mod:`.facts`) with the rule versions in force on the quote's date
(:mod:`miniservice.rulebook.resolve`); :mod:`.service` is the one place that joins them.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The quote pages, the JSON API, the 补缴测算 answer and ``quote``."""
    from miniservice import state
    from miniservice.quotes import api, cli, views, wechat_handlers

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    state.router(app).include(wechat_handlers.handlers)
    app.cli.add_command(cli.quote_command)
