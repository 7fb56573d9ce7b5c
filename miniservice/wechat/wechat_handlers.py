"""The account's own answers: welcome, goodbye, help, and the log of menu links opened."""

from __future__ import annotations

from sqlalchemy import update

from miniservice import state
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


def _guide(inbound: Inbound, template: str) -> str:
    """A help-like reply: it knows whether the visitor is bound, and names the human routes."""
    from miniservice.citizens.access import bound_person
    from miniservice.citizens.contact import contact_for

    person = bound_person(inbound.session, inbound.openid)
    contact = contact_for(inbound.session, person, inbound.today)
    return text(template, person=person, contact=contact, bind_url=inbound.h5_url("/h5/bind"))


@handlers.click("HELP", "帮助", "菜单", "?", "？", "help", reads_only=True)
def help_text(inbound: Inbound) -> str:
    return _guide(inbound, "help.txt")


@handlers.click("HUMAN", "人工客服", "人工", "客服", "转人工", "人工服务", reads_only=True)
def human(inbound: Inbound) -> str:
    """A person to talk to: the hotline and the windows, with their hours. No transfer to WeChat's
    customer-service seats: the bureau staffs none, and a transfer with nobody on duty answers nothing."""
    return _guide(inbound, "human.txt")


def not_understood(inbound: Inbound) -> str:
    """Words no keyword matches: say so, then the help (never silence, never a guess)."""
    return _guide(inbound, "not_understood.txt")


@handlers.click("CHANNELS", "渠道", "办理渠道", "电话", "热线", "12393", "12333", reads_only=True)
def channels(_: Inbound) -> str:
    return text("channels.txt", contact=state.contact())


handlers.default(not_understood)
