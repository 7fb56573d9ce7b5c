"""A typical Flask + wechatpy + SQLAlchemy 公众号 app: ``gunicorn -w 4 bench.peers.typical_app:app``.

Verify the signature, decrypt, parse, store the message as an ORM row, reply with text: what most
open-source 公众号 back ends do. No de-duplication. ``PEER_DATABASE_URL`` is a SQLAlchemy URL; on SQLite
the connection gets the same settings the service uses (WAL, synchronous=NORMAL, busy_timeout), so the
comparison is with a well-configured peer, not with SQLite's rollback journal.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, Response, abort, request
from sqlalchemy import DateTime, String, create_engine, event
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


def create_schema(url: str) -> None:
    """Run once before the workers start (four workers creating the table at once would race)."""
    engine = _engine(url)
    Base.metadata.create_all(engine)  # type: ignore[arg-type]
    engine.dispose()  # type: ignore[attr-defined]


engine = _engine(os.environ.get("PEER_DATABASE_URL", "sqlite:///peer.db"))
app = Flask(__name__)


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
