"""The keyword 家庭共济: a short status and the link to the 家庭共济 page.

The menu button itself is a VIEW straight to ``/h5/family``; this answers people who type instead.
"""

from __future__ import annotations

from miniservice.citizens.access import require_binding
from miniservice.family.overview import build_overview
from miniservice.wechat.router import Handlers, Inbound, text

handlers = Handlers()


@handlers.click("FAMILY", "家庭共济", "亲属共济", "共济", reads_only=True)
def family_status(inbound: Inbound) -> str:
    person = require_binding(inbound)
    if isinstance(person, str):
        return person
    view = build_overview(inbound.session, person, inbound.today)
    return text("family_status.txt", view=view, url=inbound.h5_url("/h5/family"))
