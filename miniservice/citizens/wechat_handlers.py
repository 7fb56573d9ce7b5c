"""WeChat answers of the citizens capability: the 缴费记录 menu button (and the same typed words)."""

from __future__ import annotations

from miniservice.citizens.access import require_binding
from miniservice.citizens.records import records_view
from miniservice.wechat.router import Handlers, Inbound, text

handlers = Handlers()

REPLY_MONTHS = 12


@handlers.click("RECORDS", "缴费记录", "缴费查询", "查缴费", reads_only=True)
def records(inbound: Inbound) -> str:
    """The last 12 months in a few lines, any current gap first, and the link to the full page."""
    person = require_binding(inbound)
    if isinstance(person, str):
        return person
    view = records_view(inbound.session, person, inbound.today, months=REPLY_MONTHS)
    return text("records.txt", view=view, records_url=inbound.h5_url("/h5/records"),
                quote_url=inbound.h5_url("/h5/quote"))
