"""The 补缴测算 menu button (and the typed words 补缴, 补缴测算): the citizen's own gap in a few lines.

The reply answers the questions a citizen taps for — how many months, what they owe, the late fee,
the last day to stay within three months, any waiting period — and links to the page with the
month-by-month breakdown and its citations. It reads inside the delivery's transaction.
"""

from __future__ import annotations

import logging

from miniservice.citizens.access import require_binding
from miniservice.quotes.errors import QuoteUnavailable
from miniservice.quotes.present import QuoteView
from miniservice.quotes.service import person_quote
from miniservice.wechat.router import Handlers, Inbound, text

handlers = Handlers()

log = logging.getLogger(__name__)


@handlers.click("QUOTE", "补缴", "补缴测算", reads_only=True)
def quote_reply(inbound: Inbound) -> str:
    person = require_binding(inbound)
    if isinstance(person, str):
        return person
    assert person.id is not None
    try:
        found = person_quote(inbound.session, person.id, inbound.today)
    except QuoteUnavailable as exc:
        log.error("no quote for person %s: %s", person.id, exc)
        return text("quote_unavailable.txt")
    return text("quote.txt", pq=found, v=QuoteView(found.quote, "mine"), url=inbound.h5_url("/h5/quote"))
