"""Who is this H5 page for? WeChat OAuth (``snsapi_base``) answers with the visitor's openid.

A page decorated with :func:`citizen_required` redirects a visitor without an openid in the session
to WeChat's authorise URL with a one-time ``state`` kept in the session; WeChat sends them back to
``/wechat/oauth/callback`` with a code that we exchange once for the openid.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from miniservice import state
from miniservice.config import Settings
from miniservice.wechat.wiring import make_oauth

bp = Blueprint("oauth", __name__, url_prefix="/wechat/oauth")

F = TypeVar("F", bound=Callable[..., Any])


def _oauth(settings: Settings, state: str = "") -> WeChatOAuth:
    oauth = make_oauth(
        settings.wechat_api_base,
        settings.wechat_app_id,
        settings.wechat_app_secret,
        settings.public_base_url + url_for("oauth.callback"),
        state=state,
    )
    if settings.wechat_oauth_base:
        oauth.OAUTH_BASE_URL = settings.wechat_oauth_base
    return oauth


def _local_path(target: str | None) -> str:
    """Only same-site paths may be returned to, so the callback cannot be used as an open redirect."""
    if not target:
        return "/h5/records"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/h5/records"
    return target


def citizen_required(view: F) -> F:
    """The wrapped view runs with ``g.openid`` set to the visitor's WeChat openid."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        openid = session.get("openid")
        if openid:
            g.openid = openid
            return view(*args, **kwargs)
        nonce = secrets.token_urlsafe(16)
        session["oauth_state"] = nonce
        session["oauth_next"] = request.full_path.rstrip("?")
        return redirect(_oauth(state.settings(), nonce).authorize_url)

    return wrapper  # type: ignore[return-value]


@bp.get("/callback")
def callback() -> Any:
    expected = session.pop("oauth_state", None)
    given = request.args.get("state", "")
    if not expected or not secrets.compare_digest(expected, given):
        return render_template("h5/error.html", message="页面已失效，请从公众号菜单重新进入。"), 400
    code = request.args.get("code")
    if not code:
        return render_template("h5/error.html", message="您未同意授权，无法查看本页面。"), 400
    try:
        result = _oauth(state.settings()).fetch_access_token(code)
    except WeChatOAuthException:
        return render_template("h5/error.html", message="授权已过期，请从公众号菜单重新进入。"), 400
    target = _local_path(session.pop("oauth_next", None))
    session.clear()  # a new identity starts a new session (no fixation across openids)
    session["openid"] = result["openid"]
    session.permanent = True
    return redirect(target)
