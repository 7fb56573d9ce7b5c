"""Development tools: a fake WeChat API server and a simulator of WeChat's callback deliveries.

WeChat's servers are never reachable from development machines or CI, yet most of the bugs worth
catching live at that boundary (rotated access tokens, quota errors, retried deliveries, AES
envelopes). These modules reproduce WeChat's side of the wire faithfully enough that the demo and
the tests talk real HTTP to something that answers like WeChat does:

- :mod:`.fake_wechat` — :class:`~.fake_wechat.FakeWeChat`, a threaded HTTP server implementing the
  API endpoints the project calls, with recording and fault injection.
- :mod:`.simulator` — builds and posts correctly signed (plain or AES) callback XML, as WeChat would.
- :mod:`miniservice.wechat.wiring` — points wechatpy's ``WeChatClient`` / ``WeChatOAuth`` at a non-default API base.

Nothing here is imported by the production code paths.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """``demo``, ``simulate``, ``fake-wechat``; in the demo, the phone simulator's pages."""
    from miniservice import state
    from miniservice.devtools import cli, views

    if state.settings(app).env == "demo":
        app.register_blueprint(views.bp)
    app.cli.add_command(cli.simulate)
    app.cli.add_command(cli.fake_wechat)
    app.cli.add_command(cli.demo)
