"""The WeChat boundary: the callback, OAuth, the menu, the router and the API client."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The callback and OAuth blueprints, the account's own answers (welcome, help …), ``menu``."""
    from miniservice import state
    from miniservice.hardening import cookieless
    from miniservice.wechat import callback, cli, oauth, wechat_handlers

    app.register_blueprint(callback.bp)
    cookieless(app, callback.bp.name)
    app.register_blueprint(oauth.bp)
    state.router(app).include(wechat_handlers.handlers)
    app.cli.add_command(cli.menu)
