"""WeChat messages about links and payments, sent after the change has committed.

A message is a courtesy, not part of the business step: the link or payment stands whether or not
WeChat accepts the message (the user may have unfollowed, the 48-hour window may have closed), so a
failure is logged and never raised. Messages are collected during the step and sent only once the
transaction is committed, so nobody is told about a change that was rolled back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import requests
from wechatpy.exceptions import WeChatException

from miniservice.wechat.client import get_client
from miniservice.wechat.router import text

log = logging.getLogger(__name__)


@dataclass
class Outbox:
    """Messages to send once the step's transaction has committed."""

    pending: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def add(self, openid: str | None, template: str, **context: Any) -> None:
        if openid:
            self.pending.append((openid, template, context))

    def send(self) -> None:
        client = get_client()
        for openid, template, context in self.pending:
            try:
                client.message.send_text(openid, text(template, **context))
            except (WeChatException, requests.RequestException) as exc:
                log.warning("family message %s to %s not delivered: %s", template, openid, exc)
        self.pending.clear()
