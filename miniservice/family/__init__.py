"""家庭共济: a 职工医保 member links close relatives and pays their premiums from the personal account.

``links`` (add, revoke, reminder opt-in), ``consent`` (the relative's answer), ``payments`` (one
transaction per payment), ``dues`` (what is payable, priced by the rules), ``policy`` (the one place
that reads the rules), ``overview`` (what the page shows), ``views`` (the H5 pages), ``wechat_handlers``
(the 家庭共济 keyword). Tables and the reminders opt-in column: :mod:`miniservice.family.models`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The 家庭共济 pages and the 家庭共济 keyword."""
    from miniservice import state
    from miniservice.family import views, wechat_handlers

    app.register_blueprint(views.bp)
    state.router(app).include(wechat_handlers.handlers)
