"""Reminders before a gap passes the three-month line (and before the 居民医保 集中缴费期 ends)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The 开启/退订提醒 answers, ``remind`` and ``scheduler``."""
    from miniservice import state
    from miniservice.reminders import cli, wechat_handlers

    state.router(app).include(wechat_handlers.handlers)
    app.cli.add_command(cli.remind)
    app.cli.add_command(cli.scheduler)
