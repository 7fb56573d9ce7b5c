"""A fake WeChat API server: real HTTP on loopback, WeChat's paths, parameters, JSON and error codes.

Why a server and not mocks: the bugs that hurt in production sit in the HTTP exchange itself —
a token another worker rotated (40001 storms), quota errors, slow answers that hit a timeout, an
OAuth code used twice. ``FakeWeChat`` reproduces those behaviours so the demo and the tests drive
the project's real client code over a real socket.

Endpoints (relative to :attr:`FakeWeChat.base_url`): ``cgi-bin/token``, ``cgi-bin/stable_token``,
``cgi-bin/menu/{create,get,delete}``, ``cgi-bin/message/template/send``,
``cgi-bin/message/subscribe/bizsend``, ``cgi-bin/message/custom/send``, ``cgi-bin/user/info``,
``connect/oauth2/authorize`` (the simulated in-WeChat authorisation, answered with a 302) and
``sns/oauth2/access_token``. Control endpoints for a browser or curl live under ``/__fake__/``:
``GET calls[?path_suffix=]``, ``GET messages``, ``GET menu``, ``GET|POST followers``,
``GET|POST faults``, ``POST reset``.

Pointing wechatpy at it (wechatpy 1.8.18; see :mod:`miniservice.wechat.wiring`, which does this):

* ``WeChatClient`` builds API URLs as ``client.API_BASE_URL + endpoint`` (``client/base.py``,
  ``_request``), so ``client.API_BASE_URL = fake.base_url + "cgi-bin/"`` redirects every API call,
  **but** ``WeChatClient.fetch_access_token`` hard-codes ``https://api.weixin.qq.com/cgi-bin/token``
  (``client/__init__.py``) and ``_fetch_access_token`` passes no timeout. A subclass must override
  ``fetch_access_token`` to use ``self.API_BASE_URL + "token"``: use
  :func:`miniservice.wechat.wiring.make_client`, or the same few lines in the app's client factory.
* ``WeChatOAuth`` uses two class attributes read through ``self``: set
  ``oauth.API_BASE_URL = fake.base_url`` (code exchange: ``sns/oauth2/access_token``) and
  ``oauth.OAUTH_BASE_URL = fake.base_url + "connect/"`` (``authorize_url``:
  ``connect/oauth2/authorize?...#wechat_redirect``); :func:`miniservice.wechat.wiring.point_oauth`.
* In the app, ``WECHAT_API_BASE=http://127.0.0.1:PORT/`` is the one setting: ``miniservice.wechat.client``
  and ``miniservice.wechat.oauth`` derive ``cgi-bin/``, the token URL and ``connect/`` from it
  (``WECHAT_OAUTH_BASE`` overrides the last).

Deliberate fidelity choices (each mirrors WeChat; none is a convenience):

* Each ``cgi-bin/token`` fetch issues a new token and invalidates the previous ones after
  ``token_overlap`` seconds (WeChat: 5 minutes); ``stable_token`` tokens are a separate pool that a
  ``cgi-bin/token`` fetch does not touch; ``force_refresh`` invalidates the previous stable token
  at once and is limited to 20 a day (45009), 30 s apart (45011).
* Unknown/rotated token → 40001, expired → 42001, missing → 41001.
* ``user/info`` returns no ``nickname``/``headimgurl`` (WeChat stopped sending them in 2021); the
  nickname given to :meth:`FakeWeChat.add_follower` is only shown on the control pages.
* Reusing an OAuth code answers 40163 ``code been used`` (WeChat's code for reuse); an unknown or
  expired (``oauth_code_ttl``, 5 minutes) code answers 40029 ``invalid code``.
* Messages: an openid the account has never seen → 40003, a former follower → 43004; subscribe
  notifications to a user without an accepted subscription → 43101 (``require_subscription``);
  customer-service messages more than 48 h after the user's last interaction → 45015
  (``enforce_48h``). A template message repeating a ``client_msg_id`` for the same user within 10
  minutes of the first is answered ok with the first's msgid and not shown again; after 10 minutes
  it is shown again, as WeChat only promises the de-duplication for 10 minutes.

Run standalone: ``python -m miniservice.devtools.fake_wechat --port 8801 --appid wx... --secret ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import html
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from miniservice.devtools.faults import Delay, FaultBoard, Injection, RateLimit, path_matches
from miniservice.devtools.menu_limits import menu_error
from miniservice.devtools.records import Call, SentMessage, mask_secrets
from miniservice.devtools.server import BackgroundServer
from miniservice.devtools.wechat_errors import error_body, ok_body

OPENID_COOKIE = "fake_wechat_openid"
CONTROL_PREFIX = "__fake__"
FORTY_EIGHT_HOURS = 48 * 3600
CLIENT_MSG_ID_SECONDS = 600
STABLE_FORCE_PER_DAY = 20
STABLE_FORCE_SPACING = 30.0

# path -> (HTTP method, handler name, needs access_token)
ROUTES: dict[str, tuple[str, str, bool]] = {
    "cgi-bin/token": ("GET", "_token", False),
    "cgi-bin/stable_token": ("POST", "_stable_token", False),
    "cgi-bin/menu/create": ("POST", "_menu_create", True),
    "cgi-bin/menu/get": ("GET", "_menu_get", True),
    "cgi-bin/menu/delete": ("GET", "_menu_delete", True),
    "cgi-bin/message/template/send": ("POST", "_template_send", True),
    "cgi-bin/message/subscribe/bizsend": ("POST", "_subscribe_send", True),
    "cgi-bin/message/custom/send": ("POST", "_custom_send", True),
    "cgi-bin/user/info": ("GET", "_user_info", True),
    "connect/oauth2/authorize": ("GET", "_oauth_authorize", False),
    "sns/oauth2/access_token": ("GET", "_oauth_access_token", False),
}

CUSTOM_MSG_TYPES = frozenset({"text", "image", "voice", "video", "music", "news", "mpnews",
                              "mpnewsarticle", "msgmenu", "wxcard", "miniprogrampage"})


class _ApiError(Exception):
    """Raised inside a handler to answer ``{"errcode": …}``; keeps handlers linear."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class Follower:
    """A user the official account knows. ``subscribe_templates`` holds accepted 订阅通知 template
    ids (``"*"`` = all); ``last_interaction`` opens the 48-hour customer-service window."""

    openid: str
    nickname: str = ""
    subscribed: bool = True
    subscribe_time: float = 0.0
    last_interaction: float = 0.0
    subscribe_templates: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["subscribe_templates"] = sorted(self.subscribe_templates)
        return data


