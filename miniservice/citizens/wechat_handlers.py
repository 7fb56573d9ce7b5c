"""WeChat answers of the citizens capability: the 缴费记录 menu button (and the same typed words), and
the guides that depend on whether the visitor is bound — 帮助, 人工客服, 办理渠道 and the answer to
words no keyword matches."""

from __future__ import annotations

import logging

from miniservice import state
from miniservice.citizens.access import bound_summary, require_binding
from miniservice.citizens.contact import contact_for
from miniservice.citizens.records import records_view
from miniservice.quotes.errors import QuoteUnavailable
from miniservice.wechat.router import Handlers, Inbound, text

handlers = Handlers()
log = logging.getLogger(__name__)

REPLY_MONTHS = 12


@handlers.click("RECORDS", "缴费记录", "缴费查询", "查缴费", reads_only=True)
def records(inbound: Inbound) -> str:
    """The last 12 months in a few lines, any current gap first, and the link to the full page."""
    person = require_binding(inbound)
    if isinstance(person, str):
        return person
    try:
        view = records_view(inbound.session, person, inbound.today, months=REPLY_MONTHS)
    except QuoteUnavailable as exc:  # registry facts the rules refuse, or no rules: say whom to ask
        log.error("no records view for person %s: %s", person.id, exc)
        return text("records_unavailable.txt")
    return text("records.txt", view=view, records_url=inbound.h5_url("/h5/records"),
                quote_url=inbound.h5_url("/h5/quote"))


def _guide(inbound: Inbound, template: str) -> str:
    """A help-like reply: it knows whether the visitor is bound, and names the human routes."""
    person = bound_summary(state.get_db(), inbound.openid)
    contact = contact_for(inbound.session, person.region_code if person else None, inbound.today)
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
