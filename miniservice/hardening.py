"""What every response gets whichever blueprint made it: bounded ids in URLs, Chinese error pages,
and the browser's security headers.

Installed once by :func:`miniservice.create_app` before any blueprint, so a rule declared with
``<int:...>`` anywhere is bounded here rather than in each view.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map, ValidationError

# Row ids are PostgreSQL ``integer`` columns: a larger number cannot name a row, and handing it to
# the database (or to SQLite's 64-bit integer) fails instead of finding nothing.
ROW_ID_MAX = 2**31 - 1

ERROR_MESSAGES = {
    400: "请求内容有误，请返回上一页重新操作。",
    404: "您要找的页面或记录不存在。",
    405: "不支持这种访问方式，请从页面上的按钮操作。",
    413: "上传的文件太大。",
    500: "系统繁忙，请稍后再试，或拨打 12333 咨询。",
}

# Pages use only their own stylesheets and the WeUI icons that stylesheet carries as data: images;
# no inline script or style anywhere, so nothing injected into a page can run or restyle it.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
))
HSTS = "max-age=31536000; includeSubDomains"


class RowIdConverter(IntegerConverter):
    """``<int:...>`` for row ids: a number no row can have is no match, so the URL is a plain 404."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", ROW_ID_MAX)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        if len(value) > len(str(ROW_ID_MAX)):  # before int(): a 5,000-digit string would raise ValueError
            raise ValidationError()
        return super().to_python(value)  # type: ignore[no-any-return]


def install_url_converters(app: Flask) -> None:
    """Must run before blueprints register, since rules compile their converters when added."""
    app.url_map.converters["int"] = RowIdConverter


def trust_proxies(app: Flask, hops: int) -> None:
    """Behind ``hops`` reverse proxies, the client's address (which sign-in limits count) and the
    scheme come from their X-Forwarded-* headers; with none, those headers are ignored (forgeable)."""
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def install_error_pages(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)


def _http_error(error: HTTPException) -> Any:
    """A plain Chinese page (JSON under ``/api``) for an error no blueprint answered itself."""
    code = error.code or 500
    message = ERROR_MESSAGES.get(code, ERROR_MESSAGES[400] if code < 500 else ERROR_MESSAGES[500])
    if request.path.startswith("/api/"):
        return jsonify(error=message, field=None), code
    if request.path.startswith("/admin"):
        return render_template("admin/error.html", code=code, message=message), code
    if request.path.startswith("/wechat/callback"):
        return Response(message, status=code, mimetype="text/plain")
    return render_template("h5/error.html", message=message), code


def install_security_headers(app: Flask, *, production: bool) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        # Not "no-referrer": Flask-WTF checks the Referer of HTTPS form posts against the host.
        headers.setdefault("Referrer-Policy", "same-origin")
        if production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if request.endpoint != "static" and "no-store" not in headers.get("Cache-Control", ""):
            # Every page but the stylesheets may carry someone's records or a staff session: never
            # keep a copy in a shared cache or the back/forward cache of a borrowed phone.
            headers["Cache-Control"] = "no-store"
        return response
