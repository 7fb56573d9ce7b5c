"""Turning reminders off and on from the menu or by text (退订提醒 / 开启提醒).

The choice lives on the follower (``Follower.reminders_enabled``), works whether or not the user is
bound, and is read again just before every send, so a reminder already planned is not sent once the
citizen has said no. The change commits with the delivery's transaction, audit row included.
"""

from __future__ import annotations

from sqlalchemy import select, update

from miniservice import audit
from miniservice.citizens.models import Binding
from miniservice.wechat.models import Follower
from miniservice.wechat.router import Handlers, Inbound, text

handlers = Handlers()


def _set_reminders(inbound: Inbound, enabled: bool) -> None:
    inbound.session.execute(
        update(Follower).where(Follower.openid == inbound.openid).values(reminders_enabled=enabled)
    )
    audit.record(inbound.session, f"wechat:{inbound.openid}", "reminders.on" if enabled else "reminders.off",
                 subject=f"follower:{inbound.openid}")


@handlers.click("REMINDERS_OFF", "退订提醒", "关闭提醒")
def reminders_off(inbound: Inbound) -> str:
    _set_reminders(inbound, False)
    return text("remind_off.txt")


@handlers.click("REMINDERS_ON", "开启提醒", "订阅提醒")
def reminders_on(inbound: Inbound) -> str:
    _set_reminders(inbound, True)
    bound = inbound.session.execute(
        select(Binding.id).where(Binding.openid == inbound.openid)
    ).scalar_one_or_none() is not None
    return text("remind_on.txt", bound=bound, bind_url=inbound.h5_url("/h5/bind"))
