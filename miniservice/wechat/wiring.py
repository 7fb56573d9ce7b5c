"""Point wechatpy (1.8.18) at a WeChat API base other than ``https://api.weixin.qq.com/``.

Why this module exists: setting ``client.API_BASE_URL`` is *not* enough for ``WeChatClient``.
``_request`` builds ``API_BASE_URL + endpoint`` for API calls, but ``WeChatClient.fetch_access_token``
hard-codes ``https://api.weixin.qq.com/cgi-bin/token`` and ``_fetch_access_token`` sends it with no
timeout. :class:`BaseURLWeChatClient` fixes both, so a ``WECHAT_API_BASE`` (the fake server in the
demo and tests) is honoured for every request and a slow token endpoint cannot hang a worker.
``WeChatOAuth`` needs two attributes set (``API_BASE_URL`` and ``OAUTH_BASE_URL``): :func:`point_oauth`.
"""

from __future__ import annotations

from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.oauth import WeChatOAuth

REAL_API_BASE = "https://api.weixin.qq.com/"


def _root(api_base: str | None) -> str:
    return (api_base or REAL_API_BASE).rstrip("/") + "/"


class _DefaultTimeoutSession(requests.Session):
    """A session that applies a timeout when the caller (wechatpy's token fetch) gives none."""

    def __init__(self, timeout: float | None) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


class BaseURLWeChatClient(WeChatClient):
    """``WeChatClient`` whose every request, token fetch included, goes to ``api_base``."""

    def __init__(self, appid: str, secret: str, *, api_base: str | None = None, **kwargs: Any) -> None:
        super().__init__(appid, secret, **kwargs)
        self.API_BASE_URL = _root(api_base) + "cgi-bin/"
        self._http = _DefaultTimeoutSession(self.timeout)

    def fetch_access_token(self) -> dict[str, Any]:
        """Same as wechatpy's, but from ``API_BASE_URL`` instead of the hard-coded real host."""
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def make_client(api_base: str | None, appid: str, secret: str, **kwargs: Any) -> BaseURLWeChatClient:
    """A wechatpy client for ``api_base`` (e.g. ``fake.base_url``; None → WeChat itself).

    ``kwargs`` go to ``WeChatClient`` (``timeout``, ``session``, ``auto_retry``, ``access_token``).
    """
    return BaseURLWeChatClient(appid, secret, api_base=api_base, **kwargs)


def point_oauth(oauth: WeChatOAuth, api_base: str | None) -> WeChatOAuth:
    """Aim an existing ``WeChatOAuth`` at ``api_base`` for both the authorize URL and the code exchange."""
    root = _root(api_base)
    oauth.API_BASE_URL = root  # sns/oauth2/access_token
    oauth.OAUTH_BASE_URL = (  # authorize_url: <base>oauth2/authorize?…
        "https://open.weixin.qq.com/connect/" if api_base is None else root + "connect/")
    return oauth


def make_oauth(api_base: str | None, appid: str, secret: str, redirect_uri: str,
               scope: str = "snsapi_base", state: str = "") -> WeChatOAuth:
    """A ``WeChatOAuth`` for ``api_base`` (None → WeChat itself)."""
    return point_oauth(WeChatOAuth(appid, secret, redirect_uri, scope=scope, state=state), api_base)
