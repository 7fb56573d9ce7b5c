"""What every response gets whichever blueprint made it: bounded ids in URLs and the browser's
security headers (the Chinese error pages are :mod:`miniservice.errors`).

Installed once by :func:`miniservice.create_app` before any blueprint, so a rule declared with
``<int:...>`` anywhere is bounded here rather than in each view.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map, ValidationError

# Row ids are PostgreSQL ``integer`` columns: a larger number cannot name a row, and handing it to
# the database (or to SQLite's 64-bit integer) fails instead of finding nothing.
ROW_ID_MAX = 2**31 - 1

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


class _CookielessFor(SecureCookieSessionInterface):
    """Flask's signed-cookie session, but not opened for URLs no browser calls.

    WeChat's servers send no cookie and read none: unsigning an absent cookie, and then deciding not
    to set one, was a sixth of a 帮助 tap's time in process (docs/performance.md). Flask opens the
    session *before* it matches the URL (so that converters may read it), when ``request.blueprint``
    is still None: the choice is made on the exact paths of the blueprints' rules instead.
    """

    def __init__(self, paths: frozenset[str]) -> None:
        self.paths = paths

    def open_session(self, app: Flask, incoming: Request) -> SecureCookieSession | None:
        if incoming.path in self.paths:
            return self.null_session_class()
        return super().open_session(app, incoming)


def cookieless(app: Flask, *blueprints: str) -> None:
    """No session cookie is read or written for requests to these (registered) blueprints' URLs.

    Only rules without variables qualify: a path with a variable would need the URL map's matching,
    which is what Flask has not run yet when it opens the session.
    """
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.partition(".")[0] in blueprints]
    if not rules or any(rule.arguments for rule in rules):
        raise ValueError(f"cookieless needs registered blueprints whose rules have no variables: {blueprints}")
    current = app.session_interface
    known = current.paths if isinstance(current, _CookielessFor) else frozenset()
    app.session_interface = _CookielessFor(known | frozenset(rule.rule for rule in rules))


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
