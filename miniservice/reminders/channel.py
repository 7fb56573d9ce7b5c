"""One call to WeChat for one reminder, and what its answer means for the reminder.

* Transient (retry later, bounded): ``-1`` system busy, ``45009`` daily quota, ``45011`` minute
  quota, a token WeChat still refuses after the client's one refresh, an HTTP error, a timeout or a
  broken connection. ``45009``/``45011`` also stop the run: every next call would fail the same way.
* Unreachable (never retried, and the follower is marked): ``43004`` not a follower, ``40003``
  invalid openid, ``43101`` refused the 订阅通知.
* Anything else (a wrong template id, data WeChat rejects) fails the reminder; the attempt log keeps
  the errcode for staff.

Template messages carry ``client_msg_id`` (WeChat drops a repeat for the same user and id within
10 minutes), so a retry after a timeout whose request did reach WeChat is not shown twice.
wechatpy 1.8.18's ``send_template`` has no such parameter, so the same endpoint is called through
the client's public ``post``; 订阅通知 (``subscribe:`` template ids) go through
``send_subscribe_message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from wechatpy.exceptions import WeChatClientException

TRANSIENT = frozenset({-1, 40001, 42001, 45009, 45011})
RATE_LIMITED = frozenset({45009, 45011})
UNREACHABLE = frozenset({40003, 43004, 43101})
SUBSCRIBE_PREFIX = "subscribe:"


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered reminder: WeChat template id, field values, and the page it opens."""

    template_id: str  # with SUBSCRIBE_PREFIX: sent as a 订阅通知
    data: dict[str, dict[str, str]]
    url: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back: ``outcome`` is one of sent / retry / failed / unreachable."""

    outcome: str
    errcode: int | None = None
    errmsg: str = ""
    msgid: int | None = None

    @property
    def rate_limited(self) -> bool:
        return self.errcode in RATE_LIMITED


def classify(errcode: int | None, errmsg: str) -> Answer:
    if errcode is None or errcode in TRANSIENT:
        return Answer("retry", errcode, errmsg)
    if errcode in UNREACHABLE:
        return Answer("unreachable", errcode, errmsg)
    return Answer("failed", errcode, errmsg)


def send(client: Any, openid: str, message: Message, client_msg_id: str) -> Answer:
    """Send through wechatpy's client; never raises for anything WeChat or the network does."""
    try:
        if message.template_id.startswith(SUBSCRIBE_PREFIX):
            result = client.message.send_subscribe_message(
                openid, message.template_id.removeprefix(SUBSCRIBE_PREFIX), message.data, page=message.url
            )
        else:
            result = client.post("message/template/send", data={
                "touser": openid, "template_id": message.template_id, "url": message.url,
                "data": message.data, "client_msg_id": client_msg_id,
            })
    except WeChatClientException as exc:
        return classify(exc.errcode, str(exc.errmsg or "HTTP error")[:200])
    except requests.RequestException as exc:
        return classify(None, type(exc).__name__)
    return Answer("sent", 0, "ok", result.get("msgid") if isinstance(result, dict) else None)