@dataclass
class _Token:
    kind: str  # "token" (cgi-bin/token) or "stable" (cgi-bin/stable_token)
    expires_at: float
    invalid_after: float | None = None


@dataclass
class _Code:
    openid: str
    scope: str
    created_at: float
    used: bool = False


@dataclass
class _Req:
    """What a handler needs from one request."""

    query: dict[str, str]
    body: Any
    cookies: dict[str, str]
    now: float
    generation: int = 0  # the reset() count when it arrived: see FakeWeChat._recording


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status,
                    content_type="application/json; encoding=utf-8")


def _new_token() -> str:
    # Real tokens are opaque ~136-character strings; length matters to storage columns.
    return secrets.token_urlsafe(102)


class FakeWeChat:
    """The fake WeChat API server. Use as a context manager or call :meth:`start` / :meth:`stop`.

    ``clock`` (epoch seconds) drives token and code expiry and rate windows, so tests can move time
    with :class:`~miniservice.devtools.clock.ManualClock` instead of sleeping.
    """

    def __init__(self, appid: str = "wx0000000000fake", secret: str = "fake-app-secret", *,
                 host: str = "127.0.0.1", port: int = 0, token_expires_in: int = 7200,
                 token_overlap: float = 300.0, oauth_code_ttl: float = 300.0,
                 require_subscription: bool = True, enforce_48h: bool = True,
                 oauth_domains: Iterable[str] | None = None, clock: Callable[[], float] = time.time,
                 quiet: bool = True) -> None:
        self.appid = appid
        self.secret = secret
        self.token_expires_in = token_expires_in
        self.token_overlap = token_overlap
        self.oauth_code_ttl = oauth_code_ttl
        self.require_subscription = require_subscription
        self.enforce_48h = enforce_48h
        self.oauth_domains = set(oauth_domains) if oauth_domains is not None else None
        self._clock = clock
        self._server = BackgroundServer(self.wsgi_app, host=host, port=port, quiet=quiet)
        self._stopping = threading.Event()
        self._lock = threading.RLock()
        self._faults = FaultBoard()
        self._calls: list[Call] = []
        self._sent: list[SentMessage] = []
        self._generation = 0
        self._init_state()

    def _init_state(self) -> None:
        self._tokens: dict[str, _Token] = {}
        self._stable_current: str | None = None
        self._stable_forced: list[float] = []
        self._menu: dict[str, Any] | None = None
        self._followers: dict[str, Follower] = {}
        self._codes: dict[str, _Code] = {}
        self._sns_tokens: dict[str, str] = {}
        self._msgids = itertools.count(2_000_000_001)
        self._client_msg_ids: dict[tuple[str, str], tuple[float, int]] = {}

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind (port 0 → a free port) and serve in a background thread."""
        self._stopping.clear()
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending injected delays are cut short so shutdown is prompt."""
        self._stopping.set()
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/`` — the value for ``WECHAT_API_BASE``."""
        return self._server.base_url

    # -- users -----------------------------------------------------------------------------------

    def add_follower(self, openid: str, nickname: str = "", subscribed: bool = True, *,
                     subscribe_templates: Iterable[str] = (),
                     last_interaction: float | None = None) -> Follower:
        """Register (or update) a user of the account; ``subscribed=False`` is a former follower."""
        now = self._clock()
        with self._lock:
            follower = Follower(openid=openid, nickname=nickname, subscribed=subscribed,
                                subscribe_time=now,
                                last_interaction=now if last_interaction is None else last_interaction,
                                subscribe_templates=set(subscribe_templates))
            self._followers[openid] = follower
            return copy.deepcopy(follower)

    def allow_subscribe_message(self, openid: str, template_id: str = "*") -> None:
        """Record that the user accepted 订阅通知 ``template_id`` (``"*"``: every template)."""
        with self._lock:
            self._followers[openid].subscribe_templates.add(template_id)

    def touch(self, openid: str, at: float | None = None) -> None:
        """Record a user interaction (message, click…) that reopens the 48-hour window."""
        with self._lock:
            self._followers[openid].last_interaction = self._clock() if at is None else at

    def followers(self) -> list[Follower]:
        with self._lock:
            return [copy.deepcopy(f) for f in self._followers.values()]

    @property
    def menu(self) -> dict[str, Any] | None:
        """The menu last created (as posted), or None."""
        with self._lock:
            return copy.deepcopy(self._menu)

    # -- recording -------------------------------------------------------------------------------

    def calls(self, path_suffix: str | None = None) -> list[Call]:
        """Recorded API calls, oldest first, optionally only those whose path ends with the suffix."""
        with self._lock:
            return [c for c in self._calls if path_matches(c.path, path_suffix)]

    def sent_messages(self, touser: str | None = None) -> list[SentMessage]:
        """Messages WeChat accepted (template, subscribe, customer-service), oldest first."""
        with self._lock:
            return [m for m in self._sent if touser is None or m.touser == touser]

    # -- faults ----------------------------------------------------------------------------------

    def inject(self, path_suffix: str, errcode: int, errmsg: str | None = None,
               times: int | None = 1) -> None:
        """Answer the next ``times`` calls (None: all, until reset) to the path with ``errcode``."""
        self._faults.inject(Injection(path_suffix, errcode, errmsg, times))

    def delay(self, path_suffix: str, seconds: float, times: int | None = 1) -> None:
        """Hold the next ``times`` answers on the path for ``seconds`` (to provoke client timeouts)."""
        self._faults.delay(Delay(path_suffix, seconds, times))

    def rate_limit(self, path_suffix: str, per_second: float, errcode: int = 45009) -> None:
        """Answer ``errcode`` (45009 quota, or 45011) to calls beyond ``per_second`` in any second."""
        self._faults.rate_limit(RateLimit(path_suffix, per_second, errcode))

    def reset(self, *, calls: bool = True, faults: bool = True, state: bool = False) -> None:
        """Forget recorded calls and/or fault rules; ``state=True`` also drops tokens, menu, users."""
        with self._lock:
            if calls:
                self._generation += 1
                self._calls.clear()
                self._sent.clear()
            if faults:
                self._faults.clear()
            if state:
                self._init_state()

    # -- WSGI ------------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path.strip("/")
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            response = self._control(request, path[len(CONTROL_PREFIX):].strip("/"))
        else:
            response = self._api(request, path)
        return response(environ, start_response)

    def _api(self, request: Request, path: str) -> Response:
        query = request.args.to_dict()
        raw = request.get_data(cache=True)
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                body, bad_json = raw.decode("utf-8", "replace"), True
        with self._lock:
            generation = self._generation
        route = ROUTES.get(path)
        if route is None:
            response, errcode = _json({"errmsg": f"fake WeChat does not implement /{path}"}, 404), None
        else:
            seconds = self._faults.take_delay(path)
            if seconds:
                self._stopping.wait(seconds)
            req = _Req(query, body, dict(request.cookies), self._clock(), generation)
            response, errcode = self._answer(route, request.method, path, req, raw, bad_json)
        with self._lock:
            if self._recording(generation):
                self._calls.append(Call(method=request.method, path=path, query=mask_secrets(query),
                                        body=mask_secrets(body), time=self._clock(), errcode=errcode,
                                        status=response.status_code))
        return response

    def _recording(self, generation: int) -> bool:
        """A call that arrived before the last ``reset()`` and finished after it (a delayed call whose
        client timed out long ago) belongs to whoever reset: it is answered but not recorded."""
        return generation == self._generation

    def _answer(self, route: tuple[str, str, bool], method: str, path: str, req: _Req, raw: bytes,
                bad_json: bool) -> tuple[Response, int]:
        want_method, handler_name, needs_token = route
        try:
            injected = self._faults.take_injection(path)
            if injected is not None:
                raise _ApiError(injected.errcode, injected.errmsg)
            limited = self._faults.over_limit(path, req.now)
            if limited is not None:
                raise _ApiError(limited)
            if method != want_method:
                raise _ApiError(43001 if want_method == "GET" else 43002)
            if want_method == "POST" and not raw:
                raise _ApiError(44002)
            if want_method == "POST" and (bad_json or not isinstance(req.body, dict)):
                raise _ApiError(47001)
            with self._lock:
                if needs_token:
                    self._check_token(req.query.get("access_token"), req.now)
                result = getattr(self, handler_name)(req)
        except _ApiError as exc:
            return _json(error_body(exc.errcode, exc.errmsg)), exc.errcode
        if isinstance(result, tuple):  # (Response, errcode) from the OAuth page handlers
            return result
        return _json(result), int(result.get("errcode", 0))

    def _check_token(self, token: str | None, now: float) -> None:
        if not token:
            raise _ApiError(41001)
        info = self._tokens.get(token)
        if info is None:
            raise _ApiError(40001)
        if now >= info.expires_at:
            raise _ApiError(42001)
        if info.invalid_after is not None and now >= info.invalid_after:
            raise _ApiError(40001)

    def _check_credentials(self, params: dict[str, Any]) -> None:
        if params.get("grant_type") != "client_credential":
            raise _ApiError(40002)
        if not params.get("appid"):
            raise _ApiError(41002)
        if params["appid"] != self.appid:
            raise _ApiError(40013)
        if not params.get("secret"):
            raise _ApiError(41004)
        if params["secret"] != self.secret:
            raise _ApiError(40125)

    def _issue(self, kind: str, now: float) -> str:
        token = _new_token()
        self._tokens[token] = _Token(kind=kind, expires_at=now + self.token_expires_in)
        return token

    # -- handlers (called with self._lock held) --------------------------------------------------

    def _token(self, req: _Req) -> dict[str, Any]:
        self._check_credentials(req.query)
        for info in self._tokens.values():
            if info.kind == "token" and info.invalid_after is None:
                info.invalid_after = req.now + self.token_overlap
        return {"access_token": self._issue("token", req.now), "expires_in": self.token_expires_in}

    def _stable_token(self, req: _Req) -> dict[str, Any]:
        self._check_credentials(req.body)
        current = self._tokens.get(self._stable_current or "")
        usable = current is not None and current.invalid_after is None and req.now < current.expires_at
        if req.body.get("force_refresh") is True:
            recent = [t for t in self._stable_forced if t > req.now - 86400]
            if len(recent) >= STABLE_FORCE_PER_DAY:
                raise _ApiError(45009)
            if recent and req.now - recent[-1] < STABLE_FORCE_SPACING:
                raise _ApiError(45011)
            self._stable_forced = [*recent, req.now]
            if current is not None:
                current.invalid_after = req.now
            usable = False
        if not usable:
            self._stable_current = self._issue("stable", req.now)
            current = self._tokens[self._stable_current]
        assert current is not None and self._stable_current is not None
        return {"access_token": self._stable_current, "expires_in": int(current.expires_at - req.now)}

    def _menu_create(self, req: _Req) -> dict[str, Any]:
        errcode = menu_error(req.body)
        if errcode is not None:
            raise _ApiError(errcode)
        self._menu = {"button": copy.deepcopy(req.body["button"])}
        return ok_body()

    def _menu_get(self, req: _Req) -> dict[str, Any]:
        if self._menu is None:
            raise _ApiError(46003)
        buttons = copy.deepcopy(self._menu["button"])
        for button in buttons:  # WeChat answers with an explicit empty sub_button list on each button
            button.setdefault("sub_button", [])
            for sub in button["sub_button"]:
                sub.setdefault("sub_button", [])
        return {"menu": {"button": buttons}}

    def _menu_delete(self, req: _Req) -> dict[str, Any]:
        self._menu = None
        return ok_body()

    def _recipient(self, body: dict[str, Any]) -> Follower:
        openid = body.get("touser")
        if not openid or openid not in self._followers:
            raise _ApiError(40003)
        follower = self._followers[openid]
        if not follower.subscribed:
            raise _ApiError(43004)
        return follower

    @staticmethod
    def _check_template_data(body: dict[str, Any]) -> str:
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or not template_id:
            raise _ApiError(40037)
        data = body.get("data", {})
        if not isinstance(data, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values()):
            raise _ApiError(47003)
        return template_id

    def _deliver(self, kind: str, req: _Req, follower: Follower, template_id: str | None,
                 with_msgid: bool) -> dict[str, Any]:
        msgid = next(self._msgids) if with_msgid else None
        if self._recording(req.generation):
            self._sent.append(SentMessage(kind=kind, touser=follower.openid, template_id=template_id,
                                          body=copy.deepcopy(req.body), msgid=msgid, time=req.now))
        return ok_body(msgid=msgid) if with_msgid else ok_body()

    def _template_send(self, req: _Req) -> dict[str, Any]:
        follower = self._recipient(req.body)
        template_id = self._check_template_data(req.body)
        repeat_key = (follower.openid, str(req.body.get("client_msg_id") or ""))
        first = self._client_msg_ids.get(repeat_key)
        if repeat_key[1] and first is not None and req.now - first[0] < CLIENT_MSG_ID_SECONDS:
            return ok_body(msgid=first[1])
        result = self._deliver("template", req, follower, template_id, with_msgid=True)
        if repeat_key[1]:
            self._client_msg_ids[repeat_key] = (req.now, result["msgid"])
        return result

    def _subscribe_send(self, req: _Req) -> dict[str, Any]:
        follower = self._recipient(req.body)
        template_id = self._check_template_data(req.body)
        accepted = follower.subscribe_templates
        if self.require_subscription and "*" not in accepted and template_id not in accepted:
            raise _ApiError(43101)
        return self._deliver("subscribe", req, follower, template_id, with_msgid=True)

    def _custom_send(self, req: _Req) -> dict[str, Any]:
        follower = self._recipient(req.body)
        msgtype = req.body.get("msgtype")
        if msgtype not in CUSTOM_MSG_TYPES:
            raise _ApiError(40008)
        if msgtype == "text" and not (req.body.get("text") or {}).get("content"):
            raise _ApiError(44004)
        if self.enforce_48h and req.now - follower.last_interaction > FORTY_EIGHT_HOURS:
            raise _ApiError(45015)
        return self._deliver("custom", req, follower, None, with_msgid=False)

    def _user_info(self, req: _Req) -> dict[str, Any]:
        openid = req.query.get("openid")
        if not openid:
            raise _ApiError(41009)
        follower = self._followers.get(openid)
        if follower is None:
            raise _ApiError(40003)
        if not follower.subscribed:
            return {"subscribe": 0, "openid": openid, "tagid_list": []}
        return {"subscribe": 1, "openid": openid, "language": req.query.get("lang", "zh_CN"),
                "subscribe_time": int(follower.subscribe_time), "remark": "", "groupid": 0,
                "tagid_list": [], "subscribe_scene": "ADD_SCENE_OTHERS", "qr_scene": 0, "qr_scene_str": ""}

    # -- OAuth -----------------------------------------------------------------------------------

    def _oauth_authorize(self, req: _Req) -> tuple[Response, int]:
        q = req.query
        problem: tuple[int, str] | None = None
        if not q.get("appid"):
            problem = (10012, "appid 不能为空")
        elif q["appid"] != self.appid:
            problem = (40013, "appid 错误")
        elif not q.get("redirect_uri"):
            problem = (10011, "redirect_uri 不能为空")
        elif not q.get("scope"):
            problem = (10010, "scope 不能为空")
        elif q["scope"] not in ("snsapi_base", "snsapi_userinfo"):
            problem = (10005, "此公众号并没有这些 scope 的权限")
        elif self.oauth_domains is not None and urlsplit(q["redirect_uri"]).hostname not in self.oauth_domains:
            problem = (10003, "redirect_uri 域名与后台配置不一致")
        if problem is not None:
            return _oauth_page(problem[1], q, ask_openid=False), problem[0]
        openid = q.get("openid") or req.cookies.get(OPENID_COOKIE)
        if not openid:
            return _oauth_page("请在微信客户端打开链接（模拟：输入一个 openid 代表当前微信用户）", q,
                               ask_openid=True), 41009
        code = secrets.token_hex(16)
        self._codes[code] = _Code(openid=openid, scope=q["scope"], created_at=req.now)
        target = urlsplit(q["redirect_uri"])
        extra = urlencode({"code": code, "state": q.get("state", "")})
        location = urlunsplit(target._replace(query=f"{target.query}&{extra}" if target.query else extra))
        response = Response(status=302, headers={"Location": location})
        response.set_cookie(OPENID_COOKIE, openid, httponly=True, samesite="Lax")
        return response, 0

    def _oauth_access_token(self, req: _Req) -> dict[str, Any]:
        q = req.query
        if q.get("appid") != self.appid:
            raise _ApiError(41002 if not q.get("appid") else 40013)
        if q.get("secret") != self.secret:
            raise _ApiError(41004 if not q.get("secret") else 40125)
        if q.get("grant_type") != "authorization_code":
            raise _ApiError(40002)
        if not q.get("code"):
            raise _ApiError(41008)
        code = self._codes.get(q["code"])
        if code is None or req.now - code.created_at > self.oauth_code_ttl:
            raise _ApiError(40029)
        if code.used:
            raise _ApiError(40163)
        code.used = True
        token = secrets.token_urlsafe(64)
        self._sns_tokens[token] = code.openid
        return {"access_token": token, "expires_in": 7200, "refresh_token": secrets.token_urlsafe(64),
                "openid": code.openid, "scope": code.scope}

    # -- control endpoints -----------------------------------------------------------------------

    def _control(self, request: Request, sub: str) -> Response:
        payload: dict[str, Any] = {}
        if request.method == "POST":
            payload = request.get_json(silent=True, force=True) or request.form.to_dict()
        try:
            return self._control_route(request.method, sub, request.args.to_dict(), payload)
        except (KeyError, TypeError, ValueError) as exc:
            return _json({"error": f"bad request: {exc!r}"}, 400)

    def _control_route(self, method: str, sub: str, args: dict[str, str],
                       payload: dict[str, Any]) -> Response:
        if method == "GET" and sub == "":
            return _json({"fake_wechat": True, "appid": self.appid, "base_url": self.base_url,
                          "endpoints": sorted(ROUTES), "control": ["calls", "messages", "menu",
                                                                   "followers", "faults", "reset"]})
        if method == "GET" and sub == "calls":
            return _json([c.to_json() for c in self.calls(args.get("path_suffix"))])
        if method == "GET" and sub == "messages":
            return _json([m.to_json() for m in self.sent_messages(args.get("touser"))])
        if method == "GET" and sub == "menu":
            return _json({"menu": self.menu})
        if sub == "followers":
            if method == "POST":
                self.add_follower(payload["openid"], payload.get("nickname", ""),
                                  _truthy(payload.get("subscribed", True)),
                                  subscribe_templates=_as_list(payload.get("subscribe_templates")))
            return _json([f.to_json() for f in self.followers()])
        if sub == "faults":
            if method == "POST":
                self._add_fault(payload)
            return _json(self._faults.describe())
        if method == "POST" and sub == "reset":
            self.reset(calls=_truthy(payload.get("calls", True)), faults=_truthy(payload.get("faults", True)),
                       state=_truthy(payload.get("state", False)))
            return _json({"reset": True})
        return _json({"error": f"no control endpoint {method} /{CONTROL_PREFIX}/{sub}"}, 404)

    def _add_fault(self, p: dict[str, Any]) -> None:
        kind = p.get("kind", "inject")
        times = None if p.get("times", 1) in (None, "", "null") else int(p.get("times", 1))
        if kind == "inject":
            self.inject(p["path_suffix"], int(p["errcode"]), p.get("errmsg"), times)
        elif kind == "delay":
            self.delay(p["path_suffix"], float(p["seconds"]), times)
        elif kind == "rate_limit":
            self.rate_limit(p["path_suffix"], float(p["per_second"]), int(p.get("errcode", 45009)))
        else:
            raise ValueError(f"unknown fault kind {kind!r}")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _oauth_page(message: str, query: dict[str, str], *, ask_openid: bool) -> Response:
    """The page WeChat shows when it cannot authorise; asks for an openid when none is known."""
    form = ""
    if ask_openid:
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in query.items() if k != "openid")
        form = (f'<form method="get" action="/connect/oauth2/authorize">{hidden}'
                '<label>openid <input name="openid" required></label> <button>授权</button></form>')
    body = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>微信授权（模拟）</title>'
            f"<body><p>{html.escape(message)}</p>{form}</body></html>")
    return Response(body, status=400, content_type="text/html; charset=utf-8")


def main(argv: list[str] | None = None) -> None:
    """``python -m miniservice.devtools.fake_wechat``: serve until interrupted."""
    parser = argparse.ArgumentParser(description="Fake WeChat API server (loopback, for the demo and tests).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--appid", default="wx0000000000fake")
    parser.add_argument("--secret", default="fake-app-secret")
    parser.add_argument("--token-overlap", type=float, default=300.0, help="seconds an old token stays valid")
    parser.add_argument("--expires-in", type=int, default=7200)
    parser.add_argument("--follower", action="append", default=[], metavar="OPENID",
                        help="register a follower (repeatable)")
    args = parser.parse_args(argv)
    fake = FakeWeChat(args.appid, args.secret, host=args.host, port=args.port,
                      token_overlap=args.token_overlap, token_expires_in=args.expires_in, quiet=False)
    for openid in args.follower:
        fake.add_follower(openid, subscribe_templates=["*"])
    with fake:
        print(f"fake WeChat API at {fake.base_url}  (WECHAT_API_BASE={fake.base_url})", flush=True)
        print(f"control: {fake.base_url}{CONTROL_PREFIX}/calls", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
