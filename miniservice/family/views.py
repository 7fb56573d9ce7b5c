"""``/h5/family``: the 家庭共济 pages opened from the menu (WeChat OAuth gives the visitor's openid).

Views only parse the form, call one service function and render; a :class:`FamilyError` becomes
its Chinese message with its HTTP status, and nothing has been written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, url_for

from miniservice import state
from miniservice.clock import local_text
from miniservice.db import get_db
from miniservice.family import consent as consents
from miniservice.family import links, payments
from miniservice.family.errors import FamilyError
from miniservice.family.forms import AddRelativeForm, ConsentForm, LinkActionForm, PayForm
from miniservice.family.overview import overview
from miniservice.family.people import NOT_BOUND
from miniservice.wechat.oauth import citizen_required

bp = Blueprint("family", __name__, url_prefix="/h5/family")

STALE_FORM = "页面已过期，请返回家庭共济页面刷新后重试。"


@bp.app_template_filter("family_local")
def family_local(moment: datetime) -> str:
    """A stored UTC instant in the bureau's time zone, as a citizen reads it."""
    return local_text(moment, state.settings().timezone)


def _refused(error: FamilyError | str, status: int = 400) -> tuple[str, int]:
    message = str(error)
    code = error.status if isinstance(error, FamilyError) else status
    return render_template("h5/family_error.html", message=message, bind=message == NOT_BOUND), code


@bp.get("")
@citizen_required
def index() -> Any:
    try:
        view = overview(get_db(), g.openid, state.clock().today())
    except FamilyError as error:
        return _refused(error)
    return render_template(
        "h5/family.html",
        view=view,
        action_form=LinkActionForm(),
        pay_form=PayForm(),
        new_request_key=payments.new_request_key,
    )


@bp.route("/add", methods=["GET", "POST"])
@citizen_required
def add() -> Any:
    form = AddRelativeForm()
    try:
        terms = links.terms_for_holder(get_db(), g.openid, state.clock().today())
    except FamilyError as error:
        return _refused(error)
    error, status = None, 200
    if form.validate_on_submit():
        request = links.LinkRequest(
            name=form.name.data or "",
            id_number=form.id_number.data or "",
            card_number=form.card_number.data or "",
            relationship=form.relationship.data or "",
            attested=bool(form.attested.data),
        )
        try:
            outcome = links.add_link(get_db(), state.settings(), g.openid, request, state.clock().today())
        except FamilyError as refused:
            error, status = str(refused), refused.status
        else:
            return render_template("h5/family_added.html", outcome=outcome)
    elif form.is_submitted():
        error, status = _first_error(form), 400
    return render_template("h5/family_add.html", form=form, terms=terms, error=error), status


def _first_error(form: Any) -> str:
    if form.csrf_token.errors:
        return STALE_FORM
    return next(iter(message for errors in form.errors.values() for message in errors), STALE_FORM)


@bp.post("/links/<int:link_id>/revoke")
@citizen_required
def revoke(link_id: int) -> Any:
    form = LinkActionForm()
    if not form.validate_on_submit():
        return _refused(STALE_FORM)
    if form.confirmed.data != "yes":
        try:
            link = links.link_for_revocation(get_db(), g.openid, link_id)
        except FamilyError as error:
            return _refused(error)
        return render_template("h5/family_revoke_confirm.html", form=form, link=link)
    try:
        links.revoke_link(get_db(), g.openid, link_id)
    except FamilyError as error:
        return _refused(error)
    flash("已解除家庭共济绑定，历史记录已保留。", "success")
    return redirect(url_for("family.index"))


@bp.post("/links/<int:link_id>/reminders")
@citizen_required
def reminders(link_id: int) -> Any:
    form = LinkActionForm()
    if not form.validate_on_submit():
        return _refused(STALE_FORM)
    enabled = form.enabled.data == "on"
    try:
        links.set_reminders(get_db(), g.openid, link_id, enabled)
    except FamilyError as error:
        return _refused(error)
    flash("已开启该亲属的断缴提醒。" if enabled else "已关闭该亲属的断缴提醒。", "success")
    return redirect(url_for("family.index"))


@bp.post("/pay")
@citizen_required
def pay() -> Any:
    form = PayForm()
    if not form.validate_on_submit():
        return _refused(STALE_FORM)
    request = payments.PayRequest(
        link_id=form.link_id.data or 0,
        item=form.item.data or "",
        amount=form.amount.data or "",
        request_key=form.request_key.data or "",
    )
    try:
        if form.confirmed.data != "yes":
            preview = payments.preview(get_db(), g.openid, request, state.clock().today())
            return render_template("h5/family_pay_confirm.html", form=form, preview=preview)
        outcome = payments.pay(get_db(), g.openid, request, state.clock().today())
    except FamilyError as error:
        return _refused(error)
    return render_template("h5/family_paid.html", outcome=outcome)


@bp.route("/consent/<token>", methods=["GET", "POST"])
@citizen_required
def consent(token: str) -> Any:
    form = ConsentForm()
    try:
        request = consents.view_consent(get_db(), token, g.openid)
        if not form.is_submitted():
            return render_template("h5/family_consent.html", form=form, request=request, token=token)
        if not form.validate():
            return _refused(STALE_FORM)
        link = consents.answer_consent(get_db(), token, g.openid, accept=bool(form.accept.data))
    except FamilyError as error:
        return _refused(error)
    return render_template("h5/family_consent_done.html", link=link, holder=request.holder_masked_name)
