"""H5 pages: 身份绑定 (``/h5/bind``) and 缴费记录 (``/h5/records``).

Thin views: the visitor is whoever WeChat OAuth says (``g.openid``), never an id in the URL; each
view parses a form, calls a service and renders. The only URL with an id (a month's detail) looks
the row up *through* the visitor's binding, so another person's id is simply not found.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, g, has_request_context, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, StringField

from miniservice import state
from miniservice.citizens import binding
from miniservice.citizens.access import bound_person
from miniservice.citizens.attempts import LIMIT
from miniservice.citizens.binding import BindingRefused, BindRequest
from miniservice.citizens.models import Contribution
from miniservice.citizens.privacy import PRIVACY_VERSION
from miniservice.citizens.records import records_view
from miniservice.clock import local_text
from miniservice.db import get_db
from miniservice.messages import text
from miniservice.quotes.errors import QuoteUnavailable
from miniservice.rules.money import format_yuan
from miniservice.wechat.oauth import citizen_required

log = logging.getLogger(__name__)

bp = Blueprint("citizens", __name__, url_prefix="/h5")


@bp.app_template_filter("citizen_yuan")
def citizen_yuan(amount: Decimal | str) -> str:
    """``3200`` → ``3,200.00`` in every template (WeChat replies included); a frozen order keeps its
    amounts as JSON strings."""
    return format_yuan(Decimal(str(amount)))


class BindForm(FlaskForm):
    """Labels and help live in ``h5/bind.html``; only the names and the CSRF token are here."""

    name = StringField()
    id_number = StringField()
    factor = StringField(default="card")  # "card" or "phone", checked by the service
    factor_value = StringField()
    privacy_version = StringField()  # the notice's version, sent only when its box is ticked


class UnbindForm(FlaskForm):
    """Nothing to type: the CSRF token, and ``confirmed`` once the consequence has been read."""

    confirmed = HiddenField()


def _refused(form: BindForm, refusal: BindingRefused) -> Any:
    context = dict(refusal.context)
    if "retry_at" in context:
        context["retry_at"] = local_text(context["retry_at"], state.settings().timezone)
    return render_template("h5/bind.html", form=form, person=None, refusal=refusal.code, attempt_limit=LIMIT,
                           privacy_version=PRIVACY_VERSION, **context), refusal.status


ELDER_COOKIE = "elder"
A_YEAR = 365 * 24 * 3600


@bp.get("/display")
def display_mode() -> Any:
    """Switch 长辈模式 (large text, high contrast) on or off and go back to the page it was asked from.
    A display preference only: kept in a cookie for a year, no sign-in, nothing stored on our side."""
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        target = url_for(".records_page")  # only our own paths: never a redirect elsewhere
    response = redirect(target)
    if request.args.get("mode") == "elder":
        response.set_cookie(ELDER_COOKIE, "1", max_age=A_YEAR, httponly=True, samesite="Lax")
    else:
        response.delete_cookie(ELDER_COOKIE)
    return response


@bp.app_context_processor
def display_context() -> dict[str, Any]:
    """The mode and the way back for the switch (named apart: some pages pass a ``request`` of their own).
    Templates rendered outside a request (WeChat messages, the CLI) have neither."""
    if not has_request_context():
        return {}
    return {"elder_mode": request.cookies.get(ELDER_COOKIE) == "1",
            "display_back": request.full_path.rstrip("?")}


@bp.route("/bind", methods=["GET", "POST"])
@citizen_required
def bind_page() -> Any:
    form = BindForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _refused(form, BindingRefused("expired" if form.csrf_token.errors else "invalid"))
        given = BindRequest(form.name.data or "", form.id_number.data or "", form.factor.data or "",
                            form.factor_value.data or "", form.privacy_version.data or None)
        try:
            binding.bind(get_db(), g.openid, given)
        except BindingRefused as refusal:
            return _refused(form, refusal)
        return redirect(url_for(".bind_page", done="bound"))
    with get_db().reading() as session:
        person = bound_person(session, g.openid)
    return render_template("h5/bind.html", form=form, unbind_form=UnbindForm(), person=person,
                           done=request.args.get("done"), attempt_limit=LIMIT, privacy_version=PRIVACY_VERSION)


@bp.post("/bind/unbind")
@citizen_required
def unbind_page() -> Any:
    form = UnbindForm()
    if not form.validate_on_submit():
        return render_template("h5/bind_expired.html"), 400
    if form.confirmed.data != "yes":
        with get_db().reading() as session:
            person = bound_person(session, g.openid)
        if person is None:
            return redirect(url_for(".bind_page"))
        return render_template("h5/bind_unbind_confirm.html", form=form, person=person)
    binding.unbind(get_db(), g.openid)
    return redirect(url_for(".bind_page", done="unbound"))


@bp.get("/records")
@citizen_required
def records_page() -> Any:
    with get_db().reading() as session:
        person = bound_person(session, g.openid)
        if person is None:
            return render_template("h5/bind_required.html")
        try:
            view = records_view(session, person, state.clock().today())
        except QuoteUnavailable as exc:  # registry facts the rules refuse, or no rules: say whom to ask
            log.error("no records view for person %s: %s", person.id, exc)
            return render_template("h5/error.html", message=text("records_unavailable.txt")), 503
    return render_template("h5/records.html", view=view)


@bp.get("/records/<int:contribution_id>")
@citizen_required
def record_detail(contribution_id: int) -> Any:
    with get_db().reading() as session:
        person = bound_person(session, g.openid)
        if person is None:
            return render_template("h5/bind_required.html")
        row = session.execute(
            select(Contribution).where(Contribution.id == contribution_id, Contribution.person_id == person.id)
        ).scalar_one_or_none()
    if row is None:
        abort(404)
    return render_template("h5/records_month.html", row=row, person=person)


@bp.errorhandler(404)
def not_found(_: Exception) -> Any:
    return render_template("h5/records_not_found.html"), 404
