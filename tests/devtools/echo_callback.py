"""A minimal WeChat callback written only with wechatpy, to test the simulator against.

It is deliberately independent of ``miniservice.wechat``: if the simulator and this callback agree,
the simulator speaks wechatpy's (and therefore WeChat's) dialect, not just our own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from wechatpy import create_reply, parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature
from werkzeug.wrappers import Request, Response

from miniservice.devtools.simulator import CallbackAccount


class EchoCallback:
    """Verifies, decrypts and parses each delivery; replies ``echo: …`` (``success`` to unsubscribe)."""

    def __init__(self, account: CallbackAccount, hold: float = 0.0) -> None:
        self.account = account
        self.hold = hold
        self.received: list[Any] = []
        self.nonces: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self._handle(Request(environ))(environ, start_response)

    def _handle(self, request: Request) -> Response:
        a = request.args
        try:
            check_signature(self.account.token, a["signature"], a["timestamp"], a["nonce"])
            body = request.get_data(as_text=True)
            if a.get("encrypt_type") == "aes":
                body = self.account.crypto().decrypt_message(body, a["msg_signature"], a["timestamp"], a["nonce"])
        except (InvalidSignatureException, KeyError):
            return Response("bad signature", status=403)
        message = parse_message(body)
        with self._lock:
            self.received.append(message)
            self.nonces.append(a["nonce"])
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.hold)
        finally:
            with self._lock:
                self.in_flight -= 1
        if message.type == "event" and message.event == "unsubscribe":
            return Response("success")
        what = message.content if message.type == "text" else f"{message.event} {getattr(message, 'key', '')}"
        reply = create_reply(f"echo: {what}".strip(), message).render()
        if a.get("encrypt_type") == "aes":
            reply = self.account.crypto().encrypt_message(reply, a["nonce"], a["timestamp"])
        return Response(reply, content_type="application/xml")
