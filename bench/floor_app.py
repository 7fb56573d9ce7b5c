"""The floors for the callback benchmark: Flask + wechatpy doing only what any callback must.

The floor checks the URL signature, decrypts the AES envelope (checking ``msg_signature``), parses
the message and answers with an encrypted text reply — no database, no de-duplication, no templates.
Whatever the real app costs above this is the price of its work, not of Flask, wechatpy or gunicorn.

With ``FLOOR_DATABASE_URL`` set it is the *durable* floor: before answering it also writes the
delivery's unique key (the app's own :func:`~miniservice.wechat.deliveries.dedupe_key`) with one
``INSERT … ON CONFLICT DO NOTHING`` through the bare driver (sqlite3 with the app's pragmas, or
psycopg in autocommit), and answers a retry that finds its key taken with ``success``. The standards
ask every callback to record what WeChat may repeat by a unique key in the database before it
answers; a callback that does so in one transaction per delivery cannot do less than this, so its
ratio to the floor is the ceiling of any such design on the same machine and database.

``gunicorn -w 4 bench.floor_app:app`` with ``WECHAT_TOKEN``, ``WECHAT_AES_KEY``, ``WECHAT_APP_ID``
(and ``FLOOR_DATABASE_URL``, a SQLAlchemy URL whose :data:`bench.common.FLOOR_TABLE` exists:
:func:`bench.common.create_floor_table`).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from typing import Any

import psycopg
from flask import Flask, Response, abort, request
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bench.common import FLOOR_TABLE
from miniservice.db import sqlite_pragmas
from miniservice.wechat.deliveries import dedupe_key

TOKEN = os.environ.get("WECHAT_TOKEN", "benchtoken")
crypto = WeChatCrypto(TOKEN, os.environ.get("WECHAT_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
                      os.environ.get("WECHAT_APP_ID", "wxbench0000000001"))
app = Flask(__name__)


class DeliveryKeys:
    """The durable floor's one write, on a connection of this worker's own (opened after the fork)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection: Any = None
        mark = "?" if url.startswith("sqlite") else "%s"
        self.insert = (f"INSERT INTO {FLOOR_TABLE} (dedupe_key, received_at) VALUES ({mark}, {mark}) "
                       "ON CONFLICT DO NOTHING")

    def _connect(self) -> Any:
        if self.url.startswith("sqlite"):
            connection = sqlite3.connect(self.url.split("///", 1)[1], timeout=15)
            sqlite_pragmas(connection)  # the app's own: WAL, synchronous=NORMAL, busy_timeout, autocommit
            return connection
        return psycopg.connect(self.url.replace("+psycopg", ""), autocommit=True)

    def record(self, key: str) -> bool:
        """True when this delivery is new (its key was not there)."""
        if self.connection is None:
            self.connection = self._connect()
        return self.connection.execute(self.insert, (key, datetime.now(UTC).isoformat())).rowcount == 1


keys = DeliveryKeys(os.environ["FLOOR_DATABASE_URL"]) if os.environ.get("FLOOR_DATABASE_URL") else None


@app.post("/wechat/callback")
def callback() -> Response:
    args = request.args
    try:
        check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
        xml = crypto.decrypt_message(request.get_data(), args.get("msg_signature", ""), args.get("timestamp", ""),
                                     args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    message = parse_message(xml)
    if keys is not None and not keys.record(dedupe_key(message)):
        return Response("success", mimetype="text/plain")
    reply = create_reply("收到", message).render()
    return Response(crypto.encrypt_message(reply, args.get("nonce", ""), args.get("timestamp")),
                    mimetype="application/xml")


@app.get("/wechat/callback")
def verify() -> Response:
    """WeChat's URL check (the benchmark also uses it to see that the workers are up)."""
    args = request.args
    try:
        check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    return Response(args.get("echostr", ""), mimetype="text/plain")
