"""The account's own answers: welcome, goodbye, help, and the log of menu links opened."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import update

from miniservice.clock import now_utc
from miniservice.wechat.models import Follower
from miniservice.wechat.router import Inbound, router, text


@router.event("subscribe")
def welcome(inbound: Inbound) -> str:
    inbound.session.execute(
        update(Follower)
        .where(Follower.openid == inbound.openid)
        .values(subscribed=True, subscribed_at=now_utc(), unsubscribed_at=None, unreachable_since=None)
    )
    return text("welcome.txt", bind_url=inbound.h5_url("/h5/bind"))


@router.event("unsubscribe")
def goodbye(inbound: Inbound) -> str:
    inbound.session.execute(
        update(Follower)
        .where(Follower.openid == inbound.openid)
        .values(subscribed=False, unsubscribed_at=now_utc())
    )
    return ""  # WeChat delivers nothing to a user who has just left.


@router.event("view", reads_only=True)
def menu_link_opened(_: Inbound) -> str:
    """The delivery row already records the URL opened; a VIEW event takes no reply."""
    return ""


@router.click("HELP", "帮助", "菜单", "?", "？", "help", reads_only=True)
def help_text(inbound: Inbound) -> str:
    return text("help.txt", bind_url=inbound.h5_url("/h5/bind"))


@router.click("CHANNELS", "渠道", "办理渠道", "电话", "热线", "12393", "12333", reads_only=True)
def channels(_: Inbound) -> str:
    return text("channels.txt", contact=current_app.extensions["miniservice.contact"])


router.default(help_text)
