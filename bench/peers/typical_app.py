"""A typical Flask + wechatpy + SQLAlchemy 公众号 app: ``gunicorn -w 4 bench.peers.typical_app:app``.

Verify the signature, decrypt, parse, store the message as an ORM row, reply with text: what most
open-source 公众号 back ends do. No de-duplication. Its H5 page ``/page`` is the peer of the service's
citizen pages (goal 3): the visitor's openid from Flask's signed session cookie, one ORM row read by it,
rendered by a Jinja template (``PEER_SECRET_KEY`` signs the cookie, as ``MINISERVICE_SECRET_KEY`` does the
service's). ``PEER_DATABASE_URL`` is a SQLAlchemy URL; on SQLite
the connection gets the same settings the service uses (WAL, synchronous=NORMAL, busy_timeout), so the
comparison is with a well-configured peer, not with SQLite's rollback journal.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime

from flask import Flask, Response, abort, render_template_string, request, session
from sqlalchemy import DateTime, String, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bench.peers import REPLIES, TEXT_REPLY

TOKEN = os.environ.get("WECHAT_TOKEN", "benchtoken")
crypto = WeChatCrypto(TOKEN, os.environ.get("WECHAT_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
                      os.environ.get("WECHAT_APP_ID", "wxbench0000000001"))


class Base(DeclarativeBase):
    pass


class Message(Base):
    __tablename__ = "peer_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[str | None] = mapped_column(String(1024))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Citizen(Base):
    """What a typical page shows a citizen: one row of their own."""

    __tablename__ = "peer_citizen"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(16))
    balance: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>我的医保</title></head>
<body><h1>{{ row.name }}</h1><p>参保地：{{ row.region }}</p><p>个人账户余额：{{ row.balance }} 元</p>
<p>更新时间：{{ row.updated_at.strftime("%Y-%m-%d %H:%M") }}</p></body></html>"""


def _engine(url: str) -> object:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=10, max_overflow=20)
    engine = create_engine(url, connect_args={"timeout": 15})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: object, _: object) -> None:
        cursor = connection.cursor()  # type: ignore[attr-defined]
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=15000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return engine


def create_schema(url: str, openids: Sequence[str] = ()) -> None:
    """Run once before the workers start (four workers creating the table at once would race); one
    citizen row per openid for the page."""
    engine = _engine(url)
    Base.metadata.create_all(engine)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    with Session(engine) as db:  # type: ignore[arg-type]
        db.add_all(Citizen(openid=openid, name="王*国", region="北京市", balance=f"{1000 + i}.00", updated_at=now)
                   for i, openid in enumerate(openids))
        db.commit()
    engine.dispose()  # type: ignore[attr-defined]


engine = _engine(os.environ.get("PEER_DATABASE_URL", "sqlite:///peer.db"))
app = Flask(__name__)
app.secret_key = os.environ.get("PEER_SECRET_KEY", "bench-secret-key")


@app.get("/page")
def page() -> str:
    openid = session.get("openid")
    if not openid:
        abort(403)
    with Session(engine) as db:  # type: ignore[arg-type]
        row = db.execute(select(Citizen).where(Citizen.openid == openid)).scalar_one_or_none()
        if row is None:
            abort(404)
        return render_template_string(PAGE, row=row)


@app.route("/wechat/callback", methods=["GET", "POST"])
def callback() -> Response:
    args = request.args
    try:
        check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
        if request.method == "GET":
            return Response(args.get("echostr", ""), mimetype="text/plain")
        xml = crypto.decrypt_message(request.get_data(), args.get("msg_signature", ""), args.get("timestamp", ""),
                                     args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    message = parse_message(xml)
    key = getattr(message, "key", None)
    with Session(engine) as session:  # type: ignore[arg-type]
        session.add(Message(openid=message.source, msg_type=message.type,
                            content=getattr(message, "content", None) or key, received_at=datetime.now(UTC)))
        session.commit()
    text = REPLIES.get(key, TEXT_REPLY) if message.type == "event" else TEXT_REPLY
    reply = create_reply(text, message).render()
    return Response(crypto.encrypt_message(reply, args.get("nonce", ""), args.get("timestamp")),
                    mimetype="application/xml")
