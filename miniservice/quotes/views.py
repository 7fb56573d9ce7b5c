"""H5 pages: 补缴计算器 (``/h5/quote``) and 居民医疗保险·网上缴费 (``/h5/resident``).

Thin views: the visitor is whoever WeChat OAuth says (``g.openid``); the quote comes from
:mod:`miniservice.quotes.service`. The what-if calculator is a plain GET form that re-renders the
page, so it works without JavaScript and its result can be bookmarked or shared.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from flask import Blueprint, g, render_template, request

from miniservice import state
from miniservice.db import get_db
from miniservice.payments.orders import own_payable
from miniservice.quotes.errors import BadParameter, QuoteUnavailable
from miniservice.quotes.params import WHAT_IF_SCHEMES, join_day, join_month, parse_what_if
from miniservice.quotes.present import QuoteView, percent
from miniservice.quotes.resident import resident_page
from miniservice.quotes.service import PersonQuote, bound_person_id, loaded_regions, person_quote, what_if
from miniservice.rules.kinds import Scheme
from miniservice.rules.quote_model import Quote
from miniservice.wechat.oauth import citizen_required

log = logging.getLogger(__name__)

bp = Blueprint("quotes", __name__, url_prefix="/h5")
bp.add_app_template_filter(percent, "quote_percent")

FORM_FIELDS = ("region", "scheme", "first", "last", "cause", "continuous", "base", "sex", "birth", "paid_months",
               "actual_months")
# Gap months are picked as two lists each (年, 月): ``first_year`` + ``first_month`` → ``first``;
# a retiree's birth date as three (年, 月, 日): ``birth_year`` + ``birth_month`` + ``birth_day`` → ``birth``.
# A link may still give ``first=2025-03`` or ``birth=1965-03-01`` directly (bookmarks, the chat's links).
MONTH_FIELDS = {"first": "断缴起始月份", "last": "断缴结束月份"}
DAY_FIELDS = {"birth": "出生日期"}
PICKED = {name: ("year", "month") for name in MONTH_FIELDS} | {name: ("year", "month", "day") for name in DAY_FIELDS}
YEARS_BACK = 10  # the lists offer this many years before the current one (longer than any back-pay window)
# Birth years offered, youngest first: from the age of the earliest retirement anywhere (女45周岁) to an
# age nobody still tops up at. Only a convenience: a link may give any year, and the engine checks the
# region's own earliest age, refusing a younger retiree at the field.
BIRTH_AGES = (45, 105)


def _unavailable(exc: Exception) -> Any:
    log.error("quote page unavailable: %s", exc)
    hotline = state.contact().hotline
    return render_template("h5/error.html", message=f"补缴测算暂时无法使用，请稍后再试，或拨打 {hotline} 咨询。"), 503


def _form(own: PersonQuote | None, regions: list[tuple[str, str]]) -> dict[str, str]:
    """The calculator's fields: what was submitted, else the citizen's own situation, else blanks."""
    if "region" in request.args:
        submitted = {name: request.args.get(name, "").strip() for name in FORM_FIELDS}
        for name, parts in PICKED.items():
            picked = {f"{name}_{part}": request.args.get(f"{name}_{part}", "").strip() for part in parts}
            submitted |= picked if any(picked.values()) else _parts(name, submitted)
        return submitted
    defaults = dict.fromkeys(FORM_FIELDS, "") | {"region": regions[0][0], "scheme": "flexible", "cause": "self"}
    if own is not None:
        facts = own.quote.facts
        defaults["region"] = own.quote.region_code
        if own.scheme in WHAT_IF_SCHEMES:
            defaults["scheme"] = own.scheme.value
        if facts.gap_first and own.scheme is not Scheme.RESIDENT:
            defaults |= {"first": str(facts.gap_first), "last": str(facts.gap_last), "cause": facts.cause.value,
                         "continuous": str(facts.continuous_months_before),
                         "base": "" if facts.declared_base is None else f"{facts.declared_base:.2f}"}
        if own.scheme is Scheme.RETIREE and facts.sex is not None:
            defaults |= {"sex": facts.sex.value, "paid_months": str(facts.paid_months),
                         "actual_months": str(facts.actually_paid_months),
                         "birth": facts.birth_date.isoformat() if facts.birth_date else ""}
    for name in PICKED:
        defaults |= _parts(name, defaults)
    return defaults


def _parts(name: str, form: dict[str, str]) -> dict[str, str]:
    """``first=2025-03`` as the lists show it: ``first_year=2025``, ``first_month=03`` (and
    ``birth=1965-03-01`` → ``birth_day=01``); a part the text lacks is left unpicked."""
    pieces = form[name].split("-")
    return {f"{name}_{part}": pieces[i] if i < len(pieces) else "" for i, part in enumerate(PICKED[name])}


def _joined(form: dict[str, str]) -> dict[str, str]:
    """The calculator's fields as :func:`parse_what_if` takes them, dates joined from their lists."""
    fields = {name: form[name] for name in FORM_FIELDS}
    for name, parts in PICKED.items():
        if any(f"{name}_{part}" in request.args for part in parts):
            values = [form[f"{name}_{part}"] for part in parts]
            fields[name] = (join_month(*values, name, MONTH_FIELDS[name]) if name in MONTH_FIELDS
                            else join_day(*values, name, DAY_FIELDS[name]))
    return fields


