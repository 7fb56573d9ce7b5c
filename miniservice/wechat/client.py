"""The WeChat API client: wechatpy's ``WeChatClient`` with a shared, safely refreshed token.

wechatpy's own ``auto_retry`` re-fetches a token on every 40001 without bound and each process
keeps its own; here an invalid or expired token (40001/40014/42001) is refreshed once through the
shared :mod:`~miniservice.wechat.tokens` store and the call retried once, then the error surfaces.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from wechatpy.client.api import WeChatMessage
from wechatpy.exceptions import WeChatClientException

from miniservice.config import Settings
from miniservice.db import Database
from miniservice.redis_store import redis_client
from miniservice.wechat.tokens import DatabaseTokenStore, FallbackTokenStore, RedisTokenStore, TokenStore
from miniservice.wechat.wiring import BaseURLWeChatClient

TOKEN_ERRORS = frozenset({40001, 40014, 42001})

class SharedTokenClient(BaseURLWeChatClient):
    """A WeChatClient whose token lives in a :class:`TokenStore` shared by all processes."""

    message: WeChatMessage

    def __init__(self, app_id: str, secret: str, store: TokenStore, api_base: str | None, timeout: float) -> None:
        super().__init__(app_id, secret, api_base=api_base, timeout=timeout, auto_retry=False)
        self.store = store

    def _fetch(self) -> tuple[str, int]:
        result = super().fetch_access_token()
        return result["access_token"], int(result.get("expires_in", 7200))

    def fetch_access_token(self) -> dict[str, Any]:
        return {"access_token": self.store.refresh(self._fetch, stale=None)}

    @property
    def access_token(self) -> str:
        return self.store.current() or self.store.refresh(self._fetch, stale=None)

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        # wechatpy mutates ``params`` in place; each attempt gets its own copy with its token.
        params = dict(kwargs.pop("params", None) or {})
        params.setdefault("access_token", self.access_token)
        try:
            return super()._request(method, url_or_endpoint, params=dict(params), **kwargs)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            params["access_token"] = self.store.refresh(self._fetch, stale=params["access_token"])
            return super()._request(method, url_or_endpoint, params=params, **kwargs)


def build_client(settings: Settings, db: Database, timeout: float = 5.0) -> SharedTokenClient:
    store: TokenStore = DatabaseTokenStore(db, settings.wechat_app_id)
    if settings.redis_url:
        store = FallbackTokenStore(RedisTokenStore(redis_client(settings.redis_url), settings.wechat_app_id), store)
    return SharedTokenClient(
        settings.wechat_app_id,
        settings.wechat_app_secret,
        store,
        settings.wechat_api_base,
        timeout,
    )


def get_client() -> SharedTokenClient:
    """The current app's client (one per app, so its HTTP connection pool is reused)."""
    return current_app.extensions["miniservice.wechat_client"]
