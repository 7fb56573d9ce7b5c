"""The account's own answers about following it: welcome, goodbye, and the log of menu links opened.

帮助, 人工客服 and 办理渠道 need to know whether the visitor is bound: the citizens feature answers them.
"""

from __future__ import annotations

from sqlalchemy import update

from miniservice.clock import now_utc
from miniservice.wechat.models import Follower
from miniservice.wechat.router import Handlers, Inbound, text

handlers = Handlers()


@handlers.event("subscribe")
def welcome(inbound: Inbound) -> str:
    inbound.session.execute(
        update(Follower)
        .where(Follower.openid == inbound.openid)
        .values(subscribed=True, subscribed_at=now_utc(), unsubscribed_at=None, unreachable_since=None)
    )
    return text("welcome.txt", bind_url=inbound.h5_url("/h5/bind"))


@handlers.event("unsubscribe")
def goodbye(inbound: Inbound) -> str:
    inbound.session.execute(
        update(Follower)
        .where(Follower.openid == inbound.openid)
        .values(subscribed=False, unsubscribed_at=now_utc())
    )
    return ""  # WeChat delivers nothing to a user who has just left.


@handlers.event("view", reads_only=True)
def menu_link_opened(_: Inbound) -> str:
    """The delivery row already records the URL opened; a VIEW event takes no reply."""
    return ""
