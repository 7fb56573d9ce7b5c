"""The demo's phone: the account's menu and chat in a browser, for testers without WeChat.

Taps and typed words go through the real callback over HTTP, signed and encrypted by the simulator
exactly as WeChat would send them; menu links open the H5 pages with the fake WeChat's OAuth, which
reads the simulated identity from the ``fake_wechat_openid`` cookie set here. Registered only when
``MINISERVICE_ENV=demo``.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import select
from werkzeug.wrappers import Response

from miniservice import state
from miniservice.citizens.models import Binding, Person
from miniservice.clock import local_today
from miniservice.db import get_db
from miniservice.devtools.fake_wechat import CONTROL_PREFIX, OPENID_COOKIE
from miniservice.devtools.simulator import CallbackAccount, Simulator
from miniservice.wechat.menu import checked_menu

bp = Blueprint("phone", __name__, url_prefix="/demo/phone")

# The conversation shown on the phone, per openid: (epoch seconds, who, words); demo-only memory, lost on
# restart by design. What the service pushes is not kept here: it is read back from the fake WeChat API.
_chats: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
_chats_lock = threading.Lock()
DEFAULT_OPENID = "demo_visitor"


def _simulator() -> Simulator:
    settings = state.settings()
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


URL = re.compile(r"https?://[^\s，。；）]+")


@bp.app_template_filter("chat_links")
def chat_links(words: str, openid: str) -> Markup:
    """Message text with its links made tappable, opened as this simulated user (WeChat's OAuth knows them)."""
    parts, last = [], 0
    for match in URL.finditer(words):
        parts.append(escape(words[last:match.start()]))
        href = url_for("phone.open_link", openid=openid, url=match.group(0))
        parts.append(Markup('<a href="{}">{}</a>').format(href, match.group(0)))
        last = match.end()
    parts.append(escape(words[last:]))
    return Markup("").join(parts)


def pushed_words(body: dict[str, Any]) -> str:
    """A message the service pushed (customer-service text or template), as the phone shows it."""
    if "text" in body:
        return str(body["text"].get("content", ""))
    fields = [str(field.get("value", "")) for field in (body.get("data") or {}).values()]
    link = body.get("url")
    return "【服务通知】\n" + "\n".join(fields) + (f"\n详情：{link}" if link else "")


def _pushed(openid: str) -> list[tuple[float, str, str]]:
    """What the fake WeChat API recorded as sent to ``openid`` (the service's pushes, whatever sent them)."""
    base = state.settings().wechat_api_base
    if not base:
        return []
    try:
        answer = requests.get(f"{base}{CONTROL_PREFIX}/messages", params={"touser": openid}, timeout=5)
        answer.raise_for_status()
    except requests.RequestException:
        return [(time.time(), "account", "（无法读取模拟微信服务器的消息记录）")]
    return [(m["time"], "account", pushed_words(m["body"])) for m in answer.json()]


@bp.get("")
def phone() -> str:
    openid = request.args.get("openid", DEFAULT_OPENID)
    settings = state.settings()
    with _chats_lock:
        chat = [(who, words) for _, who, words in sorted(_chats[openid] + _pushed(openid), key=lambda m: m[0])]
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
    now = time.time()
    with _chats_lock:
        _chats[openid].extend([(now, "me", shown), (now, "account", answer)])
    return redirect(url_for("phone.phone", openid=openid) + "#bottom")


@bp.post("/remind")
def remind_now() -> Response:
    """Run today's reminders (the demo's clock) now, whatever the time: the sending hours are the
    production guard against messages at night, and a tester at 22:00 still wants to see them."""
    from miniservice.outbox.sending import drain
    from miniservice.reminders.planning import plan_reminders
    from miniservice.reminders.sending import Sender
    from miniservice.reminders.service import shared_limiter
    from miniservice.wechat.client import get_client

    settings = state.settings()
    today = local_today(settings.timezone)
    plan = plan_reminders(get_db(), today)
    all_day = settings.with_overrides({"reminder_quiet_start": "00:00", "reminder_quiet_end": "23:59"})
    sent = Sender(get_db(), all_day, get_client(), shared_limiter()).run(today)
    drain()  # and what the outbox holds, so the chat shows it now rather than at the scheduler's next turn
    flash(f"已运行 {today} 的断缴提醒：新安排 {plan.total} 条，发送 {sent.sent} 条。")
    return redirect(url_for("phone.phone", openid=request.form.get("openid", DEFAULT_OPENID)))


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
