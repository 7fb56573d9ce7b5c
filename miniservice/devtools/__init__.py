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
