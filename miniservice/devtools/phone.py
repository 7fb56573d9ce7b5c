"""The demo's phone: the account's menu and chat in a browser, for testers without WeChat.

Taps and typed words go through the real callback over HTTP, signed and encrypted by the simulator
exactly as WeChat would send them; menu links open the H5 pages with the fake WeChat's OAuth, which
reads the simulated identity from the ``fake_wechat_openid`` cookie set here. Registered only when
``MINISERVICE_ENV=demo``.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from miniservice.citizens.models import Binding, Person
from miniservice.db import get_db
from miniservice.devtools.fake_wechat import OPENID_COOKIE
from miniservice.devtools.simulator import CallbackAccount, Simulator
from miniservice.wechat.menu import checked_menu

bp = Blueprint("phone", __name__, url_prefix="/demo/phone")

# The conversation shown on the phone, per openid; demo-only memory, lost on restart by design.
_chats: dict[str, list[tuple[str, str]]] = defaultdict(list)
_chats_lock = threading.Lock()
DEFAULT_OPENID = "demo_visitor"


def _simulator() -> Simulator:
    settings = current_app.extensions["miniservice.settings"]
    account = CallbackAccount(
        token=settings.wechat_token, app_id=settings.wechat_app_id, aes_key=settings.wechat_aes_key
    )
    return Simulator(settings.public_base_url + "/wechat/callback", account, timeout=10)


def _demo_people() -> list[dict[str, Any]]:
    with get_db().reading() as session:
        rows = session.execute(
            select(Binding.openid, Person.name_masked, Person.region_code, Person.scheme)
            .join(Person, Person.id == Binding.person_id)
            .order_by(Binding.openid)
        ).all()
    return [{"openid": r[0], "name": r[1], "region": r[2], "scheme": r[3]} for r in rows]


@bp.get("")
def phone() -> str:
    openid = request.args.get("openid", DEFAULT_OPENID)
    settings = current_app.extensions["miniservice.settings"]
    with _chats_lock:
        chat = list(_chats[openid])
    return render_template(
        "demo/phone.html",
        openid=openid,
        chat=chat,
        menu=checked_menu(settings.public_base_url),
        people=_demo_people(),
    )


@bp.post("/send")
def send() -> Response:
    openid = request.form.get("openid", DEFAULT_OPENID)
    kind = request.form.get("kind", "text")
    value = request.form.get("value", "").strip()
    simulator = _simulator()
    if kind == "click":
        shown, reply = f"[菜单] {request.form.get('label', value)}", simulator.click(openid, value)
    elif kind == "subscribe":
        shown, reply = "[关注公众号]", simulator.subscribe(openid)
    elif value:
        shown, reply = value, simulator.text(openid, value)
    else:
        return redirect(url_for("phone.phone", openid=openid))
    answer = reply.content if reply.content else ("（无回复）" if reply.status == 200 else f"（错误 {reply.status}）")
    with _chats_lock:
        _chats[openid].extend([("me", shown), ("account", answer)])
    return redirect(url_for("phone.phone", openid=openid) + "#bottom")


@bp.get("/open")
def open_link() -> Response:
    """Open a menu link as this openid: WeChat's OAuth (the fake) will recognise them by cookie."""
    openid = request.args.get("openid", DEFAULT_OPENID)
    target = request.args.get("url", "/")
    if urlsplit(target).netloc not in ("", request.host):
        target = "/"
    response = redirect(target)
    response.set_cookie(OPENID_COOKIE, openid, httponly=True, samesite="Lax")
    # The app's own session may hold another simulated user; start fresh so OAuth runs again.
    response.delete_cookie(current_app.config.get("SESSION_COOKIE_NAME", "session"))
    return response
