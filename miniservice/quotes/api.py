"""JSON API behind the calculator: ``GET /api/quote`` (what-if, public) and ``/api/quote/me``.

Both answer exactly ``Quote.to_json()`` (docs/quote-json.md). A bad parameter is a 400 naming it,
``{"error": "...", "field": "gap"}``; ``/me`` is the session's own citizen, so without a session it
is a 401 and never falls back to anyone else's data.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request, session

from miniservice import state
from miniservice.db import get_db
from miniservice.quotes.errors import BadParameter, QuoteUnavailable
from miniservice.quotes.params import parse_what_if, split_gap
from miniservice.quotes.service import bound_person_id, quote_for_person, what_if

log = logging.getLogger(__name__)

bp = Blueprint("quotes_api", __name__, url_prefix="/api/quote")

PARAMETERS = ("region", "scheme", "gap", "cause", "on", "continuous", "base", "sex", "birth", "paid_months",
              "actual_months")
EXTRA = PARAMETERS[5:]


def _error(status: int, message: str, field: str | None = None) -> Any:
    return jsonify(error=message, field=field), status


def _unavailable(exc: QuoteUnavailable) -> Any:
    log.error("quote API unavailable: %s", exc)
    return _error(503, "补缴测算暂时无法使用，请稍后再试")


@bp.get("")
def what_if_quote() -> Any:
    unknown = sorted(set(request.args) - set(PARAMETERS))
    if unknown:
        return _error(400, f"未知参数 {unknown[0][:40]}；可用参数：{', '.join(PARAMETERS)}", unknown[0][:40])
    repeated = next((name for name in PARAMETERS if len(request.args.getlist(name)) > 1), None)
    if repeated:  # which of two values was meant cannot be guessed
        return _error(400, f"参数 {repeated} 只能填写一次", repeated)
    args = request.args
    try:
        first, last = split_gap(args.get("gap"))
        wanted = parse_what_if(region=args.get("region"), scheme=args.get("scheme"), first=first, last=last,
                               cause=args.get("cause"), on=args.get("on"), today=state.clock().today(),
                               **{name: args.get(name) for name in EXTRA})
        return jsonify(what_if(get_db(), wanted).to_json())
    except BadParameter as exc:
        return _error(400, exc.message, "gap" if exc.field in ("first", "last") else exc.field)
    except QuoteUnavailable as exc:
        return _unavailable(exc)


@bp.get("/me")
def my_quote() -> Any:
    openid = session.get("openid")
    if not openid:
        return _error(401, "请从公众号菜单进入，经微信授权后再查询本人的补缴测算")
    db = get_db()
    with db.reading() as reading:
        person_id = bound_person_id(reading, openid)
    if person_id is None:
        return _error(403, "请先在“身份绑定”中绑定本人身份")
    try:
        response = jsonify(quote_for_person(db, person_id, state.clock().today()).quote.to_json())
    except QuoteUnavailable as exc:
        return _unavailable(exc)
    response.headers["Cache-Control"] = "private, no-store"
    return response
