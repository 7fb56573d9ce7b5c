"""WeRoBot 1.13.1 as a bureau would deploy it: ``gunicorn -w 4 bench.peers.werobot_app:app``.

Environment: ``WECHAT_TOKEN``, ``WECHAT_AES_KEY``, ``WECHAT_APP_ID`` (safe mode, as the benchmark's
traffic is), ``PEER_SESSIONS`` = ``1`` (default: WeRoBot's own default, an SQLite session storage, one
session row read and written per message, in ``PEER_SESSION_FILE``) or ``0`` (sessions off: the floor).
"""

from __future__ import annotations

import os
from typing import Any

from werobot import WeRoBot
from werobot.session.sqlitestorage import SQLiteStorage

from bench.peers import REPLIES, TEXT_REPLY

robot = WeRoBot(token=os.environ.get("WECHAT_TOKEN", "benchtoken"),
                encoding_aes_key=os.environ.get("WECHAT_AES_KEY"), app_id=os.environ.get("WECHAT_APP_ID"))
if os.environ.get("PEER_SESSIONS", "1") == "1":
    robot.config["SESSION_STORAGE"] = SQLiteStorage(os.environ.get("PEER_SESSION_FILE", "werobot_session.sqlite3"))
else:
    robot.config["SESSION_STORAGE"] = False


@robot.text
def text(message: Any, session: Any) -> str:
    if session is not None:
        session["messages"] = session.get("messages", 0) + 1
    return TEXT_REPLY


@robot.click
def click(message: Any, session: Any) -> str:
    if session is not None:
        session["last_key"] = message.key
    return REPLIES.get(message.key, TEXT_REPLY)


@robot.subscribe
def subscribe(message: Any) -> str:
    return TEXT_REPLY


app = robot.wsgi