def _years(today: date, form: dict[str, str]) -> list[str]:
    """The years the month lists offer, latest first; a year a link gave is kept so it shows."""
    years = {str(year) for year in range(today.year - YEARS_BACK, today.year + 1)}
    return _with_given(years, form, MONTH_FIELDS)


def _birth_years(today: date, form: dict[str, str]) -> list[str]:
    """The birth years offered (see :data:`BIRTH_AGES`), youngest first; a year a link gave is kept."""
    youngest, oldest = BIRTH_AGES
    return _with_given({str(year) for year in range(today.year - oldest, today.year - youngest + 1)}, form, DAY_FIELDS)


def _with_given(years: set[str], form: dict[str, str], fields: dict[str, str]) -> list[str]:
    years = years | {form[f"{name}_year"] for name in fields if form[f"{name}_year"].isdigit()}
    return sorted(years, reverse=True)


@bp.get("/quote")
@citizen_required
def quote_page() -> Any:
    db, today = get_db(), state.clock().today()
    try:
        with db.reading() as session:  # one session for the page's reads: each costs a rollback round trip
            person_id = bound_person_id(session, g.openid)
            own = person_quote(session, person_id, today) if person_id else None
            pay_amount = own_payable(session, own, today) if own else None
            regions = loaded_regions(session, today)
    except QuoteUnavailable as exc:
        return _unavailable(exc)
    form = _form(own, regions)
    whatif: Quote | None = None
    error: BadParameter | None = None
    if "region" in request.args:
        try:
            whatif = what_if(db, parse_what_if(on=None, today=today, **_joined(form)))
        except BadParameter as exc:
            error = exc
        except QuoteUnavailable as exc:
            return _unavailable(exc)
    return render_template(
        "h5/quote.html",
        bound=person_id is not None,
        own=own,
        pay_amount=pay_amount,
        mine=QuoteView(own.quote, "mine") if own else None,
        whatif=QuoteView(whatif, "whatif") if whatif else None,
        form=form,
        error=error,
        regions=regions,
        years=_years(today, form),
        birth_years=_birth_years(today, form),
    )


@bp.get("/resident")
@citizen_required
def resident() -> Any:
    try:
        page = resident_page(get_db(), g.openid, state.clock().today())
    except (QuoteUnavailable, BadParameter) as exc:
        return _unavailable(exc)
    return render_template("h5/resident.html", page=page, v=QuoteView(page.quote, "resident"),
                           late=QuoteView(page.late, "late") if page.late else None)
